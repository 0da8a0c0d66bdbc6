/**
 * Per-template normalization plan, built once per template: which schema name each element gets,
 * how its value converts, where the time and sampling elements sit, and a compiled function that
 * builds the Record's fields with literal property names (one hidden class per template instead of
 * a megamorphic keyed store per field).
 */
import type { Fields } from '../../src/record/record.js';
import { big } from '../../src/record/bigint.js';
import { ipv4ToString } from '../../src/wire/reader.js';
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
}

/** IANA element id -> agreed schema name (everything else keeps its snake_case IANA name). */
const SCHEMA: ReadonlyMap<number, string> = new Map([
  [1, 'bytes'], [2, 'packets'], [4, 'proto'], [5, 'tos'], [6, 'tcp_flags'], [7, 'src_port'], [11, 'dst_port'],
  [8, 'src_addr'], [27, 'src_addr'], [12, 'dst_addr'], [28, 'dst_addr'], [15, 'next_hop'], [62, 'next_hop'],
  [10, 'in_if'], [14, 'out_if'], [16, 'src_as'], [17, 'dst_as'], [58, 'vlan'], [243, 'vlan'],
]);
const TIME_CONV: ReadonlyMap<number, Conv> = new Map([
  [22, Conv.UptimeStart], [21, Conv.UptimeEnd], [150, Conv.AbsStart], [151, Conv.AbsEnd], [152, Conv.AbsStart],
  [153, Conv.AbsEnd], [154, Conv.AbsStart], [155, Conv.AbsEnd], [156, Conv.AbsStart], [157, Conv.AbsEnd],
  [158, Conv.DeltaStart], [159, Conv.DeltaEnd],
]);
/** Elements that carry or point at a sampling configuration (RFC 7012 §5.7, RFC 5477, RFC 3954 §8). */
const SAMPLER_ID = 48;
const SELECTOR_ID = 302;

export interface Plan {
  names: string[];
  convs: Uint8Array;
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

export function planFor(tpl: CompiledTemplate): Plan {
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
  const rateIdx = { interval: at(34), random: at(50), pktInterval: at(305), pktSpace: at(306), size: at(309), population: at(310) };
  const timeIdx: number[] = [];
  convs.forEach((c, i) => {
    if (c >= Conv.UptimeStart && c <= Conv.DeltaEnd) timeIdx.push(i);
  });
  const plan: Plan = {
    names,
    convs,
    samplerIdx: sampler >= 0 ? sampler : at(SELECTOR_ID),
    inIfIdx: at(10),
    rateIdx,
    hasRate: Object.values(rateIdx).some((i) => i >= 0),
    build: compileBuild(names, convs),
    timeIdx,
  };
  tpl.plan = plan;
  return plan;
}

type Helpers = { big: (v: number) => bigint; ip: (v: number) => string; hex: (b: Uint8Array) => string };

/**
 * Generated field builder. Property names are JSON-quoted element names (from our table, or
 * `ie_<n>` / `e<n>_<n>` / `scope_<n>` made of digits): no wire text reaches the source.
 */
function compileBuild(names: string[], convs: Uint8Array): (v: Value[]) => Fields {
  let src = 'const f = {};\nlet x;\n';
  const seen = new Set<string>();
  for (let i = 0; i < convs.length; i++) {
    const c = convs[i] as Conv;
    const name = names[i] as string;
    let expr: string;
    if (c === Conv.Int) expr = "typeof x === 'bigint' ? x : h.big(x)";
    else if (c === Conv.Ipv4) expr = 'h.ip(x)';
    else if (c === Conv.Hex) expr = 'h.hex(x)';
    else if (c === Conv.Plain) expr = 'x';
    else continue;
    // the first occurrence wins when a template repeats an element
    if (seen.has(name)) continue;
    seen.add(name);
    src += `x = v[${i}];\nif (x !== undefined) f[${JSON.stringify(name)}] = ${expr};\n`;
  }
  src += 'return f;';
  const factory = new Function('h', `return function buildFields(v) {\n${src}\n};`) as (h: Helpers) => (v: Value[]) => Fields;
  return factory({ big, ip: ipv4ToString, hex });
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
  const interval = pick(v, x.interval) ?? pick(v, x.random);
  if (interval !== undefined && interval > 0) return interval;
  const pi = pick(v, x.pktInterval);
  const ps = pick(v, x.pktSpace);
  // systematic count-based: select pi packets out of every pi + ps
  if (pi !== undefined && ps !== undefined && pi > 0) return (pi + ps) / pi;
  const size = pick(v, x.size);
  const pop = pick(v, x.population);
  // random n-out-of-N: samplingSize out of samplingPopulation
  if (size !== undefined && pop !== undefined && size > 0) return pop / size;
  return undefined;
}

