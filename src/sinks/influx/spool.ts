/**
 * Disk spool for batches InfluxDB could not take. One write-once file per batch, named by a
 * monotonically increasing sequence so replay is in arrival order, also across restarts.
 *
 * A batch counts as spooled only after every byte of it (header with length and CRC-32, see
 * spool-frame.ts) was written to a temporary name, fsync'd, renamed and the directory fsync'd. A
 * write that fails part-way (ENOSPC on a full disk writes short first) removes its temporary file
 * and throws; the caller counts the points as lost. A full disk is a state (`diskFull`) until a
 * write succeeds again. At replay every file is checked against its header: a truncated or changed
 * one is removed and its points counted as corrupt, never sent as if it were whole.
 *
 * Bounded by total bytes and by age; what the bound evicts is counted (points) and logged (at most
 * once a minute, with the totals since the last line), never dropped silently.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../log.js';
import { SinkError, SpoolError } from '../../errors.js';
import { frame, unframe } from './spool-frame.js';

const SUFFIX = '.lp';
const NAME_RE = /^(\d{16})-(\d+)-(\d+)\.lp$/; // seq-createdMs-points
/** Eviction and disk-full lines are summed over this long, so a full disk does not flood the log. */
export const SPOOL_LOG_EVERY_MS = 60_000;

export interface SpoolEntry {
  seq: number;
  file: string;
  createdMs: number;
  points: number;
  bytes: number;
}

export interface SpoolLimits {
  maxBytes: number;
  maxAgeMs: number;
}

/**
 * Told about every batch the spool loses: evicted by a bound (with its text, so the loss can be
 * counted by measurement) or found corrupt (text undefined: what it held is unknown).
 */
export type SpoolLossHook = (reason: 'spool_evicted' | 'spool_expired' | 'spool_corrupt', text: string | undefined, points: number) => void;

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

export class Spool {
  readonly dir: string;
  private readonly limits: SpoolLimits;
  private readonly log: Logger | undefined;
  private entries: SpoolEntry[] = [];
  private bytes = 0;
  private points = 0;
  private nextSeq = 1;
  /** Points evicted by the byte or age bound since start. */
  droppedPoints = 0;
  droppedBatches = 0;
  /** Batches (and their points) found truncated or changed at replay, and removed. */
  corruptBatches = 0;
  corruptPoints = 0;
  /** Appends that failed (nothing of them is kept). */
  writeErrors = 0;
  /** Since when the disk has refused writes for lack of space (ENOSPC/EDQUOT), or undefined. */
  diskFullSince: number | undefined;
  private pendingEvicted = { points: 0, batches: 0 };
  private lastEvictLog = -Infinity;

  private readonly onLost: SpoolLossHook | undefined;

  constructor(dir: string, limits: SpoolLimits, log?: Logger, onLost?: SpoolLossHook) {
    this.onLost = onLost;
    this.dir = dir;
    this.limits = limits;
    this.log = log;
    let tmpRemoved = 0;
    try {
      mkdirSync(dir, { recursive: true });
      for (const name of readdirSync(dir)) {
        if (name.endsWith('.tmp')) {
          unlinkSync(join(dir, name)); // a write that a crash interrupted; never acknowledged
          tmpRemoved++;
          continue;
        }
        const m = NAME_RE.exec(name);
        if (!m) continue;
        const file = join(dir, name);
        const entry = { seq: Number(m[1]), file, createdMs: Number(m[2]), points: Number(m[3]), bytes: statSync(file).size };
        this.entries.push(entry);
        this.bytes += entry.bytes;
        this.points += entry.points;
      }
    } catch (e) {
      throw new SpoolError(`cannot open spool directory ${dir}: ${(e as Error).message}`, { cause: e });
    }
    if (tmpRemoved) log?.warn({ dir, files: tmpRemoved }, 'removed unfinished spool writes of a previous run (never counted as spooled)');
    this.entries.sort((a, b) => a.seq - b.seq);
    this.nextSeq = (this.entries.at(-1)?.seq ?? 0) + 1;
  }

  get size(): { bytes: number; batches: number; points: number } {
    return { bytes: this.bytes, batches: this.entries.length, points: this.points };
  }

  get empty(): boolean {
    return this.entries.length === 0;
  }

  get diskFull(): boolean {
    return this.diskFullSince !== undefined;
  }

