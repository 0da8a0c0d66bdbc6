/**
 * InfluxDB sink: loss-free delivery of line-protocol batches to the 1.x `/write` or the
 * `/api/v2/write` API (InfluxDB 1.8+, 2.x, 3.x, VictoriaMetrics).
 *
 * Healthy: batches go straight to the server (up to maxInFlight at once).
 * Outage: the first retryable failure sends that batch to the disk spool, and from then on every new
 * batch goes to the spool too, so replay preserves arrival order. A write the server has not answered
 * within hangThresholdMs counts as such a failure: it is abandoned and its batch spooled, so a hung
 * server (one that keeps the connection but answers nothing) holds the pipeline for that long, not
 * for the whole timeout. A replay loop sends the oldest spooled
 * batch with exponential backoff and jitter until the spool is empty, then the sink is healthy again.
 * A spool left by a previous run is replayed at start.
 * Retries are idempotent because every point carries its own timestamp, fixed when it was made: a batch
 * the server stored but answered with an error is overwritten with identical points.
 *
 * What a failure means is decided by its kind (client.ts): 401/403 and 404 keep the data in the spool
 * like an outage but are their own states (not ready, logged once per interval naming user and
 * database); 413 splits the batch; 400/422 isolate the refused points (rejects.ts) and write the rest.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '../../log.js';
import type { NetRecord } from '../../record/record.js';
import { toLines, type IntegerMode, type Precision } from '../../record/lineprotocol.js';
import { SinkError, type SpoolError } from '../../errors.js';
import { emptyStats, type Sink, type SinkStats } from '../sink.js';
import { asWriteError, InfluxClient, WriteError, type InfluxApi, type WriteFailureKind } from './client.js';
import { droppedCount, Rejects, splitLines } from './rejects.js';
import { checkSpoolPrecision, Spool, SPOOL_LOG_EVERY_MS } from './spool.js';
import { DeliveryState } from './state.js';
import type { LossLedger } from '../../pipeline/loss.js';

export interface InfluxSinkOptions {
  url: string;
  database: string;
  username?: string | undefined;
  password?: string | undefined;
  /** `v1` (default): /write with db/rp; `v2`: /api/v2/write with org/bucket/token. */
  api?: InfluxApi | undefined;
  token?: string | undefined;
  org?: string | undefined;
  bucket?: string | undefined;
  precision?: Precision | undefined;
  gzip?: boolean | undefined;
  integers?: IntegerMode | undefined;
  /** PEM file of the CA that signed the server's certificate. */
  tlsCaFile?: string | undefined;
  createDatabase: boolean;
  retentionPolicy?: { name: string; duration: string; replication: number; default: boolean } | undefined;
  timeoutMs: number;
  /** A live write unanswered for this long is abandoned and its batch spooled. Default: timeoutMs. */
  hangThresholdMs?: number | undefined;
  maxInFlight: number;
  retryInitialMs: number;
  retryMaxMs: number;
  spoolDir: string;
  spoolMaxBytes: number;
  spoolMaxAgeMs: number;
  /** Where points the spool loses are counted by reason and measurement. */
  loss?: LossLedger | undefined;
  /** Repeated conditions (unauthorized, a reject reason) are logged at most once per this. Default 60 s. */
  logIntervalMs?: number | undefined;
}

export class InfluxSink implements Sink {
  readonly name = 'influx';
  private readonly opts: InfluxSinkOptions;
  private readonly log: Logger;
  private readonly client: InfluxClient;
  readonly spool: Spool;
  private readonly s: SinkStats = emptyStats();
  private readonly failures: Record<WriteFailureKind, number> = { unauthorized: 0, not_found: 0, too_large: 0, rejected: 0, unavailable: 0 };
  private readonly rejects: Rejects;
  private clamped = 0;
  private adminDenied = 0;
  private inFlight = 0;
  private readonly slotWaiters: (() => void)[] = [];
  private replaying: Promise<void> | undefined;
  /** Requests in flight (live and replay), aborted when the sink stops waiting for the network. */
  private readonly requests = new Set<AbortController>();
  /** Shutdown has passed its network grace: every batch goes to the spool. */
  private abandoned = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private dbReady = false;
  private readonly delivery: DeliveryState;
  private spoolLossLoggedAt = -Infinity;
  private spoolLossSinceLog = 0;

