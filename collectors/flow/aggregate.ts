/**
 * Per-interval aggregation under a hard series budget. Raw flows cannot go to InfluxDB at line rate
 * and 5-tuples explode series cardinality, so flows are summed by configured dimensions (tags of
 * `flow_agg`) with volumes scaled by the sampling rate, and the heaviest talkers per interval are
 * kept in `flow_top`. Whatever does not fit the budget lands in an "other" bucket, so totals stay
 * exact while the number of series per interval never exceeds the budget.
 *
 * Flows are counted in the interval they arrive in (exporters report a flow after it ends or at an
 * active timeout), which keeps a late or clock-skewed exporter from reopening closed intervals.
 */
import { makeRecord, type FieldValue, type FlowRecord } from '../../src/record/record.js';

export const DIMENSIONS = [
  'exporter', 'version', 'in_if', 'out_if', 'proto', 'src_as', 'dst_as', 'src_port', 'dst_port', 'tos', 'vlan',
  'next_hop', 'src_addr', 'dst_addr',
] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export const TALKER_KEYS = ['src_addr', 'dst_addr'] as const;
export type TalkerKey = (typeof TALKER_KEYS)[number];

export interface AggregateOptions {
  dimensions: readonly Dimension[];
  /** Most `flow_agg` series per interval, the "other" bucket included. */
  maxSeries: number;
  topN: number;
  topBy: readonly TalkerKey[];
  /** Distinct talkers remembered per interval (memory bound); later ones count toward "other". */
  maxTalkers: number;
}

export const OTHER = 'other';

interface Sum {
  tags: Record<string, string>;
  bytes: number;
  packets: number;
  flows: number;
}

/** Decimal text of 0..65535, made once: interface indexes, protocols, ports, 16-bit ASNs. */
const SMALL_TEXT: readonly string[] = Array.from({ length: 65536 }, (_, i) => String(i));

/** Tag text of a dimension value; absent values become '' (then omitted by line protocol). */
function text(v: FieldValue | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' && v >= 0n && v < 65536n) return SMALL_TEXT[Number(v)] as string;
  return String(v);
}

function scaled(v: FieldValue | undefined, rate: number): number {
  return typeof v === 'bigint' ? Number(v) * rate : typeof v === 'number' ? v * rate : 0;
}

export class Aggregator {
  private readonly opts: AggregateOptions;
  private sums = new Map<string, Sum>();
  /** Counted flows since the last flush (for stats). */
  flowsIn = 0;
  overflowed = 0;

  /** Dimension tuple -> map key, compiled once (the dimension names come from the schema's enum). */
  private readonly keyOf: (r: FlowRecord) => string;
  private talkerMaps: Map<string, Sum>[];

  constructor(opts: AggregateOptions) {
    this.opts = opts;
    const parts = opts.dimensions.map((d) => {
      if (!(DIMENSIONS as readonly string[]).includes(d)) throw new Error(`unknown dimension ${d}`);
      return d === 'exporter' || d === 'version' ? `(r.tags.${d} ?? '')` : `t(r.fields.${d})`;
    });
    const body = `return function keyOf(r) { return ${parts.length ? parts.join(" + '\\u0001' + ") : "''"}; };`;
    this.keyOf = (new Function('t', body) as (t: typeof text) => (r: FlowRecord) => string)(text);
    this.talkerMaps = opts.topBy.map(() => new Map());
  }

  add(r: FlowRecord): void {
    const f = r.fields;
    const rateV = f['sampling_rate'];
    const rate = typeof rateV === 'bigint' && rateV > 0n ? Number(rateV) : 1;
    const bytes = scaled(f['bytes'], rate);
    const packets = scaled(f['packets'], rate);
    this.flowsIn++;
    const dims = this.opts.dimensions;
    const key = this.keyOf(r);
    let s = this.sums.get(key);
    if (!s) {
      if (this.sums.size >= this.opts.maxSeries - 1) {
        this.overflowed++;
        s = this.otherSum(this.sums, OTHER, dims);
      } else {
        const tags: Record<string, string> = {};
        const parts = key.split('\u0001');
        dims.forEach((d, i) => (tags[d] = parts[i] ?? ''));
        s = { tags, bytes: 0, packets: 0, flows: 0 };
        this.sums.set(key, s);
      }
    }
    s.bytes += bytes;
    s.packets += packets;
    s.flows += 1;
    const topBy = this.opts.topBy;
    for (let k = 0; k < topBy.length; k++) {
      const addr = f[topBy[k] as TalkerKey];
      if (typeof addr !== 'string' || !addr) continue;
      const m = this.talkerMaps[k] as Map<string, Sum>;
      let t = m.get(addr);
      if (!t) {
        if (m.size >= this.opts.maxTalkers) t = this.otherSum(m, `\u0000${OTHER}`, []);
        else m.set(addr, (t = { tags: { talker: addr }, bytes: 0, packets: 0, flows: 0 }));
      }
      t.bytes += bytes;
      t.packets += packets;
      t.flows += 1;
    }
  }

  private otherSum(m: Map<string, Sum>, key: string, dims: readonly string[]): Sum {
    let s = m.get(key);
    if (!s) {
      const tags: Record<string, string> = {};
      for (const d of dims) tags[d] = OTHER;
      s = { tags, bytes: 0, packets: 0, flows: 0 };
      m.set(key, s);
    }
    return s;
  }

  /**
   * Closes the interval: `flow_agg` per dimension tuple and `flow_top` per talker key (top N by
   * bytes, then one "other" row with the rest), all stamped with the interval start.
   */
  flush(intervalStart: number, collector: string): FlowRecord[] {
    const out: FlowRecord[] = [];
    const fields = (s: Sum) => ({ bytes: BigInt(Math.round(s.bytes)), packets: BigInt(Math.round(s.packets)), flows: BigInt(Math.round(s.flows)) });
    for (const s of this.sums.values()) out.push(makeRecord('flow', 'flow_agg', { collector, ...s.tags }, fields(s), intervalStart, 'collector'));
    this.opts.topBy.forEach((by, k) => {
      const m = this.talkerMaps[k] as Map<string, Sum>;
      const all = [...m.entries()].sort((a, b) => b[1].bytes - a[1].bytes);
      const rest: Sum = { tags: { talker: OTHER }, bytes: 0, packets: 0, flows: 0 };
      let ranked = 0;
      for (const [key, s] of all) {
        if (ranked < this.opts.topN && !key.startsWith('\u0000')) {
          ranked++;
          out.push(makeRecord('flow', 'flow_top', { collector, by, talker: s.tags['talker'] }, { ...fields(s), rank: BigInt(ranked) }, intervalStart, 'collector'));
        } else {
          rest.bytes += s.bytes;
          rest.packets += s.packets;
          rest.flows += s.flows;
        }
      }
      if (rest.flows > 0) out.push(makeRecord('flow', 'flow_top', { collector, by, talker: OTHER }, fields(rest), intervalStart, 'collector'));
    });
    this.sums = new Map();
    this.talkerMaps = this.opts.topBy.map(() => new Map());
    this.flowsIn = 0;
    return out;
  }
}
