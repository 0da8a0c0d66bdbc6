/**
 * Emitters -> enrichment -> bounded queue -> batcher -> every sink.
 *
 * Back-pressure: at most `concurrency` batches are in the sinks at once; while they are busy the
 * queue fills and, at capacity, its overflow policy drops records (counted, visible as queue depth and
 * drops in self-telemetry). Sinks with a spool take batches at disk speed during an outage (and a
 * hung server holds a batch only for the sink's hang threshold), so the queue overflows only if the
 * disk cannot keep up.
 */
import { performance } from 'node:perf_hooks';
import type { Emitter } from '../collector.js';
import type { Logger } from '../log.js';
import type { NetRecord } from '../record/record.js';
import type { Sink } from '../sinks/sink.js';
import { stampVerdict, type VerdictSource } from '../enrich/verdict.js';
import type { LossLedger } from './loss.js';
import { BoundedQueue, type OverflowPolicy } from './queue.js';

export interface PipelineOptions {
  queueSize: number;
  overflow: OverflowPolicy;
  batchSize: number;
  flushIntervalMs: number;
  concurrency: number;
  /** Stamps `vm_verdict` at dispatch; a batch waits up to `holdMs` for the monitor to settle its window. */
  verdict?: { source: VerdictSource; holdMs: number };
  /** Where records the pipeline drops are counted by reason and measurement. */
  loss?: LossLedger;
  /** The collector's timeline (src/clock.ts) for `collectedAt`; Date.now() when absent. */
  now?: () => number;
}

export interface CollectorCounters {
  records: number;
  errors: number;
}

export interface PipelineStats {
  queueDepth: number;
  queueCapacity: number;
  queueHighWater: number;
  droppedQueueFull: number;
  droppedAfterStop: number;
  /** Records still queued when the shutdown deadline passed although the sinks were spooling (a disk too slow). */
  droppedAtStop: number;
  /** Batches a sink failed to accept (its own stats say why). */
  sinkFailures: number;
  recordsOut: number;
  batches: number;
  collectors: Record<string, CollectorCounters>;
}

const ERROR_LOG_EVERY_MS = 60_000;

export class Pipeline {
  private readonly opts: PipelineOptions;
  private readonly sinks: readonly Sink[];
  private readonly enrich: (r: NetRecord) => void;
  private readonly log: Logger;
  private readonly queue: BoundedQueue<NetRecord>;
  private readonly counters = new Map<string, CollectorCounters>();
  private readonly lastErrorLog = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private workers = 0;
  private idleWaiters: (() => void)[] = [];
  private accepting = true;
  /** False once stopping: the monitor is stopped too, waiting for it would only burn the deadline. */
  private holding = true;
  private recordsOut = 0;
  private batches = 0;
  private sinkFailures = 0;
  private droppedAfterStop = 0;
  private droppedAtStop = 0;

  constructor(opts: PipelineOptions, sinks: readonly Sink[], enrich: (r: NetRecord) => void, log: Logger) {
    this.opts = opts;
    this.sinks = sinks;
    this.enrich = enrich;
    this.log = log.child({ component: 'pipeline' });
    this.queue = new BoundedQueue<NetRecord>(opts.queueSize, opts.overflow, (r) => opts.loss?.add('queue_full', r.measurement, 1));
  }

  /** The narrow emitter handed to one collector. */
  emitterFor(collector: string): Emitter {
    const c: CollectorCounters = { records: 0, errors: 0 };
    this.counters.set(collector, c);
    return {
      emit: (r) => {
        if (!this.accepting) {
          this.droppedAfterStop++;
          this.opts.loss?.add('after_stop', r.measurement, 1);
          return;
        }
        c.records++;
        this.push(r);
      },
      error: (err, context) => {
        c.errors++;
        this.logError(collector, err, context);
      },
    };
  }

  private push(r: NetRecord): void {
    r.collectedAt ??= this.opts.now?.() ?? Date.now();
    try {
      this.enrich(r);
    } catch (e) {
      this.logError('enrich', e);
    }
    this.queue.push(r);
    if (this.queue.length >= this.opts.batchSize) this.kick();
  }

