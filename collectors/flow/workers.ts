/**
 * `workers: N`: decoding and aggregation in N worker threads (worker-entry.ts) while the main thread
 * keeps the sockets, so receiving never waits for a decode. Each exporter's state lives in exactly
 * one worker (shard.ts). Datagrams are copied once into a per-worker batch whose buffers are
 * transferred, not cloned, at the end of the event-loop turn that received them. The interval sums
 * come back when the collector asks (checkpoint, flush, stop) and are added to the main thread's
 * Aggregator, with the interval volumes and loss inputs, so flushes, checkpoints and the pipeline
 * are the in-thread ones. Enrichment tables reach the workers as copies (worker-tables.ts).
 *
 * A worker that exits or stops answering is logged, counted (`worker_restarts`) and started again
 * from the state it last reported; the datagrams it was sent since its last answered drain are
 * counted in `worker_lost` (their sums went with it), as are those that arrive while it is down.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { InterfaceInfo } from '../../src/collector.js';
import type { Logger } from '../../src/log.js';
import type { NetRecord } from '../../src/record/record.js';
import type { AggregateSnapshot, Aggregator } from './aggregate.js';
import type { FlowConfig } from './config.js';
import { exporterAddress } from './processor.js';
import { joinParts, OPTIONS_LISTS, shardOf, TEMPLATE_LISTS } from './shard.js';
import { OPTIONS_FILE, TEMPLATE_FILE } from './state.js';
import { replaceFile } from './statefile.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-entry.js';
import { nothingSent, type TableFeed } from './worker-tables.js';
import { WorkerReports, type Batch, type House, type Pending, type Slot } from './worker-reports.js';
import type { TimeSource } from './timestamps.js';
import type { VolumeSums } from './volumes.js';

export interface PoolHooks {
  emit(r: NetRecord): void;
  error(err: unknown, context?: Record<string, string>): void;
  interfaces(exporter: string, list: InterfaceInfo[]): void;
  clockOffset(exporter: string, ms: number): void;
  /** An `auto` exporter's flow times switched clock in its worker (timestamps.ts). */
  timeSource?(exporter: string, source: TimeSource, offsetMs: number): void;
  /** A worker's flow_volume / flow_if tallies, with every drain. */
  volumes?(sums: VolumeSums): void;
  /** Networks and interface roles for the derived dimensions (worker-tables.ts). */
  tables?: TableFeed;
  log: Logger;
}

type Drained = Extract<FromWorker, { t: 'drained' }>;

/**
 * Datagrams per batch, and the batch buffer's size: twice what the worker's last batch used, from
 * 16 KiB to 128 KiB (a larger datagram gets its own), so a trickle of one datagram per turn of the
 * loop does not allocate 128 KiB for each.
 */
const BATCH_MAX = 256;
const BATCH_MIN_BYTES = 16 * 1024;
const BATCH_BYTES = 128 * 1024;
/**
 * Bytes of batch buffers posted to a worker and not yet handled, at most: like a socket buffer, a
 * worker that falls behind loses what does not fit (counted in `worker_dropped`) instead of
 * growing without bound; it also keeps a drain's wait behind the queue far below ANSWER_MS.
 */
export const MAX_QUEUED_BYTES = 32 * 1024 * 1024;
/** A worker that has not answered a drain or report in this long is ended and restarted. */
export const ANSWER_MS = 10_000;
/** A worker that exits within this of its start is restarted after it, not at once (a crash loop). */
const RESTART_MS = 1000;

/** The built worker file: beside this one in dist, or dist's copy when this runs as TypeScript (vitest). */
export function workerFile(): URL {
  const here = new URL('./worker-entry.js', import.meta.url);
  if (!import.meta.url.endsWith('.ts')) return here;
  const dist = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'dist', 'collectors', 'flow', 'worker-entry.js');
  if (!existsSync(dist)) throw new Error(`flow workers need the built worker file ${dist}: run npm run build`);
  return new URL(`file://${dist}`);
}

export class FlowWorkers extends WorkerReports {
  private scheduled = false;
  private nextId = 0;
  private stopping = false;
  private templatesChanged = false;
  private optionsChanged = false;

  constructor(
    private cfg: FlowConfig,
    name: string,
    private readonly dataDir: string,
    private readonly hooks: PoolHooks,
    private readonly file: URL = workerFile(),
    private readonly talkerPart?: number,
  ) {
    super(
      Array.from({ length: cfg.workers }, (_, index) => ({ index, worker: undefined, startedAt: 0, posted: 0, covered: 0, queued: 0, lastUsed: 0, batch: undefined, pending: new Map(), lossChanges: 0, sent: nothingSent(), seq: [], datagrams: [] })),
      name,
    );
  }

