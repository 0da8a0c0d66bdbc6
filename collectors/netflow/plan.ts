/**
 * Per-template normalization plan, built once per template: which schema name each element gets,
 * how its value converts, where the time and sampling elements sit, and a compiled function that
 * builds the Record's fields with literal property names (one hidden class per template instead of
 * a megamorphic keyed store per field).
 */
import type { Fields } from '../../src/record/record.js';
import { big } from '../../src/record/bigint.js';
import { ipv4ToString } from '../../src/wire/reader.js';
import { IP6_ZERO_KEY, ip6KeyText } from '../../src/wire/ip6key.js';
import type { CompiledTemplate, Value } from './compile.js';
import { Kind } from './elements.js';

export enum Conv {
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
  /** An IPv6 key (src/wire/ip6key.ts) printed as text. */
  Ipv6 = 11,
}

/** IANA element id -> agreed schema name (everything else keeps its snake_case IANA name). */
const SCHEMA: ReadonlyMap<number, string> = new Map([
  [1, 'bytes'], [2, 'packets'], [4, 'proto'], [5, 'tos'], [6, 'tcp_flags'], [7, 'src_port'], [11, 'dst_port'],
  [8, 'src_addr'], [27, 'src_addr'], [12, 'dst_addr'], [28, 'dst_addr'], [15, 'next_hop'], [62, 'next_hop'],
  [18, 'bgp_next_hop'], [63, 'bgp_next_hop'],
  [10, 'in_if'], [14, 'out_if'], [16, 'src_as'], [17, 'dst_as'], [58, 'vlan'], [243, 'vlan'],
]);
/**
 * Address fields a dual-stack template may carry twice (IPv4 and IPv6 element), the unused family
 * zero-filled (MikroTik RouterOS, IOS-XR `record ... ipv4-ipv6-fields`): the non-zero one is the
 * record's address, whichever comes first in the template.
 */
const DUAL_STACK: ReadonlySet<string> = new Set(['src_addr', 'dst_addr', 'next_hop', 'bgp_next_hop']);
/**
 * Volume when the delta counters (IE 1/2) are absent, first present group wins: the flow's total
 * counter (IE 85/86: yaf, firewalls that report a flow once, at its end), else the sum of the
 * bidirectional initiator + responder counters (IE 231+232 octets, 298+299 packets: Cisco ASA
 * NSEL, other firewall event exports). The source elements keep their own names as well.
 */
const VOLUME_FALLBACK: ReadonlyMap<string, readonly (readonly number[])[]> = new Map([
  ['bytes', [[85], [231, 232]]],
  ['packets', [[86], [298, 299]]],
]);
const TIME_CONV: ReadonlyMap<number, Conv> = new Map([
  [22, Conv.UptimeStart], [21, Conv.UptimeEnd], [150, Conv.AbsStart], [151, Conv.AbsEnd], [152, Conv.AbsStart],
  [153, Conv.AbsEnd], [154, Conv.AbsStart], [155, Conv.AbsEnd], [156, Conv.AbsStart], [157, Conv.AbsEnd],
  [158, Conv.DeltaStart], [159, Conv.DeltaEnd],
]);
/** Elements that carry or point at a sampling configuration (RFC 7012 §5.7, RFC 5477, RFC 3954 §8). */
const SAMPLER_ID = 48;
const SELECTOR_ID = 302;

/** How a schema field is taken from a template's values; resolved once per template. */
export enum Pick {
  /** The first element of that name (a repeat of the element is ignored). */
  First = 0,
  /** The first non-zero of several (dual-stack addresses); all zero or absent: the first present. */
  NonZero = 1,
  /** The sum of the present ones (bidirectional counters). */
  Sum = 2,
}

export interface Source {
  /** Value indexes, in template order. */
  idx: number[];
  pick: Pick;
}

export interface Plan {
  names: string[];
  convs: Uint8Array;
  /** Schema fields (SCHEMA names and the volume fallbacks) present in this template. */
  sources: ReadonlyMap<string, Source>;
  /** Mapped fields that are tags of the raw Record (fields.ts), not fields. */
  tags: { name: string; idx: number }[];
  /** Field indexes of sampling-related elements, -1 when absent. */
  samplerIdx: number;
  /** Index of ingressInterface (IE 10), for per-interface sampling rates; -1 when absent. */
  inIfIdx: number;
  rateIdx: { interval: number; random: number; pktInterval: number; pktSpace: number; size: number; population: number };
  hasRate: boolean;
  /** Builds the fields of everything but times and sampling rate. */
  build: (v: Value[]) => Fields;
  /** Indexes of time elements (their conv says which end and how). */
  timeIdx: number[];
}

/**
 * Plans by template, beside the decoder's objects rather than on them: the decoder knows nothing of
 * normalization, and a template withdrawn or evicted takes its plan (and the producer's fill) with it.
 */
const PLANS = new WeakMap<CompiledTemplate, Plan>();

