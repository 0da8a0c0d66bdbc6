import { makeRecord, type Fields, type FlowRecord, type NetRecord, type Tags } from '../../src/record/record.js';
import { big } from '../../src/record/bigint.js';
import { Producer } from '../flow/producer.js';
import type { FlowView } from '../flow/view.js';
import { OptionsState } from '../netflow/options.js';
import { dropReasonName } from './reasons.js';
import type { CounterSample, DiscardSample, FlowSample, IfCounters, SampledPacket, SflowDatagram, SflowSample } from './types.js';

/**
 * sFlow structures -> Records (schema in README.md). sFlow carries no wall-clock time (memo §5:
 * only the agent uptime), so every Record is stamped with the receive time (timeSource
 * 'collector') and the uptime is kept as a field. Values are unscaled: `bytes` is the sampled
 * frame length and `packets` is 1; the pipeline scales by `sampling_rate`.
 */

const U32_UNKNOWN = 0xffffffff;
const U64_UNKNOWN = 0xffffffffffffffffn;

/**
 * Every Record of one datagram, flows read through a producer view of their own (for tools and
 * tests; the collector and `netvigil decode` fill their own view and call `recordOfSflow` and
 * `sampleRecords`). `flows: false` leaves out flow-sample Records.
 */
export function normalizeSflow(d: SflowDatagram, exporter: string, receivedAtMs: number, flows = true): NetRecord[] {
  const out: NetRecord[] = [];
  let prod: Producer | undefined;
  for (const s of d.samples) {
    if (s.kind !== 'flow') sampleRecords(d, s, exporter, receivedAtMs, out);
    else if (flows) out.push(recordOfSflow((prod ??= new Producer(new OptionsState())).sflow(s, exporter, d.subAgentId, receivedAtMs), s, d));
  }
  return out;
}

/**
 * The flow Record of a flow sample whose view (collectors/flow/producer.ts) was just filled: tags,
 * sampling rate, interfaces and receive time from the view, the packet's other fields from the sample.
 */
export function recordOfSflow(view: FlowView, s: FlowSample, d: SflowDatagram): FlowRecord {
  const f: Fields = {};
  packetFields(s.packet, f);
  f.sampling_rate = big(view.rate);
  f.sample_pool = big(s.samplePool);
  f.sample_drops = big(s.drops);
  if (typeof view.inIf === 'number') f.in_if = big(view.inIf);
  if (typeof view.outIf === 'number') f.out_if = big(view.outIf);
  // memo §5 "interface" format 1: the packet was discarded, the value is the reason code.
  else if (s.output.format === 1) f.out_discard_reason = big(s.output.value);
  else if (s.output.format === 2) f.out_if_count = big(s.output.value);
  const t = view.endMs;
  sourceFields(d, s.source.type, s.source.index, t, f);
  return makeRecord('flow', 'flow', { exporter: view.exporter, version: view.version, domain: String(view.domain) }, f, t, 'collector');
}

/** The Records of a discard or counter sample (a flow sample's is `recordOfSflow`'s), pushed to `out`. */
export function sampleRecords(d: SflowDatagram, s: SflowSample, exporter: string, receivedAtMs: number, out: { push(r: NetRecord): unknown }): void {
  if (s.kind === 'discard') out.push(discardRecord(s, d, exporter, receivedAtMs));
  else if (s.kind === 'counters') counterRecords(d, s, d.agent || exporter, receivedAtMs, out);
}

function discardRecord(s: DiscardSample, d: SflowDatagram, exporter: string, t: number): NetRecord {
  const f: Fields = {};
  packetFields(s.packet, f);
  f.reason_code = big(s.reason);
  f.discard_drops = big(s.drops);
  if (s.inputIf !== 0) f.in_if = big(s.inputIf);
  if (s.outputIf !== 0) f.out_if = big(s.outputIf);
  sourceFields(d, s.source.type, s.source.index, t, f);
  const tags = { exporter, version: 'sflow5', domain: String(d.subAgentId), reason: dropReasonName(s.reason) };
  return makeRecord('flow', 'flow_discard', tags, f, t, 'collector');
}

/** A sample is a single packet seen at about the time we received it. */
function sourceFields(d: SflowDatagram, type: number, index: number, t: number, f: Fields): void {
  f.agent_addr = d.agent;
  f.uptime_ms = BigInt(d.uptimeMs);
  f.source_id_type = big(type);
  f.source_id_index = big(index);
  f.start_ms = BigInt(Math.trunc(t));
  f.end_ms = f.start_ms;
}

