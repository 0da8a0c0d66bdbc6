/**
 * The data path in numbers, per exporter and stats interval: datagrams reordered and duplicated,
 * units lost (loss.ts) and receive-time jitter (timestamps.ts), judged against `exporter_path`
 * thresholds. An exporter that crosses one is reported to the VM monitor, whose verdict then
 * carries the reason `exporter_path` (src/monitor/evaluate.ts).
 */
import type { HostSignals } from '../../src/collector.js';
import type { Fields } from '../../src/record/record.js';
import type { PathTotals } from './loss.js';
import type { PathConfig } from './timeconfig.js';
import type { FlowProcessor } from './processor.js';
import type { ClockStats } from './timestamps.js';

interface Seen extends PathTotals {
  datagrams: number;
}

export class PathWatch {
  private readonly last = new Map<string, Seen>();

  /**
   * What crossed a threshold for `exporter` since the previous call (names of the thresholds,
   * empty when nothing did or too few datagrams arrived). Call once per stats interval.
   */
  check(exporter: string, datagrams: number, t: PathTotals | undefined, clock: ClockStats | undefined, cfg: PathConfig): string[] {
    const now: Seen = { datagrams, received: t?.received ?? 0, lost: t?.lost ?? 0, duplicates: t?.duplicates ?? 0, reordered: t?.reordered ?? 0 };
    const prev = this.last.get(exporter) ?? { datagrams: 0, received: 0, lost: 0, duplicates: 0, reordered: 0 };
    this.last.set(exporter, now);
    const dg = now.datagrams - prev.datagrams;
    if (dg < cfg.min_datagrams) return [];
    const out: string[] = [];
    const over = (name: keyof PathConfig, value: number): void => {
      const l = cfg[name];
      if (l !== null && Number.isFinite(value) && value > l) out.push(name);
    };
    const units = now.received - prev.received + (now.lost - prev.lost);
    // lost can fall (a late datagram takes its units back): a negative delta is no loss
    if (units > 0) over('lost_pct', (Math.max(0, now.lost - prev.lost) / units) * 100);
    over('reordered_pct', ((now.reordered - prev.reordered) / dg) * 100);
    over('duplicated_pct', ((now.duplicates - prev.duplicates) / dg) * 100);
    if (clock) over('jitter_ms', clock.jitterMs);
    return out;
  }

  forget(exporter: string): void {
    this.last.delete(exporter);
  }
}

/** Fields of the exporter's `flow_stats` record for its clock and path (cumulative counters). */
export function pathFields(f: Fields, t: PathTotals | undefined, clock: ClockStats | undefined): void {
  if (t) {
    f['seq_lost'] = BigInt(t.lost);
    f['seq_reordered'] = BigInt(t.reordered);
    f['seq_duplicated'] = BigInt(t.duplicates);
  }
  if (!clock) return;
  f['clock_offset_p50_ms'] = clock.offsetMs;
  f['delay_p50_ms'] = clock.delayP50Ms;
  f['delay_p99_ms'] = clock.delayP99Ms;
  f['jitter_ms'] = clock.jitterMs;
  f['time_source'] = clock.source;
}

/** What the path check reads of one exporter (cumulative); a worker reports its exporters' rows (workers.ts). */
export interface PathRow {
  exporter: string;
  datagrams: number;
  totals: PathTotals | undefined;
  clock: ClockStats | undefined;
}

export function pathRows(p: FlowProcessor): PathRow[] {
  const totals = p.loss.pathTotals();
  return p.exporterNames().map((e) => ({ exporter: e, datagrams: p.exporterStats(e)?.datagrams ?? 0, totals: totals.get(e), clock: p.clocks.stats(e) }));
}

/** Once per stats interval: every exporter whose path crossed a threshold is told to the monitor. */
export function checkPaths(rows: Iterable<PathRow>, watch: PathWatch, cfg: PathConfig, signals: HostSignals): void {
  for (const r of rows) {
    const crossed = watch.check(r.exporter, r.datagrams, r.totals, r.clock, cfg);
    if (crossed.length) signals.exporterPath?.(r.exporter, crossed);
  }
}