  constructor(opts: InfluxSinkOptions, log: Logger) {
    this.opts = opts;
    this.log = log.child({ sink: 'influx' });
    let ca: string | undefined;
    if (opts.tlsCaFile !== undefined) {
      try {
        ca = readFileSync(opts.tlsCaFile, 'utf8');
      } catch (e) {
        throw new SinkError(`cannot read tls.ca ${opts.tlsCaFile}: ${(e as Error).message}`, false);
      }
    }
    this.client = new InfluxClient({
      url: opts.url,
      api: opts.api ?? 'v1',
      database: opts.database,
      retentionPolicy: opts.retentionPolicy?.name,
      username: opts.username,
      password: opts.password,
      token: opts.token,
      org: opts.org,
      bucket: opts.bucket,
      precision: opts.precision ?? 'ms',
      gzip: opts.gzip ?? false,
      ca,
      timeoutMs: opts.timeoutMs,
    });
    this.rejects = new Rejects(this.log, opts.logIntervalMs ?? 60_000);
    this.delivery = new DeliveryState(this.log, opts.logIntervalMs ?? 60_000, { user: this.client.user, target: this.client.target, retentionPolicy: opts.retentionPolicy?.name, spool: () => this.spool.size });
    const loss = opts.loss;
    this.spool = new Spool(opts.spoolDir, { maxBytes: opts.spoolMaxBytes, maxAgeMs: opts.spoolMaxAgeMs }, this.log, loss && ((why, text, points) => (text === undefined ? loss.add(why, '', points) : loss.addLines(why, text))));
    checkSpoolPrecision(opts.spoolDir, opts.precision ?? 'ms', this.spool.empty);
  }

  async start(): Promise<void> {
    // a hung server must not hold the start longer than it may hold a write
    await this.ensureDb(AbortSignal.timeout(this.opts.hangThresholdMs ?? this.opts.timeoutMs)).catch((e: unknown) => {
      this.log.warn({ err: (e as Error).message, url: this.opts.url }, 'InfluxDB not reachable at start; spooling until it is');
    });
    if (!this.spool.empty) {
      this.log.info(this.spool.size, 'replaying spooled batches from a previous run');
      this.kickReplay();
    }
  }

  async write(batch: readonly NetRecord[]): Promise<void> {
    const { text, lines, skipped, clamped } = toLines(batch, { integers: this.opts.integers ?? 'int64', precision: this.opts.precision ?? 'ms' });
    this.clamped += clamped;
    if (skipped) this.rejects.add('', '', 'no_writable_field', skipped, 'record without a writable field (NaN/Infinity or empty)');
    if (lines === 0) return;
    if (this.abandoned || !this.spool.empty || this.replaying) return this.toSpool(text, lines);
    await this.acquire();
    try {
      if (this.abandoned || !this.spool.empty || this.replaying) return this.toSpool(text, lines);
      await this.send(text, lines, this.opts.hangThresholdMs ?? this.opts.timeoutMs);
    } catch (e) {
      this.failed(e);
      this.toSpool(text, lines);
    } finally {
      this.release();
    }
  }

  /**
   * One delivery: resolves when every point is stored or counted as rejected; throws a retryable
   * WriteError when the batch must be kept (spooled) and tried again: also when no answer came within
   * `hangMs` or the sink abandoned its requests (shutdown). The server may still store an abandoned
   * batch; its replay then overwrites identical points.
   */
  private async send(text: string, lines: number, hangMs: number): Promise<void> {
    const ac = new AbortController();
    this.requests.add(ac);
    const t = setTimeout(() => ac.abort(new Error(`no answer within hang_threshold (${hangMs} ms)`)), hangMs);
    try {
      await this.deliver(text, lines, ac.signal);
    } finally {
      clearTimeout(t);
      this.requests.delete(ac);
    }
  }

  private async deliver(text: string, lines: number, signal: AbortSignal): Promise<void> {
    if (!this.dbReady) await this.ensureDb(signal);
    signal.throwIfAborted();
    const t0 = performance.now();
    try {
      await this.client.write(text, signal);
    } catch (e) {
      const err = asWriteError(e);
      if (err.kind === 'too_large' || err.kind === 'rejected') this.failures[err.kind]++;
      if (err.kind === 'too_large') {
        if (lines > 1) return this.sendLines(splitLines(text), true, signal);
        this.rejects.add('', '', 'too_large', 1, err.message, text);
        return;
      }
      if (err.kind === 'rejected') return this.isolate(splitLines(text), err, performance.now() - t0, signal);
      if (err.kind === 'not_found' && this.opts.createDatabase && (this.opts.api ?? 'v1') === 'v1') this.dbReady = false;
      throw err;
    }
    this.delivery.set('ok');
    this.record(lines, performance.now() - t0);
  }

  private sendLines(all: readonly string[], split: boolean, signal: AbortSignal): Promise<void> {
    if (!split) return this.deliver(all.join('\n') + '\n', all.length, signal);
    const mid = all.length >> 1;
    return this.sendLines(all.slice(0, mid), false, signal).then(() => this.sendLines(all.slice(mid), false, signal));
  }

  /**
   * The server refused some points of `lines`. A type conflict names measurement, field and type: those
   * lines are counted and, when the server says it dropped no more than them, the rest is already stored
   * (1.x and 2.x write the good points of a partial write). Otherwise the rest is sent again (identical
   * points overwrite, so this is safe), and an answer we cannot attribute is bisected down to single lines.
   * Should the server fail (5xx) in the middle of this, the whole batch is spooled and its refused
   * points are counted once more when it is replayed: over-counted rejects, never lost points.
   */
  private async isolate(lines: readonly string[], err: WriteError, ms: number, signal: AbortSignal): Promise<void> {
    const named = this.rejects.fromConflict(lines, err.message);
    if (named) {
      if (named.dropped !== undefined && named.dropped <= named.bad) return void (named.rest.length && this.record(named.rest.length, ms));
      if (named.rest.length === 0) return;
      return this.sendLines(named.rest, false, signal);
    }
    // every point dropped (e.g. all outside the retention policy): nothing to search for
    if (lines.length === 1 || droppedCount(err.message) === lines.length) {
      for (const l of lines) this.rejects.fromAnswer(l, err.message);
      return;
    }
    return this.sendLines(lines, true, signal);
  }

