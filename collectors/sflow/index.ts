/**
 * sFlow v5 public API (used by the UDP flow collector in collectors/flow/ and `netvigil decode`).
 *
 * - decodeSflow(buf): pure decoder; throws only DecodeError (protocol 'sflow', offset, field, reason).
 * - normalizeSflow(d, exporter, receivedAtMs): Records in the schema of README.md; the collector makes
 *   a flow sample's from its producer view (recordOfSflow) and the others with sampleRecords.
 * - toJsonl(d): objects for `netvigil decode --format jsonl`.
 *
 * Loss accounting inputs are on the decoded datagram: `agent`, `subAgentId` and `sequence`
 * (datagrams per agent/sub-agent), and per sample `kind`, `source.type`, `source.index` and
 * `sequence` (samples per source and kind), plus `uptimeMs` to tell a restart from reordering.
 */
export { decodeSflow, SFLOW_VERSION } from './decode.js';
export { normalizeSflow, recordOfSflow, sampleRecords } from './normalize.js';
export { toJsonl, type JsonlObject, type JsonValue } from './jsonl.js';
export { dropReasonName } from './reasons.js';
export type {
  CounterBlock,
  CounterSample,
  DiscardSample,
  FlowSample,
  HostDescr,
  IfCounters,
  IfRef,
  SflowDatagram,
  SflowSample,
  SourceId,
  UnknownSample,
} from './types.js';
export { SampledPacket } from './types.js';