/** Flow schema fields from the merged flow records; absent values stay absent. */
export function packetFields(p: SampledPacket, f: Fields): void {
  const bytes = p.frameLength ?? p.ipLength;
  if (bytes !== undefined) f.bytes = big(bytes);
  f.packets = 1n;
  if (p.srcAddr !== undefined) f.src_addr = p.srcAddr;
  if (p.dstAddr !== undefined) f.dst_addr = p.dstAddr;
  const nextHop = p.nextHop || p.bgpNextHop;
  if (nextHop) f.next_hop = nextHop;
  if (p.srcPort !== undefined) f.src_port = big(p.srcPort);
  if (p.dstPort !== undefined) f.dst_port = big(p.dstPort);
  if (p.proto !== undefined) f.proto = big(p.proto);
  if (p.tcpFlags !== undefined) f.tcp_flags = big(p.tcpFlags);
  if (p.tos !== undefined) f.tos = big(p.tos);
  if (p.srcAs !== undefined) f.src_as = big(p.srcAs);
  if (p.dstAs !== undefined) f.dst_as = big(p.dstAs);
  // extended_switch's VLAN is the agent's own view; the 802.1Q tag in the header is a fallback.
  {
    const v = p.srcVlan ?? p.vlan;
    if (v !== undefined) f.vlan = big(v);
  }
  if (p.dstVlan !== undefined) f.dst_vlan = big(p.dstVlan);
  if (p.innerVlan !== undefined) f.inner_vlan = big(p.innerVlan);
  {
    const v = p.srcPriority ?? p.vlanPcp;
    if (v !== undefined) f.src_priority = big(v);
  }
  if (p.dstPriority !== undefined) f.dst_priority = big(p.dstPriority);
  if (p.headerProtocol !== undefined) f.header_protocol = big(p.headerProtocol);
  if (p.stripped !== undefined) f.stripped = big(p.stripped);
  if (p.headerLength !== undefined) f.header_length = big(p.headerLength);
  if (p.etherType !== undefined) f.ether_type = big(p.etherType);
  if (p.ipVersion !== undefined) f.ip_version = big(p.ipVersion);
  if (p.ipLength !== undefined) f.ip_length = big(p.ipLength);
  if (p.ttl !== undefined) f.ttl = big(p.ttl);
  if (p.flowLabel !== undefined) f.flow_label = big(p.flowLabel);
  if (p.fragOffset !== undefined) f.frag_offset = big(p.fragOffset);
  if (p.icmpType !== undefined) f.icmp_type = big(p.icmpType);
  if (p.icmpCode !== undefined) f.icmp_code = big(p.icmpCode);
  if (p.srcMaskLen !== undefined) f.src_mask = big(p.srcMaskLen);
  if (p.dstMaskLen !== undefined) f.dst_mask = big(p.dstMaskLen);
  if (p.routerAs !== undefined) f.router_as = big(p.routerAs);
  if (p.srcPeerAs !== undefined) f.src_peer_as = big(p.srcPeerAs);
  if (p.dstPeerAs !== undefined) f.dst_peer_as = big(p.dstPeerAs);
  if (p.localPref !== undefined) f.local_pref = big(p.localPref);
  if (p.natSrcPort !== undefined) f.nat_src_port = big(p.natSrcPort);
  if (p.natDstPort !== undefined) f.nat_dst_port = big(p.natDstPort);
  if (p.vniEgress !== undefined) f.vni_egress = big(p.vniEgress);
  if (p.vniIngress !== undefined) f.vni_ingress = big(p.vniIngress);
  if (p.egressQueue !== undefined) f.egress_queue = big(p.egressQueue);
  if (p.transitDelayNs !== undefined) f.transit_delay_ns = big(p.transitDelayNs);
  if (p.queueDepthBytes !== undefined) f.queue_depth_bytes = big(p.queueDepthBytes);
  if (p.srcMac !== undefined) f.src_mac = p.srcMac;
  if (p.dstMac !== undefined) f.dst_mac = p.dstMac;
  if (p.mplsLabels !== undefined) f.mpls_labels = p.mplsLabels.join(',');
  if (p.asPath !== undefined && p.asPath.length) f.as_path = p.asPath.join(' ');
  if (p.communities !== undefined && p.communities.length) f.communities = p.communities.map(community).join(' ');
  if (p.natSrcAddr) f.nat_src_addr = p.natSrcAddr;
  if (p.natDstAddr) f.nat_dst_addr = p.natDstAddr;
  if (p.mplsNextHop) f.mpls_next_hop = p.mplsNextHop;
  if (p.mplsInLabels !== undefined) f.mpls_in_labels = p.mplsInLabels.join(',');
  if (p.mplsOutLabels !== undefined) f.mpls_out_labels = p.mplsOutLabels.join(',');
  if (p.vlanStack !== undefined) f.vlan_stack = p.vlanStack.join(',');
  if (p.srcUser !== undefined) f.src_user = p.srcUser;
  if (p.dstUser !== undefined) f.dst_user = p.dstUser;
  if (p.url !== undefined) f.url = p.url;
  if (p.urlHost !== undefined) f.url_host = p.urlHost;
  if (p.functionName !== undefined) f.function = p.functionName;
  if (p.linuxReason !== undefined) f.linux_reason = p.linuxReason;
}

