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
import { makeRecord, type FlowRecord } from '../../src/record/record.js';
import { ip6KeyFromText } from '../../src/wire/ip6key.js';
import { dimKey, DIMENSIONS, FlowView, isAddressDim, keyText, setDim, type Dimension, type Key, type TalkerKey } from './view.js';
import { encodeTalkers, TalkerTable, type TalkerCopy, type TalkerSnapshot } from './talkers.js';
import { topOfCopy } from './toptalkers.js';

export { DIMENSIONS, TALKER_KEYS, type Dimension, type TalkerKey } from './view.js';

export interface AggregateOptions {
  /** Built-in DIMENSIONS and mapped dimension names (`mapped`). */
  dimensions: readonly string[];
  /** User-mapped dimensions, in FlowView.mappedNames order (their keys follow the built-in ones). */
  mapped?: readonly string[];
  /** Mapped dimensions of addresses (config.ts `mappedAddresses`): IPv4 keys are uint32 there too. */
  addresses?: readonly string[];
  /** Most `flow_agg` series per interval, the "other" bucket included. */
  maxSeries: number;
  topN: number;
  topBy: readonly TalkerKey[];
  /** Distinct talkers remembered per interval (memory bound); later ones count toward "other". */
  maxTalkers: number;
}

export const OTHER = 'other';

/** uint32 of dotted-quad text as ipv4ToString prints it (an earlier checkpoint's key), else undefined. */
function ipv4FromText(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const p = m.slice(1).map(Number);
  return p.every((x) => x <= 255) ? (((p[0] as number) * 256 + (p[1] as number)) * 256 + (p[2] as number)) * 256 + (p[3] as number) : undefined;
}

const sumFields = (s: { bytes: number; packets: number; flows: number }) => ({ bytes: BigInt(Math.round(s.bytes)), packets: BigInt(Math.round(s.packets)), flows: BigInt(Math.round(s.flows)) });

interface Sum {
  tags: Record<string, string>;
  bytes: number;
  packets: number;
  flows: number;
}

/** One level of the series tree: dimension key -> next level, or -> Sum at the last dimension. */
type Level = Map<Key, Level | Sum>;

/** An interval's sums as plain data, for the checkpoint (checkpoint.ts). */
export interface AggregateSnapshot {
  /** Per series: its keys in the order of the configured dimensions, then bytes, packets, flows. */
  series: { keys: Key[]; bytes: number; packets: number; flows: number }[];
  other: { bytes: number; packets: number; flows: number } | null;
  talkers: TalkerSnapshot[];
  /** Per talker table: talkers already written for this interval by an earlier flush. */
  written: Key[][];
}

export class Aggregator {
  private readonly opts: AggregateOptions;
  /**
   * Series as a tree of Maps, one level per dimension, keyed by the flow's own numbers and strings
   * (FlowView): a concatenated key would be a fresh string to build and hash on every flow.
   */
  private tree: Level = new Map();
  private series = 0;
  private other: Sum | undefined;
  private readonly talkers: TalkerTable[];
  /** DIMENSIONS index of each configured dimension and talker key. */
  private readonly dimIdx: number[];
  /** Per configured dimension: its keys are addresses. */
  private readonly dimAddr: boolean[];
  private readonly talkerIdx: number[];
  /** Per talker table: talkers a flush of this interval wrote already (a retained flush, a resume). */
  private written: Set<Key>[];
  /** Counted flows since the last flush (for stats). */
  flowsIn = 0;
  overflowed = 0;

  constructor(opts: AggregateOptions) {
    this.opts = opts;
    const mapped = opts.mapped ?? [];
    this.dimIdx = opts.dimensions.map((d) => {
      const i = DIMENSIONS.indexOf(d as Dimension);
      if (i >= 0) return i;
      if (!mapped.includes(d)) throw new Error(`unknown dimension ${d}`); // the config schema refuses it first
      return DIMENSIONS.length + mapped.indexOf(d);
    });
    this.dimAddr = opts.dimensions.map((d, j) => isAddressDim(this.dimIdx[j] as number) || (opts.addresses ?? []).includes(d));
    this.talkerIdx = opts.topBy.map((d) => DIMENSIONS.indexOf(d));
    this.talkers = opts.topBy.map(() => new TalkerTable(opts.maxTalkers));
    this.written = opts.topBy.map(() => new Set());
  }

