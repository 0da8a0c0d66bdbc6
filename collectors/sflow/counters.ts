import type { Reader } from '../../src/wire/reader.js';
import type { CounterBlock, CounterSample, IfCounters } from './types.js';
import { enter, leave, readString, uuidToString } from './xdr.js';

/**
 * Counter records inside a counter sample (memo §5 "counter_record", sflow_host.txt). The generic
 * interface block is decoded into a typed struct (it feeds the SNMP-compatible interface Record);
 * the other fixed-layout blocks go through the tables below. Unknown formats are skipped by length.
 */

type Kind = 'u32' | 'u64' | 'f32' | 'pct';
type Layout = readonly (readonly [string, Kind])[];
interface Table {
  name: string;
  group: CounterBlock['group'];
  layout: Layout;
  /** `<structure>.<field>` per layout entry, built once: DecodeError field names, no per-read strings. */
  labels: readonly string[];
  /** Fields after this many are optional: later revisions of the structure appended them. */
  required: number;
}

/** MIB object names to snake_case field names, e.g. ipInHdrErrors -> ip_in_hdr_errors. */
function mib(names: string, kind: Kind = 'u32'): Layout {
  return names.split(' ').map((n) => [n.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase(), kind] as const);
}
function table(name: string, group: Table['group'], layout: Layout, required = layout.length): Table {
  return { name, group, layout, labels: layout.map(([n]) => `${name}.${n}`), required };
}

const NIO: Layout = [
  ['bytes_in', 'u64'], ['pkts_in', 'u32'], ['errs_in', 'u32'], ['drops_in', 'u32'],
  ['bytes_out', 'u64'], ['pkts_out', 'u32'], ['errs_out', 'u32'], ['drops_out', 'u32'],
];
const prefixed = (prefix: string, l: Layout): Layout => l.map(([n, k]) => [prefix + n, k] as const);