/** RFC 1997 community as "asn:value". */
function community(c: number): string {
  return `${c >>> 16}:${c & 0xffff}`;
}

function counterRecords(d: SflowDatagram, s: CounterSample, device: string, t: number, out: { push(r: NetRecord): unknown }): void {
  const ifFields: Fields = {};
  let hasIf = false;
  if (s.generic) {
    genericFields(s.generic, ifFields);
    hasIf = true;
  }
  const host: Fields = {};
  let hasHost = false;
  for (const b of s.blocks) {
    if (b.group === 'vlan') {
      const vf: Fields = {};
      const vlan = b.values.vlan_id === undefined ? undefined : String(b.values.vlan_id);
      for (const k in b.values) if (k !== 'vlan_id') putCounter(vf, k, b.values[k]);
      vf.uptime_ms = BigInt(d.uptimeMs);
      const tags = { device, agent: d.agent || undefined, vlan, source: 'sflow' };
      out.push(makeRecord('device', 'sflow_vlan', tags, vf, t, 'collector'));
      continue;
    }
    const target = b.group === 'interface' ? ifFields : host;
    for (const k in b.values) putCounter(target, k, b.values[k]);
    if (b.group === 'interface') hasIf = true;
    else hasHost = true;
  }
  if (hasIf) {
    const ifIndex = s.generic ? s.generic.ifIndex : s.source.index;
    if (s.portName !== undefined) ifFields.if_name = s.portName;
    ifFields.uptime_ms = BigInt(d.uptimeMs);
    const tags = { device, agent: d.agent || undefined, if_index: String(ifIndex), source: 'sflow' };
    out.push(makeRecord('interface', 'interface', tags, ifFields, t, 'collector'));
  }
  if (hasHost || s.hostDescr) {
    const tags: Tags = { device, agent: d.agent || undefined, source_id: `${s.source.type}:${s.source.index}` };
    if (s.hostDescr) {
      if (s.hostDescr.hostname) tags.hostname = s.hostDescr.hostname;
      host.uuid = s.hostDescr.uuid;
      host.machine_type = BigInt(s.hostDescr.machineType);
      host.os_name = BigInt(s.hostDescr.osName);
      host.os_release = s.hostDescr.osRelease;
    }
    if (s.parent) host.parent = `${s.parent.type}:${s.parent.index}`;
    host.uptime_ms = BigInt(d.uptimeMs);
    out.push(makeRecord('device', 'sflow_host', tags, host, t, 'collector'));
  }
}

/** Table blocks already leave out "unknown" (all-ones) counters, see counters.ts. */
function putCounter(f: Fields, name: string, v: number | bigint | undefined): void {
  if (v !== undefined) f[name] = v;
}

/** Field names match the SNMP interface Record (IF-MIB ifTable/ifXTable) so dashboards show both. */
function genericFields(g: IfCounters, f: Fields): void {
  putU32(f, 'if_type', g.ifType);
  if (g.ifSpeed !== U64_UNKNOWN) f.speed = g.ifSpeed;
  f.if_direction = BigInt(g.ifDirection);
  // memo §5 ifStatus: bit 0 ifAdminStatus up, bit 1 ifOperStatus up; IF-MIB: 1 up, 2 down.
  f.admin_status = g.ifStatus & 1 ? 1n : 2n;
  f.oper_status = g.ifStatus & 2 ? 1n : 2n;
  if (g.inOctets !== U64_UNKNOWN) f.in_octets = g.inOctets;
  if (g.outOctets !== U64_UNKNOWN) f.out_octets = g.outOctets;
  putU32(f, 'in_ucast_pkts', g.inUcastPkts);
  putU32(f, 'in_mcast_pkts', g.inMulticastPkts);
  putU32(f, 'in_bcast_pkts', g.inBroadcastPkts);
  putU32(f, 'in_discards', g.inDiscards);
  putU32(f, 'in_errors', g.inErrors);
  putU32(f, 'in_unknown_protos', g.inUnknownProtos);
  putU32(f, 'out_ucast_pkts', g.outUcastPkts);
  putU32(f, 'out_mcast_pkts', g.outMulticastPkts);
  putU32(f, 'out_bcast_pkts', g.outBroadcastPkts);
  putU32(f, 'out_discards', g.outDiscards);
  putU32(f, 'out_errors', g.outErrors);
  putU32(f, 'promiscuous', g.promiscuous);
}

/** memo §5: a counter the agent cannot supply is sent as all ones; it is left out, not stored. */
function putU32(f: Fields, name: string, v: number): void {
  if (v !== U32_UNKNOWN) f[name] = BigInt(v);
}