  /**
   * The last flow's keys and series: an exporter's records come in runs that share their
   * dimensions (one interface pair, one protocol), and n comparisons are cheaper than n Map lookups.
   * NaN never equals a key, so the cache starts (and is reset to) empty.
   */
  private lastKeys: Key[] = [];
  private lastSum: Sum | undefined;

  private seriesFor(k: FlowView): Sum {
    const dims = this.dimIdx;
    const n = dims.length;
    const last = this.lastKeys;
    let same = this.lastSum !== undefined;
    for (let i = 0; same && i < n; i++) same = dimKey(k, dims[i] as number) === last[i];
    if (same) return this.lastSum as Sum;
    const sum = this.lookup(k);
    for (let i = 0; i < n; i++) last[i] = dimKey(k, dims[i] as number);
    this.lastSum = sum;
    return sum;
  }

  private lookup(k: FlowView): Sum {
    const dims = this.dimIdx;
    const n = dims.length;
    if (n === 0) return this.otherOrNew([]);
    let level = this.tree;
    for (let i = 0; i < n; i++) {
      const v = dimKey(k, dims[i] as number);
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
      for (let j = i; j < n - 1; j++) {
        const child: Level = new Map();
        level.set(dimKey(k, dims[j] as number), child);
        level = child;
      }
      const tags: Record<string, string> = {};
      for (let j = 0; j < n; j++) tags[this.opts.dimensions[j] as string] = keyText(dims[j] as number, dimKey(k, dims[j] as number), this.dimAddr[j]);
      const sum: Sum = { tags, bytes: 0, packets: 0, flows: 0 };
      level.set(dimKey(k, dims[n - 1] as number), sum);
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

  add(k: FlowView): void {
    const bytes = k.bytes * k.rate;
    const packets = k.packets * k.rate;
    this.flowsIn++;
    const s = this.seriesFor(k);
    s.bytes += bytes;
    s.packets += packets;
    s.flows += 1;
    const t = this.talkerIdx;
    for (let j = 0; j < t.length; j++) (this.talkers[j] as TalkerTable).add(dimKey(k, t[j] as number), bytes, packets);
  }

  private *allSeries(level: Level = this.tree, path: Key[] = []): Generator<[Sum, Key[]]> {
    for (const [k, v] of level) {
      if (v instanceof Map) yield* this.allSeries(v, [...path, k]);
      else yield [v, [...path, k]];
    }
  }

  snapshot(): AggregateSnapshot {
    const { talkers, ...rest } = this.copy();
    return { ...rest, talkers: talkers.map(encodeTalkers) };
  }

  /** The snapshot with the talker tables copied but not yet encoded (checkpoint.ts encodes them off the receive path); `reuse`: TalkerTable.copy. */
  copy(reuse = false): Omit<AggregateSnapshot, 'talkers'> & { talkers: TalkerCopy[] } {
    const series: AggregateSnapshot['series'] = [];
    for (const [s, keys] of this.allSeries()) series.push({ keys, bytes: s.bytes, packets: s.packets, flows: s.flows });
    const o = this.other;
    return {
      series,
      other: o ? { bytes: o.bytes, packets: o.packets, flows: o.flows } : null,
      talkers: this.talkers.map((t) => t.copy(reuse)),
      written: this.written.map((w) => [...w]),
    };
  }

  /**
   * Adds a checkpoint's sums to this interval (same dimensions and talker keys, or the caller must
   * not call it): series are re-created in their order, so the budget assigns them as before.
   */
  restore(snap: AggregateSnapshot): void {
    this.lastSum = undefined;
    const k = new FlowView(this.opts.mapped ?? []);
    const add = (sum: Sum, v: { bytes: number; packets: number; flows: number }): void => {
      sum.bytes += v.bytes;
      sum.packets += v.packets;
      sum.flows += v.flows;
    };
    for (const s of snap.series) {
      s.keys.forEach((key, j) => {
        const d = this.dimIdx[j] as number;
        // a checkpoint of an earlier version holds IPv6 addresses (and mapped IPv4 ones) as text
        setDim(k, d, typeof key === 'string' && this.dimAddr[j] ? (ip6KeyFromText(key) ?? ipv4FromText(key) ?? key) : key);
      });
      add(this.seriesFor(k), s);
    }
    if (snap.other) add(this.otherOrNew(this.dimIdx.length ? null : []), snap.other);
    snap.talkers.forEach((t, j) => this.talkers[j]?.restore(t));
    snap.written.forEach((w, j) => {
      for (const key of w) this.written[j]?.add(key);
    });
  }

  /**
   * Closes the interval like `flush`, with the `flow_top` rows computed from copies of the talker
   * tables over the next turns of the event loop (toptalkers.ts): `now` holds the `flow_agg` rows,
   * `talkers` resolves to the `flow_top` rows. The tables are free for the next interval at once.
   * With talkers an earlier flush of this interval wrote (a resumed checkpoint) it is `flush`.
   */
  flushLater(intervalStart: number, collector: string): { now: FlowRecord[]; talkers: Promise<FlowRecord[]> } {
    if (this.written.some((w) => w.size > 0)) return { now: this.flush(intervalStart, collector), talkers: Promise.resolve([]) };
    const copies = this.talkers.map((t) => t.copy());
    const topBy = this.opts.topBy;
    const topN = this.opts.topN;
    for (const t of this.talkers) t.reset();
    const now = this.flush(intervalStart, collector);
    const talkers = (async (): Promise<FlowRecord[]> => {
      const out: FlowRecord[] = [];
      for (let k = 0; k < copies.length; k++) {
        const by = topBy[k] as string;
        const { top, other } = await topOfCopy(copies[k] as TalkerCopy, topN);
        top.forEach((t, i) => out.push(makeRecord('flow', 'flow_top', { collector, by, talker: t.talker }, { ...sumFields(t), rank: BigInt(i + 1) }, intervalStart, 'collector')));
        if (other.flows > 0) out.push(makeRecord('flow', 'flow_top', { collector, by, talker: OTHER }, sumFields(other), intervalStart, 'collector'));
      }
      return out;
    })();
    return { now, talkers };
  }

  /**
   * Closes the interval: `flow_agg` per dimension tuple and `flow_top` per talker key (top N by
   * bytes, then one "other" row with the rest), all stamped with the interval start.
   */
  flush(intervalStart: number, collector: string, retain = false): FlowRecord[] {
    const out: FlowRecord[] = [];
    const fields = sumFields;
    for (const [s] of this.allSeries()) out.push(makeRecord('flow', 'flow_agg', { collector, ...s.tags }, fields(s), intervalStart, 'collector'));
    if (this.other) out.push(makeRecord('flow', 'flow_agg', { collector, ...this.other.tags }, fields(this.other), intervalStart, 'collector'));
    this.opts.topBy.forEach((by, k) => {
      const table = this.talkers[k] as TalkerTable;
      const written = this.written[k] as Set<Key>;
      const { top, other } = table.top(this.opts.topN, written);
      top.forEach((t, i) => {
        out.push(makeRecord('flow', 'flow_top', { collector, by, talker: t.talker }, { ...fields(t), rank: BigInt(i + 1) }, intervalStart, 'collector'));
        if (retain) written.add(t.key);
      });
      // '' (never a talker) marks an "other" row written before: rewritten even if now empty
      if (other.flows > 0 || written.has('')) {
        out.push(makeRecord('flow', 'flow_top', { collector, by, talker: OTHER }, fields(other), intervalStart, 'collector'));
        if (retain) written.add('');
      }
      if (!retain) {
        table.reset();
        written.clear();
      }
    });
    // retain: the sums stay (for the checkpoint of a stopping collector, see collector.ts)
    if (retain) return out;
    this.tree = new Map();
    this.series = 0;
    this.other = undefined;
    this.lastSum = undefined;
    this.flowsIn = 0;
    return out;
  }
}
