/**
 * Decoded v5/v9/IPFIX structures -> flow Records of the agreed schema (README.md). Pure: the only
 * state is the OptionsState the caller owns, fed by options data (sampling rates, exporter boot time,
 * interface names) so normalization uses it instead of merely passing it on.
 */
import type { InterfaceInfo } from '../../src/collector.js';
import { makeRecord, type Fields, type FlowRecord } from '../../src/record/record.js';
import { ipv4ToString } from '../../src/wire/reader.js';
import type { CompiledTemplate, DataRecord, Value } from './compile.js';
import { Kind } from './elements.js';
import type { V5Packet } from './v5.js';

const enum Conv {
  Int = 0,
  Plain = 1,
  Hex = 2,
  UptimeStart = 3,
  UptimeEnd = 4,
  AbsStart = 5,
  AbsEnd = 6,
  DeltaStart = 7,
  DeltaEnd = 8,
  Skip = 9,
  Ipv4 = 10,
}

/** IANA element id -> agreed schema name (everything else keeps its snake_case IANA name). */
const SCHEMA: ReadonlyMap<number, string> = new Map([
  [1, 'bytes'], [2, 'packets'], [4, 'proto'], [5, 'tos'], [6, 'tcp_flags'], [7, 'src_port'], [11, 'dst_port'],
  [8, 'src_addr'], [27, 'src_addr'], [12, 'dst_addr'], [28, 'dst_addr'], [15, 'next_hop'], [62, 'next_hop'],
  [10, 'in_if'], [14, 'out_if'], [16, 'src_as'], [17, 'dst_as'], [58, 'vlan'],
]);
const TIME_CONV: ReadonlyMap<number, Conv> = new Map([
  [22, Conv.UptimeStart], [21, Conv.UptimeEnd], [150, Conv.AbsStart], [151, Conv.AbsEnd], [152, Conv.AbsStart],
  [153, Conv.AbsEnd], [154, Conv.AbsStart], [155, Conv.AbsEnd], [156, Conv.AbsStart], [157, Conv.AbsEnd],
  [158, Conv.DeltaStart], [159, Conv.DeltaEnd],
]);
/** Elements that carry or point at a sampling configuration (RFC 7012 §5.7, RFC 5477, RFC 3954 §8). */
const SAMPLER_ID = 48;
const SELECTOR_ID = 302;

interface Plan {
  names: string[];
  convs: Uint8Array;
  /** Field indexes of sampling-related elements, -1 when absent. */
  samplerIdx: number;
  rateIdx: { interval: number; random: number; pktInterval: number; pktSpace: number; size: number; population: number };
}

function planFor(tpl: CompiledTemplate): Plan {
  if (tpl.plan) return tpl.plan as Plan;
  const n = tpl.names.length;
  const names = new Array<string>(n);
  const convs = new Uint8Array(n);
  const at = (id: number): number => Array.prototype.indexOf.call(tpl.ianaIds, id) as number;
  for (let i = 0; i < n; i++) {
    const id = tpl.ianaIds[i] as number;
    const kind = tpl.kinds[i] as Kind;
    const time = TIME_CONV.get(id);
    names[i] = SCHEMA.get(id) ?? (time === undefined ? (tpl.names[i] as string) : '');
    if (time !== undefined) convs[i] = time;
    else if (kind === Kind.List) convs[i] = Conv.Skip;
    else if (kind === Kind.Ipv4) convs[i] = Conv.Ipv4;
    else if (kind === Kind.Octets) convs[i] = Conv.Hex;
    else if (kind === Kind.Unsigned || kind === Kind.Signed || kind >= Kind.DateSeconds && kind <= Kind.DateNanos) convs[i] = Conv.Int;
    else convs[i] = Conv.Plain;
  }
  const sampler = at(SAMPLER_ID);
  const plan: Plan = {
    names,
    convs,
    samplerIdx: sampler >= 0 ? sampler : at(SELECTOR_ID),
    rateIdx: { interval: at(34), random: at(50), pktInterval: at(305), pktSpace: at(306), size: at(309), population: at(310) },
  };
  tpl.plan = plan;
  return plan;
}

function num(v: Value): number | undefined {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] as number).toString(16).padStart(2, '0');
  return s;
}

