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
import { TalkerTable } from './talkers.js';

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

/** One level of the series tree: dimension value -> next level, or -> Sum at the last dimension. */
type Level = Map<string, Level | Sum>;

export class Aggregator {
  private readonly opts: AggregateOptions;
  /**
   * Series as a tree of Maps, one level per dimension: each lookup uses a value string the record
   * already holds (or a cached small-number text), where one concatenated key would be a fresh
   * string to hash on every record.
   */
  private tree: Level = new Map();
  private series = 0;
  private other: Sum | undefined;
  private readonly talkers: TalkerTable[];
  private readonly isTag: boolean[];
  /** Counted flows since the last flush (for stats). */
  flowsIn = 0;
  overflowed = 0;

  constructor(opts: AggregateOptions) {
    this.opts = opts;
    this.isTag = opts.dimensions.map((d) => d === 'exporter' || d === 'version');
    this.talkers = opts.topBy.map(() => new TalkerTable(opts.maxTalkers));
  }

  private seriesFor(r: FlowRecord): Sum {
    const dims = this.opts.dimensions;
    const n = dims.length;
    if (n === 0) return this.otherOrNew([]);
    let level = this.tree;
    for (let i = 0; i < n; i++) {
      const d = dims[i] as Dimension;
      const v = this.isTag[i] ? (r.tags[d] ?? '') : text(r.fields[d]);
      const next = level.get(v);
      if (next !== undefined) {
        if (i === n - 1) return next as Sum;
        level = next as Level;
        continue;
      }
      // a new series: within budget it gets its own branch, beyond it the "other" bucket
      if (this.series >= this.opts.maxSeries - 1) {
        this.overflowed++;
        return this.otherOrNew(null);
      }
      const values: string[] = [];
      for (let k = 0; k < n; k++) {
        const dk = dims[k] as Dimension;
        values.push(this.isTag[k] ? (r.tags[dk] ?? '') : text(r.fields[dk]));
      }
      for (let k = i; k < n - 1; k++) {
        const child: Level = new Map();
        level.set(values[k] as string, child);
        level = child;
      }
      const tags: Record<string, string> = {};
      dims.forEach((dim, k) => (tags[dim] = values[k] as string));
      const sum: Sum = { tags, bytes: 0, packets: 0, flows: 0 };
      level.set(values[n - 1] as string, sum);
      this.series++;
      return sum;
    }
    return this.otherOrNew(null);
  }

  /** The overflow bucket (null), or with no dimensions at all the single total series ([]). */
  private otherOrNew(values: string[] | null): Sum {
    if (!this.other) {
      const tags: Record<string, string> = {};
      if (values === null) for (const d of this.opts.dimensions) tags[d] = OTHER;
      this.other = { tags, bytes: 0, packets: 0, flows: 0 };
    }
    return this.other;
  }

  add(r: FlowRecord): void {
    const f = r.fields;
    const rateV = f['sampling_rate'];
    const rate = typeof rateV === 'bigint' && rateV > 0n ? Number(rateV) : 1;
    const bytes = scaled(f['bytes'], rate);
    const packets = scaled(f['packets'], rate);
    this.flowsIn++;
    const s = this.seriesFor(r);
    s.bytes += bytes;
    s.packets += packets;
    s.flows += 1;
    const topBy = this.opts.topBy;
    for (let k = 0; k < topBy.length; k++) {
      const addr = f[topBy[k] as TalkerKey];
      if (typeof addr === 'string' && addr) (this.talkers[k] as TalkerTable).add(addr, bytes, packets);
    }
  }

  private *allSeries(level: Level = this.tree): Generator<Sum> {
    for (const v of level.values()) {
      if (v instanceof Map) yield* this.allSeries(v);
      else yield v;
    }
  }

  /**
   * Closes the interval: `flow_agg` per dimension tuple and `flow_top` per talker key (top N by
   * bytes, then one "other" row with the rest), all stamped with the interval start.
   */
  flush(intervalStart: number, collector: string): FlowRecord[] {
    const out: FlowRecord[] = [];
    const fields = (s: { bytes: number; packets: number; flows: number }) => ({ bytes: BigInt(Math.round(s.bytes)), packets: BigInt(Math.round(s.packets)), flows: BigInt(Math.round(s.flows)) });
    for (const s of this.allSeries()) out.push(makeRecord('flow', 'flow_agg', { collector, ...s.tags }, fields(s), intervalStart, 'collector'));
    if (this.other) out.push(makeRecord('flow', 'flow_agg', { collector, ...this.other.tags }, fields(this.other), intervalStart, 'collector'));
    this.opts.topBy.forEach((by, k) => {
      const table = this.talkers[k] as TalkerTable;
      const { top, other } = table.top(this.opts.topN);
      top.forEach((t, i) => out.push(makeRecord('flow', 'flow_top', { collector, by, talker: t.talker }, { ...fields(t), rank: BigInt(i + 1) }, intervalStart, 'collector')));
      if (other.flows > 0) out.push(makeRecord('flow', 'flow_top', { collector, by, talker: OTHER }, fields(other), intervalStart, 'collector'));
      table.reset();
    });
    this.tree = new Map();
    this.series = 0;
    this.other = undefined;
    this.flowsIn = 0;
    return out;
  }
}