  private failed(e: unknown): void {
    const err = asWriteError(e);
    this.s.writeErrors++;
    this.s.retries++;
    this.failures[err.kind]++;
    if (err.kind === 'unauthorized' || err.kind === 'not_found') this.delivery.set(err.kind, err);
    else this.delivery.set('unavailable', err);
  }

  private record(points: number, ms: number): void {
    this.s.batches++;
    this.s.points += points;
    this.s.latencySumMs += ms;
    this.s.latencyCount++;
    if (ms > this.s.windowMaxLatencyMs) this.s.windowMaxLatencyMs = ms;
  }

  private toSpool(text: string, lines: number): void {
    try {
      this.spool.append(text, lines);
      this.spool.expire();
    } catch (e) {
      this.s.lostPoints += lines;
      this.opts.loss?.addLines('spool_write_failed', text);
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
      // a batch spooled between the loop's last look and here saw `replaying` set and started none
      if (!this.spool.empty && !this.stopped) this.kickReplay();
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
        // nothing waits on a replay: it may take the whole timeout
        await this.send(item.text, item.entry.points, this.opts.timeoutMs);
        this.spool.ack(item.entry.seq);
        attempt = 0;
      } catch (e) {
        this.failed(e);
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

  /**
   * CREATE DATABASE / RETENTION POLICY (1.x). Refused for lack of permission: a write-only user, the
   * database an administrator made. Warn once and write: the write's own answer tells if it is missing.
   */
  private async ensureDb(signal?: AbortSignal): Promise<void> {
    if (!this.opts.createDatabase || (this.opts.api ?? 'v1') !== 'v1') {
      this.dbReady = true;
      return;
    }
    const rp = this.opts.retentionPolicy;
    try {
      await this.client.ensureDatabase(rp ? { name: rp.name, duration: rp.duration, replication: rp.replication, isDefault: rp.default } : undefined, signal);
    } catch (e) {
      const err = asWriteError(e);
      if (err.kind !== 'unauthorized') throw err;
      if (this.adminDenied++ === 0) {
        const why = err.status === 401 ? 'credentials refused (401)' : 'no permission';
        this.log.warn({ err: err.message, status: err.status, user: this.client.user ?? null, target: this.client.target }, `${why} to create the database or retention policy; assuming an administrator made them, writing on`);
      }
    }
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

  /**
   * Stop waiting for the network (the shutdown deadline is near): requests in flight are aborted and
   * their batches spooled, and every later batch goes straight to the spool. Data is never abandoned.
   */
  abandon(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    const n = this.requests.size;
    for (const ac of this.requests) ac.abort(new Error('abandoned at shutdown; the batch is spooled'));
    if (n) this.log.warn({ requests: n }, 'shutdown deadline: abandoning InfluxDB writes in flight, their batches go to the spool');
  }

  async stop(deadlineMs: number): Promise<void> {
    const until = performance.now() + deadlineMs; // monotonic, like the pipeline's
    // In-flight writes and a live replay get 80 % of the deadline, then are abandoned: their
    // batches are spooled (disk speed), so nothing in memory outlives the deadline.
    const grace = until - deadlineMs * 0.2;
    while ((this.inFlight > 0 || (this.replaying && this.delivery.current === 'ok')) && performance.now() < grace) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.abandon();
    this.stopped = true;
    this.wake?.();
    while (this.inFlight > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
    await Promise.race([this.replaying, new Promise((r) => setTimeout(r, Math.max(0, until - performance.now())))]);
    this.client.close();
  }

  stats(resetWindow = false): SinkStats {
    const sz = this.spool.size;
    const out: SinkStats = {
      ...this.s,
      rejectedPoints: this.rejects.total,
      spoolBytes: sz.bytes,
      spoolBatches: sz.batches,
      spoolDroppedPoints: this.spool.droppedPoints,
      spoolCorruptPoints: this.spool.corruptPoints,
      spoolDiskFull: this.spool.diskFull,
      state: this.delivery.current,
      clampedValues: this.clamped,
      rejected: this.rejects.list(),
      failures: { ...this.failures },
      adminDenied: this.adminDenied,
    };
    if (resetWindow) this.s.windowMaxLatencyMs = 0;
    return out;
  }

  /** Not ready when refused (401/403) or missing (404): only an operator fixes those; or when the spool nears its bound. */
  ready(): boolean {
    if (this.delivery.current === 'unauthorized' || this.delivery.current === 'not_found') return false;
    // a full spool disk loses every batch that must be spooled; stale once writes are live again
    if (this.spool.diskFull && !(this.delivery.current === 'ok' && this.spool.empty && !this.replaying)) return false;
    return this.delivery.current === 'ok' || this.spool.size.bytes < this.opts.spoolMaxBytes * 0.9;
  }
}