  private logError(collector: string, err: unknown, context?: object): void {
    const msg = err instanceof Error ? err.message : String(err);
    const key = `${collector}:${msg.slice(0, 80)}`;
    const now = Date.now();
    if ((this.lastErrorLog.get(key) ?? 0) + ERROR_LOG_EVERY_MS > now) return;
    if (this.lastErrorLog.size > 1000) this.lastErrorLog.clear();
    this.lastErrorLog.set(key, now);
    this.log.warn({ collector, err: msg, ...context }, 'collector error (further identical errors are counted, logged at most once a minute)');
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.opts.flushIntervalMs);
    this.timer.unref();
  }

  private kick(): void {
    while (this.workers < this.opts.concurrency && this.queue.length > 0) {
      this.workers++;
      void this.work();
    }
  }

  private async work(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.take(this.opts.batchSize);
        if (this.opts.verdict) await this.stamp(batch, this.opts.verdict);
        const results = await Promise.allSettled(this.sinks.map((s) => s.write(batch)));
        for (const [i, res] of results.entries()) {
          if (res.status === 'rejected') {
            this.sinkFailures++;
            this.logError(`sink:${this.sinks[i]?.name}`, res.reason);
          }
        }
        this.recordsOut += batch.length;
        this.batches++;
      }
    } finally {
      this.workers--;
      if (this.workers === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async stamp(batch: NetRecord[], v: { source: VerdictSource; holdMs: number }): Promise<void> {
    let newest = 0;
    for (const r of batch) if ((r.collectedAt ?? 0) > newest) newest = r.collectedAt ?? 0;
    // monotonic deadline: with the wall clock stepped back, `Date.now() < until` would hold for the step
    const until = performance.now() + v.holdMs;
    while (this.holding && v.source.settledUntil() < newest && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
    for (const r of batch) stampVerdict(r, v.source);
  }

  /**
   * Resolves when the queue is empty and no batch is in a sink: every record emitted before the call
   * has then been written or spooled (the bus commits a processor's datagrams on it).
   */
  async drain(): Promise<void> {
    this.kick();
    while (this.workers > 0 || this.queue.length > 0) {
      await new Promise<void>((r) => this.idleWaiters.push(r));
      this.kick();
    }
  }

  /** Drains until `until` (performance.now() ms); true when nothing is left in the queue or the sinks. */
  private async drainUntil(until: number): Promise<boolean> {
    let t: NodeJS.Timeout | undefined;
    const late = new Promise<false>((r) => (t = setTimeout(() => r(false), Math.max(0, until - performance.now()))));
    const done = await Promise.race([this.drain().then(() => true), late]);
    clearTimeout(t);
    return done;
  }

  /** Pushes records straight in (self-telemetry), bypassing per-collector counting. */
  inject(r: NetRecord): void {
    if (this.accepting) this.push(r);
  }

  /**
   * Flush what is queued to the sinks, then stop them; spends at most deadlineMs. The sinks get 60 %
   * of it to deliver over the network; then they abandon() it and take the rest at disk speed (their
   * spools), so every record in memory reaches a sink or, should even the disk be too slow, is counted
   * in droppedAtStop. `final` makes the last records (self-telemetry) once the queue is empty, so
   * they hold the counts of the whole run.
   */
  async stop(deadlineMs: number, final?: () => NetRecord[]): Promise<void> {
    // monotonic: a wall-clock step during shutdown must not stretch or cut the deadline
    const until = performance.now() + deadlineMs;
    const reserve = Math.min(1000, deadlineMs * 0.1); // for the sinks' own stop
    if (this.timer) clearInterval(this.timer);
    this.holding = false;
    if (!(await this.drainUntil(performance.now() + deadlineMs * 0.6))) {
      this.log.warn({ queued: this.queue.length, batches_in_sinks: this.workers }, 'shutdown: sinks still busy; the rest goes to their spools');
      for (const s of this.sinks) s.abandon?.();
    }
    await this.drainUntil(until - reserve);
    for (const r of final?.() ?? []) this.push(r);
    await this.drainUntil(until - reserve / 2);
    this.accepting = false;
    if (this.queue.length) {
      this.droppedAtStop += this.queue.length;
      this.log.error({ records: this.queue.length }, 'shutdown deadline reached with records still queued: lost (counted in dropped_at_stop)');
      for (const r of this.queue.take(this.queue.length)) this.opts.loss?.add('at_stop', r.measurement, 1);
    }
    await Promise.all(this.sinks.map((s) => s.stop(Math.max(100, until - performance.now())).catch((e: unknown) => this.logError(`sink:${s.name}`, e))));
  }

  stats(): PipelineStats {
    const collectors: Record<string, CollectorCounters> = {};
    for (const [k, v] of this.counters) collectors[k] = { ...v };
    return {
      queueDepth: this.queue.length,
      queueCapacity: this.queue.capacity,
      queueHighWater: this.queue.highWater,
      droppedQueueFull: this.queue.dropped,
      droppedAfterStop: this.droppedAfterStop,
      droppedAtStop: this.droppedAtStop,
      sinkFailures: this.sinkFailures,
      recordsOut: this.recordsOut,
      batches: this.batches,
      collectors,
    };
  }
}
