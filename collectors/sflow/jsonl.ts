import type { Fields } from '../../src/record/record.js';
import { packetFields } from './normalize.js';
import { dropReasonName } from './reasons.js';
import type { CounterSample, FlowSample, IfCounters, SflowDatagram } from './types.js';

/**
 * `netvigil decode --format jsonl` objects for one datagram: one per flow, discard and counter
 * sample, unscaled (`bytes` = sampled frame length, `packets` = 1). Integers above 2^53 (64-bit
 * counters) are written as decimal strings so JSON does not round them.
 */
export type JsonValue = number | string | boolean;
export type JsonlObject = { [key: string]: JsonValue };

/**
 * `flow`: a flow sample's fields from elsewhere (`netvigil decode` passes the fields of the Record
 * made from its producer view, collectors/flow/producer.ts, less what the header below holds).
 */
export function toJsonl(d: SflowDatagram, flow?: (s: FlowSample) => Fields): JsonlObject[] {
  const out: JsonlObject[] = [];
  for (const s of d.samples) {
    let f: Fields = {};
    if (s.kind === 'unknown') continue;
    if (s.kind === 'flow' && flow) f = flow(s);
    else if (s.kind === 'flow') {
      packetFields(s.packet, f);
      f.sampling_rate = s.samplingRate;
      f.sample_pool = s.samplePool;
      f.sample_drops = s.drops;
      if (s.input.format === 0) f.in_if = s.input.value;
      if (s.output.format === 0) f.out_if = s.output.value;
      else if (s.output.format === 1) f.out_discard_reason = s.output.value;
      else if (s.output.format === 2) f.out_if_count = s.output.value;
    } else if (s.kind === 'discard') {
      packetFields(s.packet, f);
      f.reason = dropReasonName(s.reason);
      f.reason_code = s.reason;
      f.discard_drops = s.drops;
      f.in_if = s.inputIf;
      f.out_if = s.outputIf;
    } else {
      counterFields(s, f);
    }
    const o: JsonlObject = {
      version: 'sflow5',
      type: s.kind,
      agent: d.agent,
      sub_agent_id: d.subAgentId,
      sequence: d.sequence,
      uptime_ms: d.uptimeMs,
      sample_sequence: s.sequence,
      source_id_type: s.source.type,
      source_id_index: s.source.index,
    };
    for (const k in f) {
      const v = f[k];
      if (v === undefined) continue;
      o[k] = typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v;
    }
    out.push(o);
  }
  return out;
}

function counterFields(s: CounterSample, f: Fields): void {
  if (s.generic) {
    genericJson(s.generic, f);
    // memo §5: all ones means "unknown"; left out as in the stored Records and the table blocks.
    for (const k in f) if (f[k] === 0xffffffff || f[k] === 0xffffffffffffffffn) delete f[k];
  }
  for (const b of s.blocks) {
    // VLAN counters share names with interface ones (octets, ucast_pkts): keep them apart.
    const prefix = b.group === 'vlan' ? 'vlan_' : '';
    for (const k in b.values) f[k === 'vlan_id' ? k : prefix + k] = b.values[k];
  }
  if (s.portName !== undefined) f.if_name = s.portName;
  if (s.hostDescr) {
    f.hostname = s.hostDescr.hostname;
    f.uuid = s.hostDescr.uuid;
    f.machine_type = s.hostDescr.machineType;
    f.os_name = s.hostDescr.osName;
    f.os_release = s.hostDescr.osRelease;
  }
  if (s.parent) f.parent = `${s.parent.type}:${s.parent.index}`;
}

/** The decode keys of the issue (packets = unicast) plus the rest of if_counters. */
function genericJson(g: IfCounters, f: Fields): void {
  f.if_index = g.ifIndex;
  f.if_type = g.ifType;
  f.speed = g.ifSpeed;
  f.if_direction = g.ifDirection;
  f.admin_status = g.ifStatus & 1 ? 1 : 2;
  f.oper_status = g.ifStatus & 2 ? 1 : 2;
  f.in_octets = g.inOctets;
  f.out_octets = g.outOctets;
  f.in_packets = g.inUcastPkts;
  f.out_packets = g.outUcastPkts;
  f.in_mcast_pkts = g.inMulticastPkts;
  f.out_mcast_pkts = g.outMulticastPkts;
  f.in_bcast_pkts = g.inBroadcastPkts;
  f.out_bcast_pkts = g.outBroadcastPkts;
  f.in_errors = g.inErrors;
  f.out_errors = g.outErrors;
  f.in_discards = g.inDiscards;
  f.out_discards = g.outDiscards;
  f.in_unknown_protos = g.inUnknownProtos;
  f.promiscuous = g.promiscuous;
}
