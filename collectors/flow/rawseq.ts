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
 */
import type { FlowRecord } from '../../src/record/record.js';

export const WINDOW_MS = 10 * 60_000;
export const EARLY_MS = 60_000;
/** Entries over all streams before the oldest ends are pruned early (memory bound). */
const MAX_ENTRIES = 1_000_000;

interface Stream {
  counts: Map<number, number>;
  newest: number;
}

export class RawSeq {
  private readonly streams = new Map<string, Stream>();
  private readonly runStart: number;
  private readonly runTag: string;
  private entries = 0;
  private sincePrune = 0;
  /** Flows whose end was older than the tracked window (see the module comment). */
  late = 0;

  constructor(runStartMs: number) {
    this.runStart = runStartMs;
    this.runTag = `r${Math.floor(runStartMs / 1000).toString(36)}.`;
  }

  /** Sets `tags.seq` on a raw flow record when another flow of its stream ended in the same ms. */
  stamp(r: FlowRecord): void {
    const t = r.tags;
    const key = `${t['exporter'] ?? ''}|${t['version'] ?? ''}|${t['domain'] ?? ''}`;
    let s = this.streams.get(key);
    if (!s) {
      s = { counts: new Map(), newest: -Infinity };
      this.streams.set(key, s);
    }
    const ms = Math.round(r.time);
    if (ms > s.newest) s.newest = ms;
    else if (ms < s.newest - WINDOW_MS) this.late++;
    const k = s.counts.get(ms) ?? 0;
    s.counts.set(ms, k + 1);
    if (k === 0) this.entries++;
    const early = ms < this.runStart + EARLY_MS;
    if (k > 0 || early) t['seq'] = early ? this.runTag + k : String(k);
    if (++this.sincePrune >= 65536 || this.entries > MAX_ENTRIES) this.prune();
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
