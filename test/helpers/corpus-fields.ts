/**
 * Field-by-field check of a corpus case's expected.jsonl against tshark's decode of the same
 * datagrams: each of our field names maps to the tshark field(s) that carry the same value (the
 * first one present is used); fields tshark does not expose are not compared, and the caller
 * asserts that enough were. Times are rebuilt from tshark's header fields the way RFC 3954 §5.1 /
 * Cisco's v5 format define them (export time - sysUpTime + the record's uptime stamp).
 */
import type { Expected, Flat } from './corpus.js';

type Rule = string[] | ((t: Flat, e: Expected) => string | number | undefined);

const first = (t: Flat, ...names: string[]): string | undefined => {
  for (const n of names) {
    const v = t.get(n)?.[0];
    if (v !== undefined) return v;
  }
  return undefined;
};
const num = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));

/** tshark's absolute time text ("Apr  1, 2020 09:59:25.729000000 UTC") in epoch ms. */
function dateMs(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\w+)\s+(\d+), (\d+) (\d+:\d+:\d+)(\.\d+)? UTC$/.exec(v.trim());
  if (!m) return undefined;
  const ms = Math.floor(Number(`0${m[5] ?? ''}`) * 1000);
  return Date.parse(`${m[1]} ${m[2]}, ${m[3]} ${m[4]} UTC`) + ms;
}

/**
 * Record times from tshark's relative stamps: v5/v9 from the header's export time and sysUpTime,
 * IPFIX from the systemInitTimeMilliseconds (IE 160) of an earlier options record. The uptime
 * stamps are 32-bit millisecond counters (RFC 3954 §5.1, RFC 7012 flowStartSysUpTime) that wrap
 * after 49.7 days, so the stamp is read as the latest instant at or before the export time (a
 * signed 32-bit difference), the same rule for every exporter.
 */
function uptimeMs(t: Flat, which: 'cflow.timestart' | 'cflow.timeend'): number | undefined {
  const abs = dateMs(first(t, which === 'cflow.timestart' ? 'cflow.abstimestart' : 'cflow.abstimeend'));
  if (abs !== undefined) return abs;
  const rel = num(first(t, which));
  if (rel === undefined) return undefined;
  const secs = num(first(t, 'cflow.unix_secs', 'cflow.exporttime'));
  if (secs === undefined) return undefined;
  const exportMs = secs * 1000 + Math.floor((num(first(t, 'cflow.unix_nsecs')) ?? 0) / 1e6);
  const up = num(first(t, 'cflow.sysuptime'));
  const init = dateMs(first(t, '_sys_init_time'));
  let candidate: number;
  if (up !== undefined) candidate = exportMs - Math.round(up * 1000) + Math.round(rel * 1000);
  else if (init !== undefined) candidate = init + Math.round(rel * 1000);
  else return undefined;
  return exportMs - ((exportMs - candidate) | 0);
}

/** Sum of two tshark fields (NSEL/RFC 5103 initiator + responder totals), when both are there. */
const sum = (a: string, b: string) => (t: Flat): number | undefined => {
  const x = num(first(t, a));
  const y = num(first(t, b));
  return x === undefined || y === undefined ? undefined : x + y;
};

/** tshark's decoded value of an element we keep as raw hex (unknown or enterprise): as that hex. */
const asHex = (name: string, bytes: number, kind: 'ipv4' | 'uint') => (t: Flat): string | undefined => {
  const v = first(t, name);
  if (v === undefined) return undefined;
  if (kind === 'ipv4') return v.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('');
  return BigInt(v).toString(16).padStart(bytes * 2, '0');
};

/** An address from a template that may carry both families: the family that is not all zeros. */
const addr = (...names: string[]) => (t: Flat): string | undefined => {
  const vals = names.map((n) => first(t, n)).filter((v): v is string => v !== undefined);
  return vals.find((v) => v !== '0.0.0.0' && v !== '::') ?? vals[0];
};

