/**
 * Keeps raw `flow` points distinct. InfluxDB keys a point by measurement, tag set and timestamp; a
 * raw flow's tags are only exporter, version and domain, and its time is the flow's end in ms, so
 * flows of one exporter that end in the same millisecond (softflowd expires a whole batch at once;
 * a v5 exporter reports ends in sysUptime ms) would overwrite each other: 1,000 sent, 1 stored.
 *
 * The k-th flow (k >= 1) of a stream with a given end ms gets the tag `seq` = k; the first has
 * none, so the series count grows only by the largest number of flows ending in one ms. A field
 * could not do this (fields are not part of the key); nanosecond timestamps would change every
 * writer and reader of the line protocol.
 *
 * Across runs: a new process does not know which ends the last one wrote. Flows ending before
 * `runStart + EARLY_MS` (the previous run stopped before we started; EARLY_MS allows for an
 * exporter clock that runs ahead) get the run's start (base-36 seconds) in the tag
 * (`seq` = "r<run>.<k>"), so they can never meet a point of an earlier run. Within a run, the counts are kept for ends
 * within WINDOW_MS of the newest end seen per stream; a flow older than that (an exporter holding
 * a flow for more than 10 minutes after its last packet) is counted in `late`, since a point it
 * could collide with is no longer tracked.
 *
 * On a bus (README "Scale-out") a stream's counts move with its exporter's partition (handoff.ts):
 * saved as of the partition's last committed message, so the processor that takes it over and
 * decodes the messages after that one again gives their flows the same `seq` as the first writer
 * did, and InfluxDB replaces those points instead of adding them (raw points carry no `instance`
 * there, src/bus/runtime.ts). No run tag on a bus: the counts are handed over, not lost with a run.
 * At most CARRY end times per stream travel; a save that finds more keeps the newest CARRY, raises
 * the stream's `floor` above the rest and opens a new `c<save time>.` namespace for flows ending
 * below the floor (distinct from every earlier point). The saving processor applies the same cut to
 * itself, so both owners tag alike.
 */
import type { FlowRecord, NetRecord } from '../../src/record/record.js';

export const WINDOW_MS = 10 * 60_000;
export const EARLY_MS = 60_000;
/** Entries over all streams before the oldest ends are pruned early (memory bound). */
const MAX_ENTRIES = 1_000_000;
/** End times per stream a bus partition carries: some 30 KB of JSON, under NATS's 1 MiB payload with room for many streams. */
export const CARRY = 4096;

interface Stream {
  counts: Map<number, number>;
  newest: number;
  /** Flows ending below it are tagged in the namespace `tag` (a bus hand-over's cut, above). */
  floor: number;
  tag: string;
}

/** A stream as a bus partition carries it: end times as offsets below `newest`, ascending, and their counts. */
export interface RawStreamState {
  key: string;
  newest: number;
  floor?: number | undefined;
  tag?: string | undefined;
  ends: number[];
  counts: number[];
}

/** The records RawSeq keeps apart: raw flows and sFlow discards (one point per flow or sample). */
export const perFlow = (r: NetRecord): r is FlowRecord => r.kind === 'flow' && (r.measurement === 'flow' || r.measurement === 'flow_discard');

export class RawSeq {
  private readonly streams = new Map<string, Stream>();
  private runStart: number;
  private readonly runTag: string;
  private entries = 0;
  private sincePrune = 0;
  /** Flows whose end was older than the tracked window (see the module comment). */
  late = 0;

  constructor(runStartMs: number) {
    this.runStart = runStartMs;
    this.runTag = `r${Math.floor(runStartMs / 1000).toString(36)}.`;
  }

