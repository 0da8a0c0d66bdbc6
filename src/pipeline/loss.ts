/**
 * The loss ledger: every record or point that will never reach a sink's destination, by reason and
 * measurement. Together with what the destination holds it accounts for everything received:
 * received = stored + lost (+ the crash window of a SIGKILL, which nothing can count; see the README).
 *
 * Counts are cumulative over the life of the data directory, not of one process: the ledger file is
 * rewritten (temporary file + rename) within SAVE_EVERY_MS of a loss, and a new run starts from it.
 * So a loss counted before a crash, after the last self-telemetry of that run, is reported by the
 * next one. Without fsync: a SIGKILL keeps the page cache, a power cut may lose the last updates.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/**
 * queue_full: the pipeline queue's overflow policy dropped it; at_stop: still queued at the shutdown
 * deadline; after_stop: emitted after stop; spool_write_failed: the spool disk refused it (full);
 * spool_evicted / spool_expired: the spool's size / age bound removed it; spool_corrupt: its spool
 * file was truncated or changed (measurement unknown: ''). Points the server refused as bad data are
 * counted by the sink (netvigil_sink_rejected); a batch a sink's write refused (the file sink's disk
 * failed: that sink only) by the pipeline's sink_failures.
 */
export type LossReason = 'queue_full' | 'at_stop' | 'after_stop' | 'spool_write_failed' | 'spool_evicted' | 'spool_expired' | 'spool_corrupt';

export interface LossCount {
  reason: LossReason;
  measurement: string;
  points: number;
}

/** The key set is reason x measurement; measurement names come from our own records, so it stays small. */
const MAX_KEYS = 1000;
/** A queue overflowing drops records one by one: the file is rewritten at most this often. */
const SAVE_EVERY_MS = 100;

export class LossLedger {
  private readonly counts = new Map<string, LossCount>();
  private readonly file: string | undefined;
  private savedAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  writeErrors = 0;

  constructor(file?: string) {
    this.file = file;
    if (!file) return;
    let saved: LossCount[] = [];
    try {
      saved = JSON.parse(readFileSync(file, 'utf8')) as LossCount[];
    } catch {
      // none yet, or unreadable: start from zero (a torn file cannot happen: it is renamed into place)
    }
    for (const c of Array.isArray(saved) ? saved : []) {
      if (typeof c?.reason === 'string' && typeof c.measurement === 'string' && Number.isFinite(c.points)) this.counts.set(`${c.reason}\0${c.measurement}`, { ...c });
    }
  }

  add(reason: LossReason, measurement: string, points: number): void {
    if (points <= 0) return;
    const key = `${reason}\0${this.counts.size >= MAX_KEYS ? '' : measurement}`;
    const c = this.counts.get(key);
    if (c) c.points += points;
    else this.counts.set(key, { reason, measurement, points });
    this.save();
  }

  /** Adds every measurement of a line-protocol text under one reason. */
  addLines(reason: LossReason, text: string): void {
    for (const [m, n] of countByMeasurement(text)) this.add(reason, m, n);
  }

  list(): LossCount[] {
    return [...this.counts.values()].map((c) => ({ ...c }));
  }

  total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c.points;
    return n;
  }

  private save(): void {
    if (!this.file || this.timer) return;
    const wait = this.savedAt + SAVE_EVERY_MS - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.save();
      }, wait);
      this.timer.unref();
      return;
    }
    this.flush();
  }

  /** Writes the file now (at stop, and by save()). */
  flush(): void {
    if (!this.file) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.savedAt = Date.now();
    try {
      writeFileSync(this.file + '.tmp', JSON.stringify(this.list()));
      renameSync(this.file + '.tmp', this.file);
    } catch {
      this.writeErrors++; // a full disk: the counts live on in memory and in self-telemetry
    }
  }
}

/** Points per measurement of line protocol (the name ends at the first unescaped `,` or space). */
export function countByMeasurement(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end > start && text[start] !== '#') {
      let i = start;
      while (i < end && text[i] !== ',' && text[i] !== ' ') i += text[i] === '\\' ? 2 : 1;
      const m = text.slice(start, Math.min(i, end)).replace(/\\(.)/g, '$1');
      out.set(m, (out.get(m) ?? 0) + 1);
    }
    start = end + 1;
  }
  return out;
}
