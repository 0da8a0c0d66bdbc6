/**
 * InfluxDB sink: loss-free delivery of line-protocol batches.
 *
 * Healthy: batches go straight to InfluxDB (up to maxInFlight at once).
 * Outage: the first retryable failure sends that batch to the disk spool, and from then on every new
 * batch goes to the spool too, so replay preserves arrival order. A replay loop sends the oldest spooled
 * batch with exponential backoff and jitter until the spool is empty, then the sink is healthy again.
 * A spool left by a previous run is replayed at start.
 * Retries are idempotent because every point carries its own timestamp, fixed when it was made: a batch
 * InfluxDB stored but answered with an error is overwritten with identical points.
 */
import type { Logger } from '../../log.js';
import type { NetRecord } from '../../record/record.js';
import { toLines } from '../../record/lineprotocol.js';
import { SinkError, SpoolError } from '../../errors.js';
import { emptyStats, type Sink, type SinkStats } from '../sink.js';
import { InfluxClient } from './client.js';
import { Spool, SPOOL_LOG_EVERY_MS } from './spool.js';

export interface InfluxSinkOptions {
  url: string;
  database: string;
  username?: string | undefined;
  password?: string | undefined;
  createDatabase: boolean;
  retentionPolicy?: { name: string; duration: string; replication: number; default: boolean } | undefined;
  timeoutMs: number;
  maxInFlight: number;
  retryInitialMs: number;
  retryMaxMs: number;
  spoolDir: string;
  spoolMaxBytes: number;
  spoolMaxAgeMs: number;
}

const PARTIAL_DROPPED_RE = /dropped=(\d+)/;

export class InfluxSink implements Sink {
  readonly name = 'influx';
  private readonly opts: InfluxSinkOptions;
  private readonly log: Logger;
  private readonly client: InfluxClient;
  readonly spool: Spool;
  private readonly s: SinkStats = emptyStats();
  private inFlight = 0;
  private readonly slotWaiters: (() => void)[] = [];
  private replaying: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private dbReady = false;
  private reachable = true;
  private readonly loggedReasons = new Set<string>();
  private spoolLossLoggedAt = -Infinity;
  private spoolLossSinceLog = 0;

  constructor(opts: InfluxSinkOptions, log: Logger) {
    this.opts = opts;
    this.log = log.child({ sink: 'influx' });
    this.client = new InfluxClient({
      url: opts.url,
      database: opts.database,
      username: opts.username,
      password: opts.password,
      retentionPolicy: opts.retentionPolicy?.name,
      timeoutMs: opts.timeoutMs,
    });
    this.spool = new Spool(opts.spoolDir, { maxBytes: opts.spoolMaxBytes, maxAgeMs: opts.spoolMaxAgeMs }, this.log);
  }

  async start(): Promise<void> {
    await this.ensureDb().catch((e: unknown) => {
      this.log.warn({ err: (e as Error).message }, 'InfluxDB not reachable at start; spooling until it is');
    });
    if (!this.spool.empty) {
      this.log.info(this.spool.size, 'replaying spooled batches from a previous run');
      this.kickReplay();
    }
  }

  async write(batch: readonly NetRecord[]): Promise<void> {
    const { text, lines, skipped } = toLines(batch);
    if (skipped) this.reject(skipped, 'record without a writable field (NaN/Infinity or empty)');
    if (lines === 0) return;
    if (!this.spool.empty || this.replaying) return this.toSpool(text, lines);
    await this.acquire();
    try {
      if (!this.spool.empty || this.replaying) return this.toSpool(text, lines);
      await this.send(text, lines);
    } catch (e) {
      const err = e instanceof SinkError ? e : new SinkError(String(e), true);
      this.s.writeErrors++;
      if (err.retryable) {
        this.s.retries++;
        this.noteOutage(err);
        this.toSpool(text, lines);
      }
    } finally {
      this.release();
    }
  }

  /** One delivery attempt; handles bad data (not retried) and splits oversized batches. */
  private async send(text: string, lines: number): Promise<void> {
    if (!this.dbReady && this.opts.createDatabase) await this.ensureDb();
    const t0 = performance.now();
    try {
      await this.client.write(text);
    } catch (e) {
      const err = e as SinkError;
      if (err.status === 413 && lines > 1) return this.sendSplit(text);
      if (err.status === 404 && this.opts.createDatabase) this.dbReady = false;
      if (err.retryable) throw err;
      // 400: InfluxDB stored the good points of the batch and tells how many it dropped.
      const m = PARTIAL_DROPPED_RE.exec(err.message);
      const dropped = m ? Number(m[1]) : lines;
      this.reject(dropped, err.message);
      this.record(lines - dropped, performance.now() - t0);
      return;
    }
    this.reachable = true;
    this.record(lines, performance.now() - t0);
  }