/** Sampling rate ("1 in N") a record states itself, or undefined (RFC 7012 §5.7, RFC 5477 §8.2). */
function ownRate(plan: Plan, v: Value[]): number | undefined {
  const x = plan.rateIdx;
  const pick = (i: number): number | undefined => (i >= 0 ? num(v[i]) : undefined);
  const interval = pick(x.interval) ?? pick(x.random);
  if (interval !== undefined && interval > 0) return interval;
  const pi = pick(x.pktInterval);
  const ps = pick(x.pktSpace);
  // systematic count-based: select pi packets out of every pi + ps
  if (pi !== undefined && ps !== undefined && pi > 0) return (pi + ps) / pi;
  const size = pick(x.size);
  const pop = pick(x.population);
  // random n-out-of-N: samplingSize out of samplingPopulation
  if (size !== undefined && pop !== undefined && size > 0) return pop / size;
  return undefined;
}

/** Bound on each OptionsState map: noisy or spoofed options data must not grow memory without limit. */
const MAX_ENTRIES = 65_536;

function boundedSet<K, V>(m: Map<K, V>, k: K, v: V): void {
  if (m.size < MAX_ENTRIES || m.has(k)) m.set(k, v);
}

/** What options data taught us, per exporter address and domain. Owned by one collector instance. */
export class OptionsState {
  /** `${exporter}|${domain}|${samplerId or *}` -> rate. */
  readonly sampling = new Map<string, number>();
  /** `${exporter}|${domain}` -> exporter boot time, epoch ms (IE 160). */
  readonly sysInit = new Map<string, number>();
  /** exporter -> ifIndex -> info (IE 82/83 keyed by IE 10/14/252 or the v9 interface scope). */
  readonly interfaces = new Map<string, Map<number, InterfaceInfo>>();

  /** Learns from one options data record; returns true when interface names changed. */
  apply(rec: DataRecord, exporter: string): boolean {
    const plan = planFor(rec.tpl);
    const v = rec.values;
    const dom = rec.hdr.domain;
    const rate = ownRate(plan, v);
    if (rate !== undefined) {
      const id = plan.samplerIdx >= 0 ? num(v[plan.samplerIdx]) : undefined;
      boundedSet(this.sampling, `${exporter}|${dom}|${id ?? '*'}`, rate);
    }
    const tpl = rec.tpl;
    let name: string | undefined;
    let descr: string | undefined;
    let ifIndex: number | undefined;
    for (let i = 0; i < tpl.ianaIds.length; i++) {
      const id = tpl.ianaIds[i];
      const val = v[i];
      if (id === 160 && typeof val === 'number') boundedSet(this.sysInit, `${exporter}|${dom}`, val);
      else if (id === 82 && typeof val === 'string') name = val.replace(/\0+$/, '');
      else if (id === 83 && typeof val === 'string') descr = val.replace(/\0+$/, '');
      else if ((id === 10 || id === 14 || id === 252) && ifIndex === undefined) ifIndex = num(val);
      else if (id === -1 && tpl.names[i] === 'scope_interface') ifIndex = num(val);
    }
    if (ifIndex === undefined || (name === undefined && descr === undefined)) return false;
    let m = this.interfaces.get(exporter);
    if (!m) {
      if (this.interfaces.size >= MAX_ENTRIES) return false;
      this.interfaces.set(exporter, (m = new Map()));
    }
    const old = m.get(ifIndex);
    if (old && old.name === name && old.descr === descr) return false;
    if (!old && m.size >= MAX_ENTRIES) return false;
    const info: InterfaceInfo = { ifIndex };
    if (name !== undefined) info.name = name;
    if (descr !== undefined) info.descr = descr;
    m.set(ifIndex, info);
    return true;
  }

  rateFor(plan: Plan, v: Value[], exporter: string, domain: number): number {
    const own = ownRate(plan, v);
    if (own !== undefined) return own;
    if (plan.samplerIdx >= 0) {
      const r = this.sampling.get(`${exporter}|${domain}|${num(v[plan.samplerIdx]) ?? '*'}`);
      if (r !== undefined) return r;
    }
    return this.sampling.get(`${exporter}|${domain}|*`) ?? 1;
  }
}

/**
 * One flow Record per v9/IPFIX data record. Times: v9 sysUptime-relative (RFC 3954 §8 FIRST/LAST_SWITCHED)
 * are made absolute from the header; IPFIX absolute, delta (RFC 7011 §B.2 relative to export time) or
 * sysUpTime with the exporter's systemInitTimeMilliseconds from options.
 */
