/**
 * The one shape every decoder hands a flow over in (GoFlow2's "producer" step): a mutable, typed
 * view reused for every record of every protocol, so the aggregator, raw export and `netvigil
 * decode` read one shape and nothing is allocated per flow. Fields hold numbers where the wire has
 * numbers (IPv4 as uint32), an IPv6 address as its byte key (src/wire/ip6key.ts), '' when the
 * record lacks the field; text is made only where a point is written (`keyText`).
 *
 * Two resolution points are single on purpose, so policies hook in at one place:
 * `resolveRate` (the "1 in N" a flow's volumes are scaled by) and `timeOf` (a NetFlow flow's start
 * and end; sFlow has only the receive time).
 */
import { ipv4ToString } from '../../src/wire/reader.js';
import { ip6KeyText, isIp6Key } from '../../src/wire/ip6key.js';
import { Conv } from '../netflow/plan.js';

export const DIMENSIONS = [
  'exporter', 'version', 'in_if', 'out_if', 'proto', 'src_as', 'dst_as', 'src_port', 'dst_port', 'tos', 'vlan',
  'next_hop', 'src_addr', 'dst_addr',
] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export const TALKER_KEYS = ['src_addr', 'dst_addr'] as const;
export type TalkerKey = (typeof TALKER_KEYS)[number];

/** One dimension value: a number (IPv4 as uint32 in address dimensions), text, or '' when absent. */
export type Key = number | string;

/** Address dimensions, by DIMENSIONS index: their numeric keys are IPv4 addresses. */
const ADDRESS_INDEX: readonly boolean[] = DIMENSIONS.map((d) => d === 'next_hop' || d === 'src_addr' || d === 'dst_addr');
export const isAddressDim = (d: number): boolean => ADDRESS_INDEX[d] === true;

export class FlowView {
  exporter = '';
  /** '5', '9', '10' or 'sflow5'. */
  version = '';
  /** v5 engine type·256 + id, v9 source id, IPFIX observation domain, sFlow sub-agent id. */
  domain = 0;
  /** 4 or 6 by the source address; 0 when it is absent or not an address. */
  family = 0;
  src: Key = '';
  dst: Key = '';
  nextHop: Key = '';
  inIf: Key = '';
  outIf: Key = '';
  proto: Key = '';
  srcAs: Key = '';
  dstAs: Key = '';
  srcPort: Key = '';
  dstPort: Key = '';
  tos: Key = '';
  vlan: Key = '';
  /** Unscaled volumes and the resolved "1 in N" they were sampled at. */
  bytes = 0;
  packets = 0;
  rate = 1;
  /**
   * False when the flow came with no sampling rate (`rate` is then 1): sampling.ts applies the
   * configured one. Not enumerable: it is not part of what the view and a Record must agree on,
   * since a v9/IPFIX Record prints 1 for an unknown rate and cannot tell it from a real 1.
   */
  declare rateKnown: boolean;
  /** Unix ms; NaN when the record carries no such time. */
  startMs = NaN;
  endMs = NaN;
  /** User-mapped dimensions (fields.ts `as: dimension`), in `mappedNames` order. */
  readonly mapped: Key[];
  readonly mappedNames: readonly string[];

  constructor(mappedNames: readonly string[] = []) {
    Object.defineProperty(this, 'rateKnown', { value: true, writable: true, enumerable: false });
    this.mappedNames = mappedNames;
    this.mapped = new Array<Key>(mappedNames.length).fill('');
  }
}

/** Key of dimension `d` (DIMENSIONS index, then mapped dimensions). */
export function dimKey(v: FlowView, d: number): Key {
  switch (d) {
    case 0: return v.exporter;
    case 1: return v.version;
    case 2: return v.inIf;
    case 3: return v.outIf;
    case 4: return v.proto;
    case 5: return v.srcAs;
    case 6: return v.dstAs;
    case 7: return v.srcPort;
    case 8: return v.dstPort;
    case 9: return v.tos;
    case 10: return v.vlan;
    case 11: return v.nextHop;
    case 12: return v.src;
    case 13: return v.dst;
    default: return v.mapped[d - DIMENSIONS.length] ?? '';
  }
}

