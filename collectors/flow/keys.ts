/**
 * What aggregation reads of one flow, in the form cheapest to hash: numbers where the wire has
 * numbers (interfaces, ports, IPv4 addresses as uint32), text only where it must be text (IPv6,
 * exporter). Text for tags is made once per series at flush, not once per flow.
 *
 * Two producers fill the same keys: `keysFromRecord` from any flow Record (v5, sFlow, tests) and
 * `keysFromData` straight from a decoded v9/IPFIX data record, so the hot path never builds a
 * Record it would throw away when raw export is off. A test holds the two to the same result.
 */
import type { FieldValue, FlowRecord } from '../../src/record/record.js';
import { ipv4ToString } from '../../src/wire/reader.js';
import { ip6KeyFromText, ip6KeyText, isIp6Key } from '../../src/wire/ip6key.js';
import type { DataRecord, Value } from '../netflow/compile.js';
import { memoFor, type OptionsState } from '../netflow/normalize.js';
import { Conv, hex, Pick, planFor, sourceValue, type Plan, type Source } from '../netflow/plan.js';
import type { FlowSample } from '../sflow/types.js';

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
/** DIMENSIONS from here on are Record fields (exporter and version are tags). */
const FIRST_FIELD_DIM = 2;

export class FlowKeys {
  /** Indexed like DIMENSIONS, then one slot per mapped dimension (`mapped`, fields.ts). */
  readonly dims: Key[];
  /** Names of the user-mapped dimensions; their keys are the Record field's value (addresses as text). */
  readonly mapped: readonly string[];
  /** Unscaled volumes and the "1 in N" they were sampled at. */
  bytes = 0;
  packets = 0;
  rate = 1;
  /**
   * False when the flow came with no sampling rate (`rate` is then 1): sampling.ts applies the
   * configured one. Not enumerable: it is not part of what the two producers must agree on, since
   * a v9/IPFIX Record prints 1 for an unknown rate and keysFromRecord cannot tell it from a real 1.
   */
  declare rateKnown: boolean;

  constructor(mapped: readonly string[] = []) {
    Object.defineProperty(this, 'rateKnown', { value: true, writable: true, enumerable: false });
    this.mapped = mapped;
    this.dims = new Array<Key>(DIMENSIONS.length + mapped.length).fill('');
  }
}

/** Decimal text of 0..65535, made once: interface indexes, protocols, ports, 16-bit ASNs. */
const SMALL_TEXT: readonly string[] = Array.from({ length: 65536 }, (_, i) => String(i));

/** Tag text of dimension `d`'s key: what the Record's field would have printed. */
export function keyText(d: number, k: Key): string {
  if (typeof k === 'string') return isIp6Key(k) ? ip6KeyText(k) : k;
  if (ADDRESS_INDEX[d]) return ipv4ToString(k);
  return Number.isInteger(k) && k >= 0 && k < 65536 ? (SMALL_TEXT[k] as string) : String(k);
}

function volume(v: FieldValue | Value): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Key of a non-address value, so that keyText(key) === the text the Record field would give. */
function valueKey(v: FieldValue | Value): Key {
  if (v === undefined) return '';
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : String(v);
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return hex(v);
  return String(v);
}

/** Dotted-quad text to uint32, or -1 unless it is canonical (what ipv4ToString prints). */
export function parseIpv4(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let out = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      out = out * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      // no leading zeros: "010" is not what ipv4ToString prints
      if (digits > 0 && part === 0) return -1;
      part = part * 10 + (c - 48);
      if (part > 255 || ++digits > 3) return -1;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return out * 256 + part;
}

/** Key of address text: IPv4 as uint32, IPv6 as its byte key (src/wire/ip6key.ts), else the text. */
export function addressKey(v: FieldValue | undefined): Key {
  if (typeof v !== 'string') return valueKey(v);
  const n = parseIpv4(v);
  return n >= 0 ? n : (ip6KeyFromText(v) ?? v);
}

/** Keys of any flow Record (v5, sFlow, raw). Fills and returns `out`. */
export function keysFromRecord(r: FlowRecord, out: FlowKeys): FlowKeys {
  const f = r.fields;
  const d = out.dims;
  // named loads, in DIMENSIONS order: a keyed loop over the names is a megamorphic lookup per field
  d[0] = r.tags['exporter'] ?? '';
  d[1] = r.tags['version'] ?? '';
  d[2] = valueKey(f['in_if']);
  d[3] = valueKey(f['out_if']);
  d[4] = valueKey(f['proto']);
  d[5] = valueKey(f['src_as']);
  d[6] = valueKey(f['dst_as']);
  d[7] = valueKey(f['src_port']);
  d[8] = valueKey(f['dst_port']);
  d[9] = valueKey(f['tos']);
  d[10] = valueKey(f['vlan']);
  d[11] = addressKey(f['next_hop']);
  d[12] = addressKey(f['src_addr']);
  d[13] = addressKey(f['dst_addr']);
  for (let j = 0; j < out.mapped.length; j++) d[DIMENSIONS.length + j] = valueKey(f[out.mapped[j] as string]);
  const rate = f['sampling_rate'];
  out.rateKnown = typeof rate === 'bigint' && rate > 0n;
  out.rate = out.rateKnown ? Number(rate) : 1;
  out.bytes = volume(f['bytes']);
  out.packets = volume(f['packets']);
  return out;
}