  private async sendSplit(text: string): Promise<void> {
    const all = text.split('\n').filter((l) => l.length > 0);
    const mid = all.length >> 1;
    await this.send(all.slice(0, mid).join('\n') + '\n', mid);
    await this.send(all.slice(mid).join('\n') + '\n', all.length - mid);
  }

  private record(points: number, ms: number): void {
    this.s.batches++;
    this.s.points += points;
    this.s.latencySumMs += ms;
    this.s.latencyCount++;
    if (ms > this.s.windowMaxLatencyMs) this.s.windowMaxLatencyMs = ms;
  }

  private reject(points: number, reason: string): void {
    this.s.rejectedPoints += points;
    // Log each distinct reason once (the first 120 characters identify it), not once per batch.
    const key = reason.slice(0, 120);
    if (this.loggedReasons.size < 256 && !this.loggedReasons.has(key)) {
      this.loggedReasons.add(key);
      this.log.error({ points, reason }, 'InfluxDB rejected points as bad data; they are not retried');
    }
  }

  private noteOutage(err: SinkError): void {
    if (this.reachable) this.log.warn({ err: err.message }, 'InfluxDB write failed; spooling to disk and retrying');
    this.reachable = false;
  }

  private toSpool(text: string, lines: number): void {
    try {
      this.spool.append(text, lines);
      this.spool.expire();
    } catch (e) {
      this.s.lostPoints += lines;
      // A full disk fails every batch: one line per interval with the points lost since the last
      this.spoolLossSinceLog += lines;
      const now = Date.now();
      if (now - this.spoolLossLoggedAt >= SPOOL_LOG_EVERY_MS) {
        this.log.error({ err: (e as Error).message, points: this.spoolLossSinceLog, disk_full: this.spool.diskFull }, 'spool write failed: points lost');
        this.spoolLossLoggedAt = now;
        this.spoolLossSinceLog = 0;
      }
    }
    this.kickReplay();
  }

  private kickReplay(): void {
    if (this.replaying || this.stopped) {
      this.wake?.();
      return;
    }
    this.replaying = this.replayLoop().finally(() => {
      this.replaying = undefined;
    });
  }

  private async replayLoop(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      this.spool.expire();
      let item;
      try {
        item = this.spool.peek();
      } catch (e) {
        this.log.error({ err: (e as SpoolError).message }, 'unreadable spool file skipped');
        continue;
      }
      if (!item) break;
      try {
        await this.send(item.text, item.entry.points);
        this.spool.ack(item.entry.seq);
        attempt = 0;
      } catch (e) {
        const err = e instanceof SinkError ? e : new SinkError(String(e), true);
        this.s.writeErrors++;
        this.s.retries++;
        this.noteOutage(err);
        const base = Math.min(this.opts.retryMaxMs, this.opts.retryInitialMs * 2 ** Math.min(attempt++, 20));
        await this.sleep(base / 2 + Math.random() * (base / 2)); // "equal jitter": spreads retries of many collectors
      }
    }
    if (this.spool.empty && !this.stopped) this.log.info('spool drained; InfluxDB writes are live again');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        // a new batch arrived: no reason to retry sooner, but stop() must not wait a whole backoff
        if (this.stopped) done();
      };
    });
  }

  private async ensureDb(): Promise<void> {
    if (!this.opts.createDatabase) {
      this.dbReady = true;
      return;
    }
    const rp = this.opts.retentionPolicy;
    await this.client.ensureDatabase(rp ? { name: rp.name, duration: rp.duration, replication: rp.replication, isDefault: rp.default } : undefined);
    this.dbReady = true;
  }

  private acquire(): Promise<void> {
    if (this.inFlight < this.opts.maxInFlight) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.slotWaiters.push(() => (this.inFlight++, resolve())));
  }

  private release(): void {
    this.inFlight--;
    this.slotWaiters.shift()?.();
  }

  async stop(deadlineMs: number): Promise<void> {
    const until = Date.now() + deadlineMs;
    // Give in-flight writes and a live replay until the deadline; whatever is left stays spooled.
    while ((this.inFlight > 0 || (this.replaying && this.reachable)) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.stopped = true;
    this.wake?.();
    await Promise.race([this.replaying, new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())))]);
  }

  stats(resetWindow = false): SinkStats {
    const sz = this.spool.size;
    const sp = this.spool;
    const out = { ...this.s, spoolBytes: sz.bytes, spoolBatches: sz.batches, spoolDroppedPoints: sp.droppedPoints, spoolCorruptPoints: sp.corruptPoints, spoolDiskFull: sp.diskFull };
    if (resetWindow) this.s.windowMaxLatencyMs = 0;
    return out;
  }

  ready(): boolean {
    // a full spool disk loses every batch that must be spooled; stale once writes are live again
    if (this.spool.diskFull && !(this.reachable && this.spool.empty && !this.replaying)) return false;
    return this.reachable || this.spool.size.bytes < this.opts.spoolMaxBytes * 0.9;
  }
}