  /**
   * Sets `tags.seq` on a raw flow record when another flow of its stream ended in the same ms. sFlow
   * discards are counted in a stream of their own: samples of one datagram share its receive time,
   * and two of one reason would otherwise be one point.
   */
  stamp(r: FlowRecord): void {
    const t = r.tags;
    const key = `${t['exporter'] ?? ''}|${t['version'] ?? ''}|${t['domain'] ?? ''}${r.measurement === 'flow' ? '' : `|${r.measurement}`}`;
    let s = this.streams.get(key);
    if (!s) {
      s = { counts: new Map(), newest: -Infinity, floor: -Infinity, tag: '' };
      this.streams.set(key, s);
    }
    const ms = Math.round(r.time);
    if (ms > s.newest) s.newest = ms;
    else if (ms < s.newest - WINDOW_MS) this.late++;
    const k = s.counts.get(ms) ?? 0;
    s.counts.set(ms, k + 1);
    if (k === 0) this.entries++;
    const early = ms < this.runStart + EARLY_MS;
    if (ms < s.floor) t['seq'] = `c${s.tag}.${k}`;
    else if (k > 0 || early) t['seq'] = early ? this.runTag + k : String(k);
    if (++this.sincePrune >= 65536 || this.entries > MAX_ENTRIES) this.prune();
  }

  /** A bus processor: streams come with their partitions' state, so no run tag (module comment). */
  onBus(): void {
    this.runStart = -Infinity;
  }

  /** The streams of every exporter `place` puts in a partition, cut to CARRY end times (module comment). */
  save(place: (exporter: string) => number | undefined, now: number): Map<number, RawStreamState[]> {
    const out = new Map<number, RawStreamState[]>();
    for (const [key, s] of this.streams) {
      const p = place(key.slice(0, key.indexOf('|')));
      if (p === undefined) continue;
      if (s.counts.size > CARRY) this.cut(s, now);
      const ends = [...s.counts.keys()].sort((a, b) => b - a);
      const st: RawStreamState = { key, newest: s.newest, ends: ends.map((e) => s.newest - e), counts: ends.map((e) => s.counts.get(e) ?? 0) };
      if (s.floor > -Infinity) Object.assign(st, { floor: s.floor, tag: s.tag });
      out.set(p, [...(out.get(p) ?? []), st]);
    }
    return out;
  }

  private cut(s: Stream, now: number): void {
    const ends = [...s.counts.keys()].sort((a, b) => b - a);
    s.floor = Math.max(s.floor, ends[CARRY - 1] ?? -Infinity);
    for (const e of ends) {
      if (e >= s.floor) continue;
      s.counts.delete(e);
      this.entries--;
    }
    s.tag = Math.floor(now).toString(36);
  }

  /** A stream as another processor saved it replaces ours. */
  restore(st: RawStreamState): void {
    this.forget((k) => k === st.key, true);
    const counts = new Map<number, number>();
    st.ends.forEach((d, i) => counts.set(st.newest - d, st.counts[i] ?? 0));
    this.streams.set(st.key, { counts, newest: st.newest, floor: st.floor ?? -Infinity, tag: st.tag ?? '' });
    this.entries += counts.size;
  }

  /** Streams of exporters another processor has now (`byKey`: `which` is given the stream key). */
  forget(which: (exporter: string) => boolean, byKey = false): void {
    for (const [key, s] of this.streams) {
      if (!which(byKey ? key : key.slice(0, key.indexOf('|')))) continue;
      this.entries -= s.counts.size;
      this.streams.delete(key);
    }
  }

  private prune(): void {
    this.sincePrune = 0;
    const tight = this.entries > MAX_ENTRIES;
    this.dropOlderThan(WINDOW_MS);
    // Over the memory bound, narrow the window until half the bound is free: pruning by a fixed
    // half window could leave the count above the bound, and then every flow would trigger a full
    // pass over all entries.
    for (let keep = WINDOW_MS / 2; tight && this.entries > MAX_ENTRIES / 2 && keep >= 1000; keep /= 2) this.dropOlderThan(keep);
  }

  private dropOlderThan(keepMs: number): void {
    for (const [key, s] of this.streams) {
      const floor = s.newest - keepMs;
      for (const ms of s.counts.keys()) {
        if (ms >= floor) continue;
        s.counts.delete(ms);
        this.entries--;
      }
      if (s.counts.size === 0) this.streams.delete(key);
    }
  }
}