/** The template's plan, built at its first data record; callers look it up once per data set. */
export function planFor(tpl: CompiledTemplate): Plan {
  const known = PLANS.get(tpl);
  if (known) return known;
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
    else if (kind === Kind.Ipv6) convs[i] = Conv.Ipv6;
    else if (kind === Kind.Octets) convs[i] = Conv.Hex;
    else if (kind === Kind.Unsigned || kind === Kind.Signed || kind >= Kind.DateSeconds && kind <= Kind.DateNanos) convs[i] = Conv.Int;
    else convs[i] = Conv.Plain;
  }
  const sampler = at(SAMPLER_ID);
  const rateIdx = { interval: at(34), random: at(50), pktInterval: at(305), pktSpace: at(306), size: at(309), population: at(310) };
  const sources = schemaSources(tpl, names, convs, at);
  const tags: { name: string; idx: number }[] = [];
  for (let i = 0; i < n; i++) {
    const m = tpl.mapped[i];
    if (!m || !isValue(convs[i] as Conv)) continue;
    // a mapped dimension is a source like the schema's, so the keys path finds it the same way
    if (m.role === 'dimension' && !sources.has(m.name)) sources.set(m.name, { idx: [i], pick: Pick.First });
    else if (m.role === 'tag' && !tags.some((t) => t.name === m.name)) tags.push({ name: m.name, idx: i });
  }
  const timeIdx: number[] = [];
  convs.forEach((c, i) => {
    if (c >= Conv.UptimeStart && c <= Conv.DeltaEnd) timeIdx.push(i);
  });
  const plan: Plan = {
    names,
    convs,
    sources,
    tags,
    samplerIdx: sampler >= 0 ? sampler : at(SELECTOR_ID),
    inIfIdx: at(10),
    rateIdx,
    hasRate: Object.values(rateIdx).some((i) => i >= 0),
    build: compileBuild(names, convs, sources, new Set(tpl.mapped.flatMap((m) => (m?.role === 'tag' ? [m.name] : [])))),
    timeIdx,
  };
  PLANS.set(tpl, plan);
  return plan;
}

const isValue = (c: Conv): boolean => c === Conv.Int || c === Conv.Ipv4 || c === Conv.Ipv6 || c === Conv.Hex || c === Conv.Plain;