/** Keyed by counter format (enterprise 0). Read-only lookup data built once at load; never mutated. */
const TABLES: ReadonlyMap<number, Table> = new Map<number, Table>([
  [2, table('ethernet', 'interface', [
    'alignment_errors', 'fcs_errors', 'single_collision_frames', 'multiple_collision_frames', 'sqe_test_errors',
    'deferred_transmissions', 'late_collisions', 'excessive_collisions', 'internal_mac_transmit_errors',
    'carrier_sense_errors', 'frame_too_longs', 'internal_mac_receive_errors', 'symbol_errors',
  ].map((n) => [`dot3_${n}`, 'u32'] as const))],
  [5, table('vlan', 'vlan', [['vlan_id', 'u32'], ['octets', 'u64'], ['ucast_pkts', 'u32'], ['mcast_pkts', 'u32'], ['bcast_pkts', 'u32'], ['discards', 'u32']])],
  // "percentage" is hundredths of a percent (memo §5 processor).
  [1001, table('processor', 'host', [['cpu_5s_percent', 'pct'], ['cpu_1m_percent', 'pct'], ['cpu_5m_percent', 'pct'], ['mem_total', 'u64'], ['mem_free', 'u64']])],
  [1002, table('radio', 'host', [['radio_elapsed_time_ms', 'u32'], ['radio_on_channel_time_ms', 'u32'], ['radio_on_channel_busy_time_ms', 'u32']])],
  [2003, table('host_cpu', 'host', [
    ['load_one', 'f32'], ['load_five', 'f32'], ['load_fifteen', 'f32'], ['proc_run', 'u32'], ['proc_total', 'u32'],
    ['cpu_num', 'u32'], ['cpu_speed_mhz', 'u32'], ['uptime_s', 'u32'], ['cpu_user_ms', 'u32'], ['cpu_nice_ms', 'u32'],
    ['cpu_system_ms', 'u32'], ['cpu_idle_ms', 'u32'], ['cpu_wio_ms', 'u32'], ['cpu_intr_ms', 'u32'], ['cpu_sintr_ms', 'u32'],
    ['interrupts', 'u32'], ['contexts', 'u32'], ['cpu_steal_ms', 'u32'], ['cpu_guest_ms', 'u32'], ['cpu_guest_nice_ms', 'u32'],
  ], 17)],
  [2004, table('host_memory', 'host', [
    ['mem_total', 'u64'], ['mem_free', 'u64'], ['mem_shared', 'u64'], ['mem_buffers', 'u64'], ['mem_cached', 'u64'],
    ['swap_total', 'u64'], ['swap_free', 'u64'], ['page_in', 'u32'], ['page_out', 'u32'], ['swap_in', 'u32'], ['swap_out', 'u32'],
  ])],
  [2005, table('host_disk', 'host', [
    ['disk_total', 'u64'], ['disk_free', 'u64'], ['disk_part_max_used_percent', 'pct'], ['disk_reads', 'u32'],
    ['disk_bytes_read', 'u64'], ['disk_read_time_ms', 'u32'], ['disk_writes', 'u32'], ['disk_bytes_written', 'u64'],
    ['disk_write_time_ms', 'u32'],
  ])],
  [2006, table('host_net', 'host', prefixed('nio_', NIO))],
  [2007, table('host_ip', 'host', mib(
    'ipForwarding ipDefaultTTL ipInReceives ipInHdrErrors ipInAddrErrors ipForwDatagrams ipInUnknownProtos ' +
    'ipInDiscards ipInDelivers ipOutRequests ipOutDiscards ipOutNoRoutes ipReasmTimeout ipReasmReqds ipReasmOKs ' +
    'ipReasmFails ipFragOKs ipFragFails ipFragCreates'))],
  [2008, table('host_icmp', 'host', mib(
    'icmpInMsgs icmpInErrors icmpInDestUnreachs icmpInTimeExcds icmpInParamProbs icmpInSrcQuenchs icmpInRedirects ' +
    'icmpInEchos icmpInEchoReps icmpInTimestamps icmpInAddrMasks icmpInAddrMaskReps icmpOutMsgs icmpOutErrors ' +
    'icmpOutDestUnreachs icmpOutTimeExcds icmpOutParamProbs icmpOutSrcQuenchs icmpOutRedirects icmpOutEchos ' +
    'icmpOutEchoReps icmpOutTimestamps icmpOutTimestampReps icmpOutAddrMasks icmpOutAddrMaskReps'))],
  [2009, table('host_tcp', 'host', mib(
    'tcpRtoAlgorithm tcpRtoMin tcpRtoMax tcpMaxConn tcpActiveOpens tcpPassiveOpens tcpAttemptFails tcpEstabResets ' +
    'tcpCurrEstab tcpInSegs tcpOutSegs tcpRetransSegs tcpInErrs tcpOutRsts tcpInCsumErrors'), 14)],
  [2010, table('host_udp', 'host', mib(
    'udpInDatagrams udpNoPorts udpInErrors udpOutDatagrams udpRcvbufErrors udpSndbufErrors udpInCsumErrors'), 4)],
  [2100, table('virt_node', 'host', [['vnode_mhz', 'u32'], ['vnode_cpus', 'u32'], ['vnode_memory', 'u64'], ['vnode_memory_free', 'u64'], ['vnode_domains', 'u32']])],
  [2101, table('virt_cpu', 'host', [['vm_state', 'u32'], ['vm_cpu_time_ms', 'u32'], ['vm_vcpus', 'u32']])],
  [2102, table('virt_memory', 'host', [['vm_memory', 'u64'], ['vm_max_memory', 'u64']])],
  [2103, table('virt_disk', 'host', [
    ['vm_disk_capacity', 'u64'], ['vm_disk_allocation', 'u64'], ['vm_disk_available', 'u64'], ['vm_disk_rd_req', 'u32'],
    ['vm_disk_rd_bytes', 'u64'], ['vm_disk_wr_req', 'u32'], ['vm_disk_wr_bytes', 'u64'], ['vm_disk_errs', 'u32'],
  ])],
  [2104, table('virt_net', 'host', prefixed('vm_nio_', NIO))],
]);

const U32_UNKNOWN = 0xffffffff;
const U64_UNKNOWN = 0xffffffffffffffffn;
const GENERIC = 1;
const PORT_NAME = 1005;
const HOST_DESCR = 2000;
const HOST_PARENT = 2002;

