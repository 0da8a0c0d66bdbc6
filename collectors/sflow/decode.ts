import { Reader } from '../../src/wire/reader.js';
import { readCounterRecords } from './counters.js';
import { readFlowRecords } from './flowrecords.js';
import type { DiscardSample, FlowSample, IfRef, SflowDatagram, SflowSample, SourceId } from './types.js';
import { enter, leave, readAddress, words } from './xdr.js';

/**
 * sFlow v5 datagram decoder (sflow.org/sflow_version_5.txt §5 "sample_datagram_v5", and
 * sflow_drops.txt for format 5). Pure: bytes in, structures out; throws only DecodeError.
 */

// sample_data formats, enterprise 0 (memo §5 "sample_record"; drops memo §2).
const FLOW_SAMPLE = 1;
const COUNTERS_SAMPLE = 2;
const FLOW_SAMPLE_EXPANDED = 3;
const COUNTERS_SAMPLE_EXPANDED = 4;
const DISCARDED_PACKET = 5;

export const SFLOW_VERSION = 5;

export function decodeSflow(buf: Uint8Array): SflowDatagram {
  const r = new Reader(buf, 'sflow');
  const version = r.u32('version');
  if (version !== SFLOW_VERSION) r.fail('version', 'bad_version', `version ${version}`);
  r.need(4, 'agent_address');
  const agentAddressType = r.view.getUint32(r.pos);
  const agent = readAddress(r, 'agent_address');
  const subAgentId = r.u32('sub_agent_id');
  const sequence = r.u32('sequence_number');
  const uptimeMs = r.u32('uptime');
  const n = r.u32('num_samples');
  // A sample is at least 8 bytes (format + length): a larger count cannot be true.
  if (n * 8 > r.remaining) r.fail('num_samples', 'bad_count', `${n} samples in ${r.remaining} bytes`);
  const samples: SflowSample[] = new Array<SflowSample>();
  for (let i = 0; i < n; i++) {
    const o = words(r, SAMPLE_HEAD);
    const format = r.view.getUint32(o);
    const length = r.view.getUint32(o + 4);
    const outer = enter(r, length, 'sample.data');
    samples.push(readSample(r, format, length));
    leave(r, outer);
  }
  return { version: 5, agent, agentAddressType, subAgentId, sequence, uptimeMs, samples };
}

function readSample(r: Reader, format: number, length: number): SflowSample {
  switch (format) {
    case FLOW_SAMPLE:
    case FLOW_SAMPLE_EXPANDED:
      return readFlowSample(r, format === FLOW_SAMPLE_EXPANDED);
    case COUNTERS_SAMPLE:
    case COUNTERS_SAMPLE_EXPANDED: {
      const expanded = format === COUNTERS_SAMPLE_EXPANDED;
      const sequence = r.u32('counters_sample.sequence_number');
      const source = readSource(r, expanded);
      const count = r.u32('counters_sample.num_records');
      return readCounterRecords(r, count, { sequence, source, expanded });
    }
    case DISCARDED_PACKET:
      return readDiscard(r);
    default:
      // Vendor (enterprise != 0) or unassigned sample: memo §5 says skip it by its length.
      return { kind: 'unknown', enterprise: format >>> 12, format: format & 0xfff, length };
  }
}

/** memo §5 sflow_data_source: type in the top 8 bits, index in the low 24; expanded: two words. */
function readSource(r: Reader, expanded: boolean): SourceId {
  if (expanded) return { type: r.u32('source_id_type'), index: r.u32('source_id_index') };
  const v = r.u32('source_id');
  return { type: v >>> 24, index: v & 0xffffff };
}

/** memo §5 "interface": format in the top 2 bits, value in the low 30; expanded: two words. */
function readIf(r: Reader, expanded: boolean, field: string): IfRef {
  if (expanded) return { format: r.u32(`${field}.format`), value: r.u32(`${field}.value`) };
  const v = r.u32(field);
  return { format: v >>> 30, value: v & 0x3fffffff };
}

const SAMPLE_HEAD = ['sample.format', 'sample.length'] as const;
/** flow_sample (format 1) up to num_records, in the field names the one-word readers use. */
const FLOW_SAMPLE_FIXED = [
  'flow_sample.sequence_number', 'source_id', 'flow_sample.sampling_rate', 'flow_sample.sample_pool',
  'flow_sample.drops', 'flow_sample.input', 'flow_sample.output', 'flow_sample.num_records',
] as const;

function readFlowSample(r: Reader, expanded: boolean): FlowSample {
  if (!expanded) {
    // memo §5 flow_sample: eight words, source and interfaces packed as in readSource/readIf.
    const o = words(r, FLOW_SAMPLE_FIXED);
    const v = r.view;
    const src = v.getUint32(o + 4);
    const input = v.getUint32(o + 20);
    const output = v.getUint32(o + 24);
    const packet = readFlowRecords(r, v.getUint32(o + 28));
    return {
      kind: 'flow',
      sequence: v.getUint32(o),
      source: { type: src >>> 24, index: src & 0xffffff },
      expanded,
      samplingRate: v.getUint32(o + 8),
      samplePool: v.getUint32(o + 12),
      drops: v.getUint32(o + 16),
      input: { format: input >>> 30, value: input & 0x3fffffff },
      output: { format: output >>> 30, value: output & 0x3fffffff },
      packet,
    };
  }
  const sequence = r.u32('flow_sample.sequence_number');
  const source = readSource(r, expanded);
  const samplingRate = r.u32('flow_sample.sampling_rate');
  const samplePool = r.u32('flow_sample.sample_pool');
  const drops = r.u32('flow_sample.drops');
  const input = readIf(r, expanded, 'flow_sample.input');
  const output = readIf(r, expanded, 'flow_sample.output');
  const count = r.u32('flow_sample.num_records');
  const packet = readFlowRecords(r, count);
  return { kind: 'flow', sequence, source, expanded, samplingRate, samplePool, drops, input, output, packet };
}

/** sflow_drops.txt §2 discarded_packet (always the expanded source and plain ifIndex words). */
function readDiscard(r: Reader): DiscardSample {
  const sequence = r.u32('discarded_packet.sequence_number');
  const source = readSource(r, true);
  const drops = r.u32('discarded_packet.drops');
  const inputIf = r.u32('discarded_packet.input');
  const outputIf = r.u32('discarded_packet.output');
  const reason = r.u32('discarded_packet.reason');
  const count = r.u32('discarded_packet.num_records');
  const packet = readFlowRecords(r, count);
  return { kind: 'discard', sequence, source, expanded: true, drops, inputIf, outputIf, reason, packet };
}