export function normalizeData(rec: DataRecord, exporter: string, state: OptionsState, receivedAtMs: number): FlowRecord {
  const plan = planFor(rec.tpl);
  const { names, convs } = plan;
  const v = rec.values;
  const hdr = rec.hdr;
  const exportMs = hdr.exportTimeSec * 1000;
  const init = hdr.version === 10 ? state.sysInit.get(`${exporter}|${hdr.domain}`) : undefined;
  const fields: Fields = {};
  let start: number | undefined;
  let end: number | undefined;
  for (let i = 0; i < convs.length; i++) {
    const val = v[i];
    if (val === undefined) continue;
    const c = convs[i] as Conv;
    switch (c) {
      case Conv.Int:
        fields[names[i] as string] = typeof val === 'bigint' ? val : BigInt(Math.trunc(val as number));
        break;
      case Conv.Plain:
        fields[names[i] as string] = val as string | number | boolean;
        break;
      case Conv.Hex:
        fields[names[i] as string] = hex(val as Uint8Array);
        break;
      case Conv.Ipv4:
        fields[names[i] as string] = ipv4ToString(val as number);
        break;
      case Conv.UptimeStart:
      case Conv.UptimeEnd: {
        const t = num(val) ?? 0;
        // signed 32-bit difference survives sysUptime wrapping after 49.7 days
        const abs = hdr.version === 9 ? exportMs - ((hdr.sysUptimeMs - t) | 0) : init !== undefined ? init + t : undefined;
        if (c === Conv.UptimeStart) start = abs;
        else end = abs;
        break;
      }
      case Conv.AbsStart:
        start = num(val);
        break;
      case Conv.AbsEnd:
        end = num(val);
        break;
      case Conv.DeltaStart:
        start = exportMs - (num(val) ?? 0) / 1000;
        break;
      case Conv.DeltaEnd:
        end = exportMs - (num(val) ?? 0) / 1000;
        break;
      default:
        break;
    }
  }
  fields['sampling_rate'] = BigInt(Math.max(1, Math.round(state.rateFor(plan, v, exporter, hdr.domain))));
  if (start !== undefined) fields['start_ms'] = BigInt(Math.round(start));
  if (end !== undefined) fields['end_ms'] = BigInt(Math.round(end));
  const tags = { exporter, version: String(hdr.version), domain: String(hdr.domain) };
  return end !== undefined
    ? makeRecord('flow', 'flow', tags, fields, end, 'exporter')
    : makeRecord('flow', 'flow', tags, fields, receivedAtMs, 'collector');
}

/** One flow Record per v5 flow; the header's sampling interval applies to all of them. */
export function normalizeV5(p: V5Packet, exporter: string): FlowRecord[] {
  const h = p.header;
  const exportMs = h.unixSecs * 1000 + Math.floor(h.unixNsecs / 1e6);
  const rate = BigInt(h.samplingInterval > 0 ? h.samplingInterval : 1);
  const tags = { exporter, version: '5', domain: String((h.engineType << 8) | h.engineId) };
  const out: FlowRecord[] = new Array<FlowRecord>(p.flows.length);
  for (let i = 0; i < p.flows.length; i++) {
    const f = p.flows[i] as V5Packet['flows'][number];
    const start = exportMs - ((h.sysUptimeMs - f.first) | 0);
    const end = exportMs - ((h.sysUptimeMs - f.last) | 0);
    const fields: Fields = {
      src_addr: ipv4ToString(f.srcAddr), dst_addr: ipv4ToString(f.dstAddr), next_hop: ipv4ToString(f.nextHop),
      src_port: BigInt(f.srcPort), dst_port: BigInt(f.dstPort), proto: BigInt(f.proto),
      tcp_flags: BigInt(f.tcpFlags), tos: BigInt(f.tos), bytes: BigInt(f.bytes), packets: BigInt(f.packets),
      sampling_rate: rate, in_if: BigInt(f.input), out_if: BigInt(f.output),
      src_as: BigInt(f.srcAs), dst_as: BigInt(f.dstAs),
      source_ipv4_prefix_length: BigInt(f.srcMask), destination_ipv4_prefix_length: BigInt(f.dstMask),
      start_ms: BigInt(start), end_ms: BigInt(end),
    };
    out[i] = makeRecord('flow', 'flow', { ...tags }, fields, end, 'exporter');
  }
  return out;
}

/** An options data record's values under their element names (for `netvigil decode`). */
export function optionsFields(rec: DataRecord): Fields {
  const tpl = rec.tpl;
  const f: Fields = {};
  for (let i = 0; i < tpl.names.length; i++) {
    const v = rec.values[i];
    const name = tpl.names[i] as string;
    if (v === undefined) continue;
    if (v instanceof Uint8Array) f[name] = hex(v);
    else if (tpl.kinds[i] === Kind.Ipv4) f[name] = ipv4ToString(v as number);
    else if (typeof v === 'number' && Number.isInteger(v) && tpl.kinds[i] !== Kind.Float) f[name] = BigInt(v);
    else f[name] = typeof v === 'string' ? v.replace(/\0+$/, '') : v;
  }
  return f;
}