export const CFLOW: Record<string, Rule> = {
  // Cisco AVC (PEN 9) elements, kept raw as e9_<id>
  e9_12236: asHex('cflow.pie.cisco.connection_client_ipv4_address', 4, 'ipv4'),
  e9_12237: asHex('cflow.pie.cisco.connection_server_ipv4_address', 4, 'ipv4'),
  e9_12240: asHex('cflow.pie.cisco.connection_client_transport_port', 2, 'uint'),
  e9_12241: asHex('cflow.pie.cisco.connection_server_transport_port', 2, 'uint'),
  e9_12242: asHex('cflow.pie.cisco.connection_id', 4, 'uint'),
  ie_278: asHex('cflow.new_connection_delta_count', 4, 'uint'),
  sampler_id: ['cflow.sampler_id'],
  src_addr: addr('cflow.srcaddr', 'cflow.srcaddrv6'),
  dst_addr: addr('cflow.dstaddr', 'cflow.dstaddrv6'),
  next_hop: addr('cflow.nexthop', 'cflow.nexthopv6'),
  src_port: ['cflow.srcport'],
  dst_port: ['cflow.dstport'],
  proto: ['cflow.protocol'],
  tcp_flags: ['cflow.tcpflags', 'cflow.tcpflags16'],
  tos: ['cflow.tos'],
  bytes: (t) => num(first(t, 'cflow.octets', 'cflow.octets64')) ?? sum('cflow.initiator_octets', 'cflow.responder_octets')(t) ?? num(first(t, 'cflow.permanent_octets')),
  packets: (t) => num(first(t, 'cflow.packets', 'cflow.packets64')) ?? sum('cflow.initiator_packets', 'cflow.responder_packets')(t) ?? num(first(t, 'cflow.permanent_packets')),
  octet_total_count: ['cflow.permanent_octets'],
  packet_total_count: ['cflow.permanent_packets'],
  in_if: ['cflow.inputint'],
  out_if: ['cflow.outputint'],
  src_as: ['cflow.srcas'],
  dst_as: ['cflow.dstas'],
  vlan: ['cflow.vlanid', 'cflow.srcvlan'],
  source_ipv4_prefix_length: ['cflow.srcmask'],
  destination_ipv4_prefix_length: ['cflow.dstmask'],
  source_ipv6_prefix_length: ['cflow.srcmaskv6'],
  destination_ipv6_prefix_length: ['cflow.dstmaskv6'],
  ip_version: ['cflow.ip_version'],
  flow_direction: ['cflow.direction'],
  flow_end_reason: ['cflow.flow_end_reason'],
  flow_label_ipv6: ['cflow.ipv6flowlabel'],
  icmp_type_code_ipv4: ['cflow.icmp_type_code_ipv4'],
  icmp_type_code_ipv6: ['cflow.icmp_type_code_ipv6'],
  ingress_physical_interface: ['cflow.ingress_physical_interface'],
  egress_physical_interface: ['cflow.egress_physical_interface'],
  ethernet_type: ['cflow.ethernet_type'],
  post_source_mac_address: ['cflow.post_src_mac'],
  metering_process_id: ['cflow.mp_id'],
  system_init_time_milliseconds: (t) => dateMs(first(t, 'cflow.sys_init_time')),
  sampling_packet_interval: ['cflow.sampling_packet_interval'],
  sampling_packet_space: ['cflow.sampling_packet_space'],
  selector_algorithm: ['cflow.selector_algorithm'],
  sampling_interval: ['cflow.sampling_interval'],
  sampling_algorithm: ['cflow.sampling_algorithm'],
  interface_name: ['cflow.if_name'],
  scope_interface: ['cflow.scope_interface'],
  ingress_vrfid: ['cflow.ingressvrfid'],
  biflow_direction: ['cflow.biflow_direction'],
  initiator_octets: ['cflow.initiator_octets'],
  responder_octets: ['cflow.responder_octets'],
  initiator_packets: ['cflow.initiator_packets'],
  responder_packets: ['cflow.responder_packets'],
  firewall_event: ['cflow.fw_event'],
  flow_id: ['cflow.flow_id'],
  start_ms: (t) => uptimeMs(t, 'cflow.timestart'),
  end_ms: (t) => uptimeMs(t, 'cflow.timeend'),
};

