/**
 * Disk spool for batches InfluxDB could not take. One write-once file per batch, named by a
 * monotonically increasing sequence so replay is in arrival order, also across restarts.
 * A file is written under a temporary name, fsync'd, then renamed and the directory fsync'd: after a
 * crash a batch is either entirely there or not at all. Bounded by total bytes and by age; what the
 * bound evicts is counted (points), never dropped silently.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SpoolError } from '../../errors.js';

const SUFFIX = '.lp';
const NAME_RE = /^(\d{16})-(\d+)-(\d+)\.lp$/; // seq-createdMs-points

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

export class Spool {
  readonly dir: string;
  private readonly limits: SpoolLimits;
  private entries: SpoolEntry[] = [];
  private bytes = 0;
  private nextSeq = 1;
  /** Points evicted by the byte or age bound since start. */
  droppedPoints = 0;
  droppedBatches = 0;

  constructor(dir: string, limits: SpoolLimits) {
    this.dir = dir;
    this.limits = limits;
    try {
      mkdirSync(dir, { recursive: true });
      for (const name of readdirSync(dir)) {
        if (name.endsWith('.tmp')) {
          unlinkSync(join(dir, name)); // a write that a crash interrupted; never acknowledged
          continue;
        }
        const m = NAME_RE.exec(name);
        if (!m) continue;
        const file = join(dir, name);
        const entry = { seq: Number(m[1]), file, createdMs: Number(m[2]), points: Number(m[3]), bytes: statSync(file).size };
        this.entries.push(entry);
        this.bytes += entry.bytes;
      }
    } catch (e) {
      throw new SpoolError(`cannot open spool directory ${dir}: ${(e as Error).message}`, { cause: e });
    }
    this.entries.sort((a, b) => a.seq - b.seq);
    this.nextSeq = (this.entries.at(-1)?.seq ?? 0) + 1;
  }

  get size(): { bytes: number; batches: number; points: number } {
    let points = 0;
    for (const e of this.entries) points += e.points;
    return { bytes: this.bytes, batches: this.entries.length, points };
  }

  get empty(): boolean {
    return this.entries.length === 0;
  }

  /** Appends a batch durably. Evicts the oldest batches first if the byte bound would be exceeded. */
  append(text: string, points: number, nowMs: number = Date.now()): void {
    const data = Buffer.from(text, 'utf8');
    if (data.length > this.limits.maxBytes) {
      this.droppedPoints += points;
      this.droppedBatches++;
      return;
    }
    while (this.entries.length && this.bytes + data.length > this.limits.maxBytes) this.evictOldest();
    const seq = this.nextSeq++;
    const name = `${String(seq).padStart(16, '0')}-${Math.floor(nowMs)}-${points}${SUFFIX}`;
    const file = join(this.dir, name);
    const tmp = file + '.tmp';
    try {
      const fd = openSync(tmp, 'w');
      try {
        writeSync(fd, data);
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
      throw new SpoolError(`cannot write spool file ${file}: ${(e as Error).message}`, { cause: e });
    }
    this.entries.push({ seq, file, createdMs: nowMs, points, bytes: data.length });
    this.bytes += data.length;
  }

  /** Drops batches older than the age bound; returns how many points that evicted. */
  expire(nowMs: number = Date.now()): number {
    const before = this.droppedPoints;
    while (this.entries.length && nowMs - (this.entries[0]?.createdMs ?? nowMs) > this.limits.maxAgeMs) this.evictOldest();
    return this.droppedPoints - before;
  }

  /** The oldest batch, or undefined. */
  peek(): { entry: SpoolEntry; text: string } | undefined {
    const entry = this.entries[0];
    if (!entry) return undefined;
    try {
      return { entry, text: readFileSync(entry.file, 'utf8') };
    } catch (e) {
      // A file that vanished or cannot be read cannot be replayed: count it and move on.
      this.evictOldest();
      throw new SpoolError(`cannot read spool file ${entry.file}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Removes the oldest batch after it was delivered. */
  ack(seq: number): void {
    const e = this.entries[0];
    if (!e || e.seq !== seq) return;
    this.entries.shift();
    this.bytes -= e.bytes;
    try {
      unlinkSync(e.file);
    } catch {
      /* already gone: the goal state */
    }
  }

  private evictOldest(): void {
    const e = this.entries.shift();
    if (!e) return;
    this.bytes -= e.bytes;
    this.droppedPoints += e.points;
    this.droppedBatches++;
    try {
      unlinkSync(e.file);
    } catch {
      /* already gone */
    }
  }
}