function schemaSources(tpl: CompiledTemplate, names: string[], convs: Uint8Array, at: (id: number) => number): Map<string, Source> {
  const sources = new Map<string, Source>();
  for (let i = 0; i < names.length; i++) {
    const name = SCHEMA.get(tpl.ianaIds[i] as number);
    if (name === undefined || !isValue(convs[i] as Conv)) continue;
    const s = sources.get(name);
    if (!s) sources.set(name, { idx: [i], pick: Pick.First });
    else if (DUAL_STACK.has(name) && s.idx.length < 4) {
      s.idx.push(i);
      s.pick = Pick.NonZero;
    }
  }
  for (const [name, groups] of VOLUME_FALLBACK) {
    if (sources.has(name)) continue;
    for (const g of groups) {
      const idx = g.map(at).filter((i) => i >= 0 && convs[i] === Conv.Int).sort((a, b) => a - b);
      if (!idx.length) continue;
      sources.set(name, { idx, pick: idx.length > 1 ? Pick.Sum : Pick.First });
      break;
    }
  }
  return sources;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Sum of two counter values; an absent or non-integer one counts as absent. */
export function addCounters(a: Value, b: Value): Value {
  const x = typeof a === 'number' || typeof a === 'bigint' ? a : undefined;
  const y = typeof b === 'number' || typeof b === 'bigint' ? b : undefined;
  if (x === undefined) return y;
  if (y === undefined) return x;
  if (typeof x === 'number' && typeof y === 'number' && x + y <= MAX_SAFE) return x + y;
  const s = BigInt(x) + BigInt(y);
  return s <= BigInt(MAX_SAFE) ? Number(s) : s;
}

/** Zero or absent: the unused family of a dual-stack template (0.0.0.0 is read as 0, :: as a key). */
export function isZero(x: Value): boolean {
  if (x === undefined || x === 0 || x === 0n || x === IP6_ZERO_KEY) return true;
  if (x instanceof Uint8Array) return x.every((b) => b === 0);
  return false;
}

/** The value a schema field takes in one record (the generated builder does the same inline). */
export function sourceValue(src: Source | undefined, v: Value[]): Value {
  if (!src) return undefined;
  const idx = src.idx;
  if (src.pick === Pick.First) return v[idx[0] as number];
  if (src.pick === Pick.Sum) return idx.reduce<Value>((acc, i) => addCounters(acc, v[i]), undefined);
  for (const i of idx) if (!isZero(v[i])) return v[i];
  for (const i of idx) if (v[i] !== undefined) return v[i];
  return undefined;
}

type Helpers = { big: (v: number) => bigint; ip: (v: number) => string; ip6: (k: string) => string; hex: (b: Uint8Array) => string; zero: (x: Value) => boolean; add: (a: Value, b: Value) => Value };

function convExpr(c: Conv): string | undefined {
  if (c === Conv.Int) return "typeof x === 'bigint' ? x : h.big(x)";
  if (c === Conv.Ipv4) return 'h.ip(x)';
  if (c === Conv.Ipv6) return 'h.ip6(x)';
  if (c === Conv.Hex) return 'h.hex(x)';
  if (c === Conv.Plain) return 'x';
  return undefined;
}

/** Source code that sets field `name` from `src` (same rules as sourceValue). */
function sourceCode(name: string, src: Source, convs: Uint8Array): string {
  const f = `f[${JSON.stringify(name)}]`;
  const idx = src.idx;
  const conv = (i: number): string => convExpr(convs[i] as Conv) as string;
  if (src.pick === Pick.First) return `x = v[${idx[0]}];\nif (x !== undefined) ${f} = ${conv(idx[0] as number)};\n`;
  if (src.pick === Pick.Sum) {
    const sum = idx.slice(1).reduce((acc, i) => `h.add(${acc}, v[${i}])`, `v[${idx[0]}]`);
    return `x = h.add(${sum}, undefined);\nif (x !== undefined) ${f} = typeof x === 'bigint' ? x : h.big(x);\n`;
  }
  const nonZero = idx.map((i) => `if (!h.zero(x = v[${i}])) ${f} = ${conv(i)};`);
  const present = idx.map((i) => `if ((x = v[${i}]) !== undefined) ${f} = ${conv(i)};`);
  return nonZero.concat(present).join('\nelse ') + '\n';
}

/**
 * Generated field builder. Property names are JSON-quoted element names (from our table, or
 * `ie_<n>` / `e<n>_<n>` / `scope_<n>` made of digits): no wire text reaches the source. A schema
 * field is written where its first source element sits, so fields keep template order.
 */
function compileBuild(names: string[], convs: Uint8Array, sources: ReadonlyMap<string, Source>, tagNames: ReadonlySet<string>): (v: Value[]) => Fields {
  let src = 'const f = {};\nlet x;\n';
  const seen = new Set<string>();
  const anchored = new Map<number, string[]>();
  for (const [name, s] of sources) anchored.set(s.idx[0] as number, [...(anchored.get(s.idx[0] as number) ?? []), name]);
  for (let i = 0; i < convs.length; i++) {
    const name = names[i] as string;
    const expr = convExpr(convs[i] as Conv);
    // the first occurrence wins when a template repeats an element
    if (expr !== undefined && !sources.has(name) && !tagNames.has(name) && !seen.has(name)) {
      seen.add(name);
      src += `x = v[${i}];\nif (x !== undefined) f[${JSON.stringify(name)}] = ${expr};\n`;
    }
    for (const s of anchored.get(i) ?? []) src += sourceCode(s, sources.get(s) as Source, convs);
  }
  src += 'return f;';
  const factory = new Function('h', `return function buildFields(v) {\n${src}\n};`) as (h: Helpers) => (v: Value[]) => Fields;
  return factory({ big, ip: ipv4ToString, ip6: ip6KeyText, hex, zero: isZero, add: addCounters });
}

export function num(v: Value): number | undefined {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
}

export function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] as number).toString(16).padStart(2, '0');
  return s;
}

function pick(v: Value[], i: number): number | undefined {
  return i >= 0 ? num(v[i]) : undefined;
}

/** Sampling rate ("1 in N") a record states itself, or undefined (RFC 7012 §5.7, RFC 5477 §8.2). */
export function ownRate(plan: Plan, v: Value[]): number | undefined {
  const x = plan.rateIdx;
  if (!plan.hasRate) return undefined;
  const si = pick(v, x.interval);
  const ri = pick(v, x.random);
  // a positive one of IE 34 / 50 wins over a 0 in the other
  const interval = si !== undefined && si > 0 ? si : ri !== undefined && ri > 0 ? ri : (si ?? ri);
  if (interval !== undefined && interval > 0) return interval;
  const pi = pick(v, x.pktInterval);
  const ps = pick(v, x.pktSpace);
  // systematic count-based: select pi packets out of every pi + ps
  if (pi !== undefined && ps !== undefined && pi > 0) return (pi + ps) / pi;
  const size = pick(v, x.size);
  const pop = pick(v, x.population);
  // random n-out-of-N: samplingSize out of samplingPopulation
  if (size !== undefined && pop !== undefined && size > 0) return pop / size;
  // an interval of 0 says "not sampled" (RFC 3954 §8 SAMPLING_INTERVAL, as the v5 header's 0): rate
  // 1, which also replaces a rate an earlier options record taught
  if (interval === 0) return 1;
  return undefined;
}


/** Tag text of a mapped tag value, as the Record field would have printed it. */
export function tagText(c: Conv, x: Value): string | undefined {
  if (x === undefined) return undefined;
  if (c === Conv.Ipv4 && typeof x === 'number') return ipv4ToString(x);
  if (c === Conv.Ipv6 && typeof x === 'string') return ip6KeyText(x);
  if (x instanceof Uint8Array) return hex(x);
  return typeof x === 'string' ? x.replace(/\0+$/, '') : String(x);
}