export function readCounterRecords(r: Reader, count: number, base: Pick<CounterSample, 'sequence' | 'source' | 'expanded'>): CounterSample {
  if (count * 8 > r.remaining) r.fail('counter_record_count', 'bad_count', `${count} records`);
  const s: CounterSample = { kind: 'counters', ...base, generic: undefined, blocks: [], hostDescr: undefined, parent: undefined, portName: undefined, skippedRecords: 0 };
  for (let i = 0; i < count; i++) {
    const tag = r.u32('counter_record.format');
    const len = r.u32('counter_record.length');
    const outer = enter(r, len, 'counter_record.data');
    readCounterRecord(r, tag, s);
    leave(r, outer);
  }
  return s;
}

function readCounterRecord(r: Reader, tag: number, s: CounterSample): void {
  if (tag === GENERIC) s.generic = readGeneric(r);
  else if (tag === PORT_NAME) s.portName = readString(r, 'port_name.name', 255);
  else if (tag === HOST_DESCR) {
    const hostname = readString(r, 'host_descr.hostname', 255);
    const uuid = uuidToString(r.slice(16, 'host_descr.uuid'));
    const machineType = r.u32('host_descr.machine_type');
    const osName = r.u32('host_descr.os_name');
    const osRelease = readString(r, 'host_descr.os_release', 255);
    s.hostDescr = { hostname, uuid, machineType, osName, osRelease };
  } else if (tag === HOST_PARENT) {
    s.parent = { type: r.u32('host_parent.container_type'), index: r.u32('host_parent.container_index') };
  } else {
    const t = TABLES.get(tag);
    if (t) s.blocks.push(readTable(r, t, tag));
    else s.skippedRecords++;
  }
}

function readTable(r: Reader, t: Table, format: number): CounterBlock {
  const values: CounterBlock['values'] = {};
  for (let i = 0; i < t.layout.length; i++) {
    const entry = t.layout[i];
    if (!entry) break;
    const [name, kind] = entry;
    const label = t.labels[i] ?? name;
    // Optional trailing fields: stop cleanly at the end of an older, shorter structure.
    if (i >= t.required && r.remaining < (kind === 'u64' ? 8 : 4)) break;
    // memo §5: a counter the agent cannot supply is all ones; it is left out rather than stored.
    if (kind === 'u64') {
      const v = r.u64(label);
      if (v !== U64_UNKNOWN) values[name] = v;
    } else if (kind === 'u32' || kind === 'pct') {
      const v = r.u32(label);
      if (v !== U32_UNKNOWN) values[name] = kind === 'u32' ? BigInt(v) : v / 100;
    } else {
      r.need(4, label);
      values[name] = r.view.getFloat32(r.pos);
      r.pos += 4;
    }
  }
  return { name: t.name, group: t.group, format, values };
}

/** memo §5 if_counters (format 1), 88 bytes. */
function readGeneric(r: Reader): IfCounters {
  return {
    ifIndex: r.u32('if_counters.ifIndex'),
    ifType: r.u32('if_counters.ifType'),
    ifSpeed: r.u64('if_counters.ifSpeed'),
    ifDirection: r.u32('if_counters.ifDirection'),
    ifStatus: r.u32('if_counters.ifStatus'),
    inOctets: r.u64('if_counters.ifInOctets'),
    inUcastPkts: r.u32('if_counters.ifInUcastPkts'),
    inMulticastPkts: r.u32('if_counters.ifInMulticastPkts'),
    inBroadcastPkts: r.u32('if_counters.ifInBroadcastPkts'),
    inDiscards: r.u32('if_counters.ifInDiscards'),
    inErrors: r.u32('if_counters.ifInErrors'),
    inUnknownProtos: r.u32('if_counters.ifInUnknownProtos'),
    outOctets: r.u64('if_counters.ifOutOctets'),
    outUcastPkts: r.u32('if_counters.ifOutUcastPkts'),
    outMulticastPkts: r.u32('if_counters.ifOutMulticastPkts'),
    outBroadcastPkts: r.u32('if_counters.ifOutBroadcastPkts'),
    outDiscards: r.u32('if_counters.ifOutDiscards'),
    outErrors: r.u32('if_counters.ifOutErrors'),
    promiscuous: r.u32('if_counters.ifPromiscuousMode'),
  };
}