  start(): void {
    for (const s of this.slots) this.spawn(s);
    this.hooks.log.info({ workers: this.slots.length }, 'flow decoding and aggregation in worker threads');
  }

  /** The receive path: one hash, one copy into the owner's batch; posted at the end of this turn. */
  handle(msg: Uint8Array, addr: string, port: number, now: number): void {
    const s = this.slots[shardOf(exporterAddress(addr), this.slots.length)] as Slot;
    if (!s.worker) {
      this.lost++;
      return;
    }
    let b = s.batch;
    const fits = b !== undefined && b.n < BATCH_MAX && b.used + msg.byteLength <= b.bytes.byteLength;
    const size = fits ? 0 : Math.max(msg.byteLength, Math.min(BATCH_BYTES, Math.max(BATCH_MIN_BYTES, 2 * s.lastUsed)));
    if (s.queued + (b?.bytes.byteLength ?? 0) + size > MAX_QUEUED_BYTES) {
      this.dropped++;
      return;
    }
    if (!b || !fits) {
      if (b) this.post(s);
      b = s.batch = newBatch(size);
    }
    b.bytes.set(msg, b.used);
    b.off[b.n] = b.used;
    b.used += msg.byteLength;
    b.port[b.n] = port;
    b.now[b.n] = now;
    b.addr.push(addr);
    b.n++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.postAll());
    }
  }

  private postAll(): void {
    this.scheduled = false;
    for (const s of this.slots) if (s.batch) this.post(s);
  }

  private post(s: Slot): void {
    const b = s.batch as Batch;
    s.batch = undefined;
    if (!s.worker) {
      this.lost += b.n;
      return;
    }
    // a table that changed reaches the worker before the datagrams received after the change
    const tables = this.hooks.tables?.changes(s.sent, s.index, this.slots.length);
    if (tables) s.worker.postMessage(tables);
    b.off[b.n] = b.used;
    const size = b.bytes.byteLength; // read before the transfer detaches it
    const m: ToWorker = { t: 'd', buf: b.bytes.buffer as ArrayBuffer, n: b.n, off: b.off, port: b.port, now: b.now, addr: b.addr };
    s.worker.postMessage(m, [m.buf, b.off.buffer as ArrayBuffer, b.port.buffer as ArrayBuffer, b.now.buffer as ArrayBuffer]);
    s.posted += b.n;
    s.queued += size;
    s.lastUsed = b.used;
  }

  /**
   * Adds every worker's sums since the last drain to `agg` (each reply in its own turn of the loop)
   * and starts their next interval; `cfg` (a reload) applies to what they aggregate from here on.
   */
  async drain(target: Aggregator | (() => Aggregator), cfg?: FlowConfig): Promise<void> {
    if (cfg) {
      this.cfg = cfg;
      this.hooks.tables?.configure(cfg.dimensions);
    }
    // a getter is read per reply: a drain answered after a reload adds to the new interval's aggregator
    const at = typeof target === 'function' ? target : (): Aggregator => target;
    const part = (snap: AggregateSnapshot): void => at().restore(snap);
    await this.ask((id) => ({ t: 'drain', id, ...(cfg ? { cfg } : {}) }), part, (s, r, posted) => {
      const d = r as Drained;
      const agg = at();
      agg.restore(d.agg);
      agg.flowsIn += d.flowsIn;
      agg.overflowed += d.overflowed;
      s.covered = Math.max(s.covered, posted);
      if (d.loss) s.loss = d.loss;
      s.lossChanges = d.lossChanges;
      s.seq = d.seq;
      s.datagrams = d.datagrams;
      this.hooks.volumes?.(d.volumes);
    });
  }

  /** Template expiry and each worker's counters, loss streams and template/options state. */
  async report(now: number): Promise<void> {
    await this.ask((id) => ({ t: 'house', id, now }), undefined, (s, r) => {
      const h = r as House;
      s.house = h;
      if (h.templates !== undefined) {
        s.templates = h.templates;
        this.templatesChanged = true;
      }
      if (h.options !== undefined) {
        s.options = h.options;
        this.optionsChanged = true;
      }
    });
  }

  private ask(msg: (id: number) => ToWorker, part: Pending['part'], got: (s: Slot, r: FromWorker, posted: number) => void): Promise<void> {
    this.postAll();
    const waits = this.slots.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (!s.worker) return resolve();
          const id = ++this.nextId;
          const w = s.worker;
          const posted = s.posted;
          const timer = setTimeout(() => {
            this.hooks.log.error({ worker: s.index }, 'flow worker did not answer: ended, restarted, its datagrams since the last drain counted as lost');
            void w.terminate();
          }, ANSWER_MS);
          timer.unref();
          s.pending.set(id, {
            posted,
            ...(part ? { part } : {}),
            done: (r) => {
              clearTimeout(timer);
              if (r) got(s, r, posted);
              resolve();
            },
          });
          w.postMessage(msg(id));
        }),
    );
    return Promise.all(waits).then(() => undefined);
  }

  private spawn(s: Slot): void {
    const init: WorkerInit = { cfg: this.cfg, name: this.name, index: s.index, count: this.slots.length, dataDir: this.dataDir, ...(this.talkerPart ? { talkerPart: this.talkerPart } : {}) };
    // a restart continues from what the worker last reported; the first start reads the data directory
    if (s.house) init.state = { templates: s.templates, options: s.options, loss: s.loss, sampling: s.house.sampling };
    s.sent = nothingSent();
    const w = new Worker(this.file, { workerData: init, name: `flow-${s.index}` });
    s.worker = w;
    s.startedAt = Date.now();
    w.on('message', (m: FromWorker) => this.onMessage(s, m));
    w.on('error', (e) => this.hooks.error(e, { worker: String(s.index) }));
    w.on('exit', (code) => {
      if (s.worker === w && !this.stopping) this.crashed(s, code);
    });
  }

  private crashed(s: Slot, code: number): void {
    const lost = s.posted - s.covered;
    this.lost += lost;
    s.covered = s.posted;
    this.restarts++;
    s.worker = undefined;
    s.queued = 0;
    for (const p of s.pending.values()) p.done(undefined);
    s.pending.clear();
    this.hooks.log.error({ worker: s.index, code, lost_datagrams: lost }, 'flow worker exited: restarting it; its datagrams since the last drain are counted as lost (worker_lost)');
    const wait = Date.now() - s.startedAt < RESTART_MS ? RESTART_MS : 0;
    const t = setTimeout(() => {
      if (!this.stopping) this.spawn(s);
    }, wait);
    t.unref();
  }

  private onMessage(s: Slot, m: FromWorker): void {
    if (m.t === 'out') {
      s.queued -= m.handled;
      for (const r of m.records) this.hooks.emit(r);
      for (const [e, l] of m.interfaces) this.hooks.interfaces(e, l);
      for (const [e, ms] of m.offsets) this.hooks.clockOffset(e, ms);
      for (const [e, src, ms] of m.sources) this.hooks.timeSource?.(e, src, ms);
      for (const [e, stack] of m.errors) this.hooks.error(new Error(`flow worker ${s.index}: ${stack}`), { exporter: e });
      return;
    }
    const p = s.pending.get(m.id);
    if (!p) return;
    if (m.t === 'part') return p.part?.(m.agg);
    s.pending.delete(m.id);
    p.done(m);
  }

  /** templates.json and options.json as one file each, when a worker's part changed. */
  async saveState(): Promise<void> {
    if (this.templatesChanged && this.slots.every((s) => s.templates !== undefined)) {
      this.templatesChanged = false;
      await replaceFile(join(this.dataDir, TEMPLATE_FILE), JSON.stringify(joinParts(this.slots.map((s) => s.templates), TEMPLATE_LISTS)));
    }
    if (this.optionsChanged && this.slots.every((s) => s.options !== undefined)) {
      this.optionsChanged = false;
      await replaceFile(join(this.dataDir, OPTIONS_FILE), JSON.stringify(joinParts(this.slots.map((s) => s.options), OPTIONS_LISTS)));
    }
  }

  /** Test hook: the fault a real crash would cause, without a bug to cause it (see workers.test.ts). */
  kill(index: number): Promise<number> {
    return this.slots[index]?.worker?.terminate() ?? Promise.resolve(0);
  }

  /** The last sums into `agg`, a last report, then the threads end. */
  async stop(agg: Aggregator | (() => Aggregator), now: number): Promise<void> {
    await this.drain(agg);
    await this.report(now);
    this.stopping = true;
    await Promise.all(this.slots.map((s) => s.worker?.terminate()));
    for (const s of this.slots) s.worker = undefined;
  }
}

function newBatch(size: number): Batch {
  return {
    bytes: new Uint8Array(size),
    used: 0,
    n: 0,
    off: new Uint32Array(BATCH_MAX + 1),
    port: new Uint16Array(BATCH_MAX),
    now: new Float64Array(BATCH_MAX),
    addr: [],
  };
}