/** Per template, for each field dimension and the volumes: where the Record's field comes from. */
interface DimPlan {
  /** Value index of a single-element field, -1 when absent, -2 when picked per record (`src`). */
  idx: Int16Array;
  src: (Source | undefined)[];
  bytes: Source | undefined;
  packets: Source | undefined;
  /** Mapped dimensions, in FlowKeys.mapped order. */
  mapped: (Source | undefined)[];
}

function dimPlan(plan: Plan, mapped: readonly string[]): DimPlan {
  // kept on the plan (one property load per record, not a WeakMap lookup)
  let p = plan.keysPlan as DimPlan | undefined;
  // one collector's templates are compiled with one mapping, so a plan meets one mapped-name list
  if (p && p.mapped.length === mapped.length) return p;
  const idx = new Int16Array(DIMENSIONS.length).fill(-1);
  const src: (Source | undefined)[] = DIMENSIONS.map((d) => plan.sources.get(d));
  for (let d = FIRST_FIELD_DIM; d < DIMENSIONS.length; d++) {
    const s = src[d];
    if (s) idx[d] = s.pick === Pick.First ? (s.idx[0] as number) : -2;
  }
  p = { idx, src, bytes: plan.sources.get('bytes'), packets: plan.sources.get('packets'), mapped: mapped.map((m) => plan.sources.get(m)) };
  plan.keysPlan = p;
  return p;
}

/**
 * Keys of a decoded v9/IPFIX data record without building its Record; the same as
 * `keysFromRecord(normalizeData(rec, ...))`.
 */
export function keysFromData(rec: DataRecord, exporter: string, state: OptionsState, out: FlowKeys): FlowKeys {
  const plan = planFor(rec.tpl);
  const dp = dimPlan(plan, out.mapped);
  const v = rec.values;
  const memo = memoFor(rec.hdr, exporter, state);
  out.dims[0] = exporter;
  out.dims[1] = memo.version;
  for (let d = FIRST_FIELD_DIM; d < DIMENSIONS.length; d++) {
    const i = dp.idx[d] as number;
    // IPv4 stays the uint32 the decoder read: valueKey keeps numbers as they are
    const x = i >= 0 ? v[i] : i === -1 ? '' : sourceValue(dp.src[d], v);
    out.dims[d] = typeof x === 'number' || typeof x === 'string' ? x : valueKey(x);
  }
  for (let j = 0; j < dp.mapped.length; j++) {
    const src = dp.mapped[j];
    const x = sourceValue(src, v);
    // the Record prints a mapped IPv4 address as text, and so must its key
    const c = src ? plan.convs[src.idx[0] as number] : undefined;
    out.dims[DIMENSIONS.length + j] = c === Conv.Ipv4 && typeof x === 'number' ? ipv4ToString(x) : c === Conv.Ipv6 && typeof x === 'string' ? ip6KeyText(x) : valueKey(x);
  }
  const rate = Math.round(state.rateFor(plan, v, memo.rates));
  out.rateKnown = rate > 0;
  out.rate = Math.max(1, rate);
  out.bytes = volume(sourceValue(dp.bytes, v));
  out.packets = volume(sourceValue(dp.packets, v));
  return out;
}

/**
 * Keys of an sFlow flow sample without building its Record; the same as
 * `keysFromRecord(<its flow Record from normalizeSflow>)`.
 */
export function keysFromSflow(s: FlowSample, exporter: string, out: FlowKeys): FlowKeys {
  const p = s.packet;
  const d = out.dims;
  d[0] = exporter;
  d[1] = 'sflow5';
  // memo §5 "interface": format 0 is an ifIndex; 1 (discard reason) and 2 (count) are not
  d[2] = s.input.format === 0 ? s.input.value : '';
  d[3] = s.output.format === 0 ? s.output.value : '';
  d[4] = p.proto ?? '';
  d[5] = p.srcAs ?? '';
  d[6] = p.dstAs ?? '';
  d[7] = p.srcPort ?? '';
  d[8] = p.dstPort ?? '';
  d[9] = p.tos ?? '';
  d[10] = p.srcVlan ?? p.vlan ?? '';
  d[11] = addressKey(p.nextHop || p.bgpNextHop || undefined);
  d[12] = p.srcKey ?? addressKey(p.srcAddr);
  d[13] = p.dstKey ?? addressKey(p.dstAddr);
  for (let j = DIMENSIONS.length; j < d.length; j++) d[j] = ''; // sFlow samples carry no mapped elements
  out.rateKnown = s.samplingRate > 0;
  out.rate = s.samplingRate || 1;
  out.bytes = p.frameLength ?? p.ipLength ?? 0;
  out.packets = 1;
  return out;
}