const fs = (k: string): string[] => [`sflow.flow_sample.${k}`, `sflow.expanded_flow_sample.${k}`];
export const SFLOW: Record<string, Rule> = {
  agent: ['sflow_245.agent', 'sflow_245.agent.v6'],
  sub_agent_id: ['sflow_245.sub_agent_id'],
  sequence: ['sflow_245.sequence_number'],
  uptime_ms: ['sflow_245.sysuptime'],
  sample_sequence: [...fs('sequence_number'), 'sflow.counters_sample.sequence_number'],
  source_id_type: ['sflow.counters_sample.source_id_type', ...fs('source_id_class'), ...fs('source_id_type')],
  source_id_index: ['sflow.counters_sample.source_id_index', ...fs('index'), ...fs('source_id_index')],
  sampling_rate: fs('sampling_rate'),
  sample_pool: fs('sample_pool'),
  sample_drops: fs('dropped_packets'),
  in_if: [...fs('input_interface_value'), ...fs('input_interface')],
  out_if: fs('output_interface_value'),
  bytes: ['sflow_245.header.frame_length', 'sflow_245.ethernet.length'],
  header_protocol: ['sflow_245.header_protocol'],
  stripped: ['sflow_245.header.payload_stripped'],
  header_length: ['sflow_245.header.sampled_header_length'],
  src_mac: ['sflow_245.ethernet.source_mac_address', 'eth.src'],
  dst_mac: ['sflow_245.ethernet.destination_mac_address', 'eth.dst'],
  ether_type: ['sflow_245.ethernet.packet_type'],
  src_addr: ['ip.src', 'ipv6.src', 'sflow_245.ipv4_src', 'sflow_245.ipv6_src'],
  dst_addr: ['ip.dst', 'ipv6.dst', 'sflow_245.ipv4_dst', 'sflow_245.ipv6_dst'],
  src_port: ['tcp.srcport', 'udp.srcport'],
  dst_port: ['tcp.dstport', 'udp.dstport'],
  ttl: ['ip.ttl', 'ipv6.hlim'],
  vlan: ['sflow_245.vlan.in'],
  dst_vlan: ['sflow_245.vlan.out'],
  src_priority: ['sflow_245.pri.in'],
  dst_priority: ['sflow_245.pri.out'],
  next_hop: ['sflow_245.nexthop', 'sflow_245.nexthop.v6'],
  src_mask: ['sflow_245.nexthop.src_mask', 'sflow_245.ipv4_src_mask'],
  dst_mask: ['sflow_245.nexthop.dst_mask', 'sflow_245.ipv4_dst_mask'],
  src_as: ['sflow_245.srcAS'],
  peer_as: ['sflow_245.peerAS'],
  local_pref: ['sflow_245.localpref'],
  if_index: ['sflow_245.ifindex'],
  if_type: ['sflow_245.iftype'],
  speed: ['sflow_245.ifspeed'],
  if_direction: ['sflow_245.ifdirection'],
  admin_status: (t) => { const v = num(first(t, 'sflow_245.ifadmin_status')); return v === undefined ? undefined : v === 1 ? 1 : 2; },
  oper_status: (t) => { const v = num(first(t, 'sflow_245.ifoper_status')); return v === undefined ? undefined : v === 1 ? 1 : 2; },
  in_octets: ['sflow_245.ifinoct'],
  in_packets: ['sflow_245.ifinpkt'],
  in_mcast_pkts: ['sflow_245.ifinmcast'],
  in_bcast_pkts: ['sflow_245.ifinbcast'],
  in_discards: ['sflow_245.ifindisc'],
  in_errors: ['sflow_245.ifinerr'],
  in_unknown_protos: ['sflow_245.ifinunk'],
  out_octets: ['sflow_245.ifoutoct'],
  out_packets: ['sflow_245.ifoutpkt'],
  out_mcast_pkts: ['sflow_245.ifoutmcast'],
  out_bcast_pkts: ['sflow_245.ifoutbcast'],
  out_discards: ['sflow_245.ifoutdisc'],
  out_errors: ['sflow_245.ifouterr'],
  promiscuous: ['sflow_245.ifpromisc'],
  dot3_alignment_errors: ['sflow_245.dot3StatsAlignmentErrors'],
  dot3_fcs_errors: ['sflow_245.dot3StatsFCSErrors'],
  dot3_frame_too_longs: ['sflow_245.dot3StatsFrameTooLongs'],
  vlan_id: ['sflow_245.vlan_id'],
  vlan_octets: ['sflow_245.octets'],
  vlan_ucast_pkts: ['sflow_245.ucastPkts'],
  vlan_mcast_pkts: ['sflow_245.multicastPkts'],
  vlan_bcast_pkts: ['sflow_245.broadcastPkts'],
  vlan_discards: ['sflow_245.discards'],
  cpu_5s_percent: (t) => { const v = num(first(t, 'sflow_5.cpu_5s')); return v === undefined ? undefined : v / 100; },
  cpu_1m_percent: (t) => { const v = num(first(t, 'sflow_5.cpu_1m')); return v === undefined ? undefined : v / 100; },
  cpu_5m_percent: (t) => { const v = num(first(t, 'sflow_5.cpu_5m')); return v === undefined ? undefined : v / 100; },
  mem_total: ['sflow_5.total_memory'],
  mem_free: ['sflow_5.free_memory'],
};

function same(ours: number | string | boolean, theirs: string | number): boolean {
  if (typeof ours === 'number' || /^\d+$/.test(String(ours))) return Number(ours) === Number(theirs) || BigInt(String(ours)) === BigInt(String(theirs));
  return String(ours).toLowerCase() === String(theirs).toLowerCase();
}

/** Compares one expected record with one tshark unit; returns the differences and how many fields agreed. */
export function compareUnit(rules: Record<string, Rule>, e: Expected, t: Flat, id: string): { problems: string[]; compared: number } {
  const problems: string[] = [];
  let compared = 0;
  for (const [k, v] of Object.entries(e)) {
    const rule = rules[k];
    if (!rule) continue;
    const theirs = typeof rule === 'function' ? rule(t, e) : first(t, ...rule);
    if (theirs === undefined) continue;
    compared++;
    let ok = false;
    try {
      ok = same(v, theirs);
    } catch {
      ok = false;
    }
    if (!ok) problems.push(`${id} ${k}: expected ${String(v)}, tshark ${String(theirs)}`);
  }
  return { problems, compared };
}