/** Sets dimension `d` (restoring a checkpoint's series keys, tests). */
export function setDim(v: FlowView, d: number, k: Key): void {
  switch (d) {
    case 0: v.exporter = String(k); break;
    case 1: v.version = String(k); break;
    case 2: v.inIf = k; break;
    case 3: v.outIf = k; break;
    case 4: v.proto = k; break;
    case 5: v.srcAs = k; break;
    case 6: v.dstAs = k; break;
    case 7: v.srcPort = k; break;
    case 8: v.dstPort = k; break;
    case 9: v.tos = k; break;
    case 10: v.vlan = k; break;
    case 11: v.nextHop = k; break;
    case 12: v.src = k; break;
    case 13: v.dst = k; break;
    default: v.mapped[d - DIMENSIONS.length] = k;
  }
}

/** Address family of an address key. */
export function familyOf(k: Key): number {
  return typeof k === 'number' ? 4 : isIp6Key(k) ? 6 : 0;
}

/** Decimal text of 0..65535, made once: interface indexes, protocols, ports, 16-bit ASNs. */
const SMALL_TEXT: readonly string[] = Array.from({ length: 65536 }, (_, i) => String(i));

/**
 * Tag text of dimension `d`'s key: what the Record's field would have printed. `address`: the
 * dimension holds addresses (the built-in ones by index; a mapped one when its elements are
 * addresses, collectors/flow/config.ts `mappedAddresses`), so a number is an IPv4 address.
 */
export function keyText(d: number, k: Key, address = ADDRESS_INDEX[d] === true): string {
  if (typeof k === 'string') return isIp6Key(k) ? ip6KeyText(k) : k;
  if (address) return ipv4ToString(k);
  return Number.isInteger(k) && k >= 0 && k < 65536 ? (SMALL_TEXT[k] as string) : String(k);
}

/**
 * THE sampling rate of a flow: the rate its exporter announced (the record's own elements, its
 * sampler's or interface's options data, the v5 header, the sFlow sample), 0 or unknown read as 1.
 * Every protocol's flows pass here once, after the rest of the view is filled.
 */
export function resolveRate(v: FlowView, announced: number): number {
  // the configured rates (sampling.ts) apply after this, in the collector's aggregate hook
  v.rateKnown = announced > 0;
  return Math.max(1, Math.round(announced));
}

/**
 * Absolute time of a sysUptime stamp (v5, v9 FIRST/LAST_SWITCHED, IPFIX IE 21/22): the signed
 * 32-bit difference from the uptime at export survives sysUptime wrapping after 49.7 days.
 */
export function uptimeToMs(exportMs: number, uptimeMs: number, t: number): number {
  return exportMs - ((uptimeMs - t) | 0);
}

/**
 * Absolute time (Unix ms) of one v9/IPFIX time element `t` converted as `conv` says: v9
 * sysUptime-relative (RFC 3954 §8) against the header's uptime; IPFIX absolute, delta (RFC 7011
 * §B.2, microseconds before export time) or sysUpTime with the exporter's
 * systemInitTimeMilliseconds from options (`uptimeMs` NaN when that is not known: NaN out).
 * Every NetFlow flow time passes here (v5 too); the producer compiles one call per time element
 * of a template, in template order, so a later element of the same end wins.
 */
export function timeOf(conv: Conv, t: number, exportMs: number, uptimeMs: number): number {
  if (conv === Conv.UptimeStart || conv === Conv.UptimeEnd) return uptimeMs !== uptimeMs ? NaN : uptimeToMs(exportMs, uptimeMs, t);
  if (conv === Conv.DeltaStart || conv === Conv.DeltaEnd) return exportMs - t / 1000;
  return t;
}