  /**
   * Appends a batch durably, or throws SpoolError and keeps nothing of it. Evicts the oldest batches
   * first if the byte bound would be exceeded.
   */
  append(text: string, points: number, nowMs: number = Date.now()): void {
    const data = frame(Buffer.from(text, 'utf8'), points);
    if (data.length > this.limits.maxBytes) {
      this.evicted(points, 1, 'batch larger than spool.max_size');
      this.onLost?.('spool_evicted', text, points);
      return;
    }
    while (this.entries.length && this.bytes + data.length > this.limits.maxBytes) this.evictOldest('spool.max_size');
    const seq = this.nextSeq++;
    const name = `${String(seq).padStart(16, '0')}-${Math.floor(nowMs)}-${points}${SUFFIX}`;
    const file = join(this.dir, name);
    const tmp = file + '.tmp';
    try {
      const fd = openSync(tmp, 'w');
      try {
        // writeSync may write less than asked (a disk filling up does so before ENOSPC): loop
        for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
      const dfd = openSync(this.dir, 'r');
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
    } catch (e) {
      this.writeErrors++;
      try {
        unlinkSync(tmp);
      } catch {
        /* never created, or renamed already */
      }
      const code = errCode(e);
      if (code === 'ENOSPC' || code === 'EDQUOT') this.diskFullSince ??= nowMs;
      throw new SpoolError(`cannot write spool file ${file}: ${(e as Error).message}`, { cause: e });
    }
    this.diskFullSince = undefined;
    this.entries.push({ seq, file, createdMs: nowMs, points, bytes: data.length });
    this.bytes += data.length;
    this.points += points;
  }

  /** Drops batches older than the age bound; returns how many points that evicted. */
  expire(nowMs: number = Date.now()): number {
    const before = this.droppedPoints;
    while (this.entries.length && nowMs - (this.entries[0]?.createdMs ?? nowMs) > this.limits.maxAgeMs) this.evictOldest('spool.max_age');
    return this.droppedPoints - before;
  }

  /**
   * The oldest intact batch, or undefined. Truncated or changed files met on the way are removed and
   * counted; a file that cannot be read at all throws (after being counted and removed).
   */
  peek(): { entry: SpoolEntry; text: string } | undefined {
    for (;;) {
      const entry = this.entries[0];
      if (!entry) return undefined;
      let data: Buffer;
      try {
        data = readFileSync(entry.file);
      } catch (e) {
        this.dropCorrupt(`unreadable: ${(e as Error).message}`);
        throw new SpoolError(`cannot read spool file ${entry.file}: ${(e as Error).message}`, { cause: e });
      }
      const u = unframe(data, entry.points);
      if (u.ok) return { entry, text: u.text };
      this.dropCorrupt(u.reason);
    }
  }

  /** Removes the oldest batch after it was delivered. */
  ack(seq: number): void {
    const e = this.entries[0];
    if (!e || e.seq !== seq) return;
    this.remove();
  }

  private remove(): SpoolEntry | undefined {
    const e = this.entries.shift();
    if (!e) return undefined;
    this.bytes -= e.bytes;
    this.points -= e.points;
    try {
      unlinkSync(e.file);
    } catch {
      /* already gone: the goal state */
    }
    return e;
  }

  private dropCorrupt(reason: string): void {
    const e = this.remove();
    if (!e) return;
    this.onLost?.('spool_corrupt', undefined, e.points);
    this.corruptBatches++;
    this.corruptPoints += e.points;
    this.log?.error({ file: e.file, points: e.points, reason }, 'spool file truncated or corrupt: removed, its points counted as lost');
  }

  private evictOldest(bound: string): void {
    const head = this.entries[0];
    // read only when someone counts by measurement; an unreadable file is counted as unknown
    let text: string | undefined;
    if (head && this.onLost) {
      try {
        const u = unframe(readFileSync(head.file), head.points);
        if (u.ok) text = u.text;
      } catch {
        /* counted as unknown below */
      }
    }
    const e = this.remove();
    if (!e) return;
    this.evicted(e.points, 1, bound);
    this.onLost?.(bound === 'spool.max_age' ? 'spool_expired' : 'spool_evicted', text, e.points);
  }

  private evicted(points: number, batches: number, bound: string): void {
    this.droppedPoints += points;
    this.droppedBatches += batches;
    this.pendingEvicted.points += points;
    this.pendingEvicted.batches += batches;
    const now = Date.now();
    if (now - this.lastEvictLog < SPOOL_LOG_EVERY_MS) return;
    this.lastEvictLog = now;
    this.log?.warn({ ...this.pendingEvicted, bound, total_points: this.droppedPoints }, 'spool bound reached: oldest batches evicted, their points lost');
    this.pendingEvicted = { points: 0, batches: 0 };
  }
}

/**
 * Spooled lines carry timestamps in the unit they were written with; replaying them under another
 * would misdate them. The unit is kept in `<dir>/PRECISION`.
 */
export function checkSpoolPrecision(dir: string, want: string, spoolEmpty: boolean): void {
  const file = join(dir, 'PRECISION');
  const had = existsSync(file) ? readFileSync(file, 'utf8').trim() : 'ms';
  if (had !== want && !spoolEmpty) {
    throw new SinkError(`spool ${dir} holds batches with precision ${had}; start once with precision ${had} to drain it, or move it away`, false);
  }
  if (had !== want || !existsSync(file)) writeFileSync(file, want + '\n');
}
