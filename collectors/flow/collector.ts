/**
 * The UDP flow collector: sockets -> FlowProcessor -> aggregator, with timers for interval flushes,
 * stats/loss records, template expiry, and state persisted in the data directory (state.ts), the
 * open interval included (checkpoint.ts).
 */
import type { RemoteInfo } from 'node:dgram';
import type { Collector, CollectorContext, InterfaceInfo } from '../../src/collector.js';
import type { NetRecord } from '../../src/record/record.js';
import { TemplateStore } from '../netflow/templates.js';
import { fieldMap } from '../netflow/fields.js';
import { Aggregator, DIMENSIONS } from './aggregate.js';
import { Allowlist } from './cidr.js';
import { fieldEntries, flowConfigSchema, mappedAddresses, mappedDimensions, type FlowConfig } from './config.js';
import { closeSocket, openSocket, type OpenSocket } from './listener.js';
import { FlowProcessor } from './processor.js';
import { DERIVED_DIMENSIONS, deriver, isDerived } from './derived.js';
import type { FlowView } from './view.js';
import { loadState, saveState } from './state.js';
import { perFlow, RawSeq } from './rawseq.js';
import { lossState, readLossState, restoreLoss, writeLossState, writeLossStateSync, type LossState } from './losspersist.js';
import { SamplingRates } from './sampling.js';
import { IntervalVolumes, type VolumeSums } from './volumes.js';
import { correctAggregate, LossWindow } from './loss-ratio.js';
import { socketDrops } from './sockdrops.js';
import { FlowWorkers } from './workers.js';
import { checkPaths, pathRows, PathWatch } from './path.js';
import { TableFeed } from './worker-tables.js';
import { ReceiveTurns } from './turns.js';
import { consumeFeed, shareState } from './busfeed.js';
import { CHECKPOINT_EVERY_MS, readCheckpoint, sameShape, writeCheckpoint, writeCheckpointSync, type Checkpoint, type CheckpointCopy, type CheckpointShape } from './checkpoint.js';

export { TEMPLATE_FILE, OPTIONS_FILE } from './state.js';

function aggregatorFor(cfg: FlowConfig, mapped: readonly string[]): Aggregator {
  return new Aggregator({ dimensions: cfg.dimensions, mapped: [...mapped, ...DERIVED_DIMENSIONS], addresses: mappedAddresses(cfg), maxSeries: cfg.max_series, topN: cfg.top_n, topBy: cfg.top_by, maxTalkers: cfg.max_talkers });
}

function shapeOf(cfg: FlowConfig): CheckpointShape {
  return { interval: cfg.interval, dimensions: [...cfg.dimensions], topBy: [...cfg.top_by], maxSeries: cfg.max_series, topN: cfg.top_n, maxTalkers: cfg.max_talkers };
}

export class FlowCollector implements Collector {
  readonly name: string;
  readonly store: TemplateStore;
  readonly processor: FlowProcessor;
  private cfg: FlowConfig;
  private aggregator: Aggregator;
  private sockets: OpenSocket[] = [];
  /** Granted SO_RCVBUF per bound port, kept past stop for the final stats record. */
  private readonly rcvbufs = new Map<number, number>();
  private timers: NodeJS.Timeout[] = [];
  private boundary: NodeJS.Timeout | undefined;
  /** Bumped when the timers stop: a boundary flush still waiting for the workers' sums is then dropped. */
  private timerGen = 0;
  private intervalStart = 0;
  private lastLabel = -Infinity;
  private stopped = false;
  private saving: Promise<void> = Promise.resolve();
  /** flow_top rows of closed intervals still being computed (Aggregator.flushLater). */
  private pendingTop: Promise<void> = Promise.resolve();
  /** Aggregator.flowsIn at the last checkpoint: an idle interval is not rewritten every few seconds. */
  private checkpointed = -1;
  /** A checkpoint copy in the talker tables' spare arrays is being written (TalkerTable.copy). */
  private spareBusy = false;
  /** LossTracker.changes at the last save of the loss state (losspersist.ts). */
  private lossSaved = -1;
  private lossSavedAt = 0;
  /** Keeps raw flow points of one exporter that end in the same ms apart (rawseq.ts). */
  readonly rawSeq = new RawSeq(Date.now());
  private readonly pathWatch = new PathWatch();
  /** Mapped dimension names, fixed at start like the mapping templates are compiled with. */
  private readonly mapped: readonly string[];
  /** Fills the networks/roles dimensions (derived.ts) after the keys are read. */
  private derive: (k: FlowView) => FlowView;
  /** Configured sampling rates (sampling.ts), per-interval volumes and loss ratios (volumes.ts, loss-ratio.ts). */
  private sampling: SamplingRates;
  private readonly volumes = new IntervalVolumes();
  private readonly lossWindow = new LossWindow();
  /** When the volumes' current window opened (the last flush, or the start), on the collector's timeline. */
  private volumesSince = -1;
  /** `workers: N` > 0: decoding and aggregation in worker threads (workers.ts). */
  private readonly pool: FlowWorkers | undefined;
  /** One receive time per turn of the loop, and the wait after a turn that drained the sockets (turns.ts). */
  private readonly turns: ReceiveTurns;

  constructor(
    cfg: FlowConfig,
    private readonly ctx: CollectorContext,
    name = 'flow',
  ) {
    this.name = name;
    this.cfg = cfg;
    this.mapped = mappedDimensions(cfg);
    this.store = new TemplateStore({
      fields: fieldMap(fieldEntries(cfg)),
      maxTemplates: cfg.templates.max,
      ttlMs: cfg.templates.ttl,
      pendingMaxSets: cfg.templates.pending_max_sets,
      pendingTtlMs: cfg.templates.pending_ttl,
    });
    this.aggregator = aggregatorFor(cfg, this.mapped);
    this.derive = this.deriverFor(cfg);
    this.sampling = new SamplingRates(cfg.sampling, cfg.max_exporters);
    const hooks = {
      emit: (r: NetRecord) => {
        if (perFlow(r)) this.rawSeq.stamp(r);
        ctx.emitter.emit(r);
      },
      interfaces: (exporter: string, list: InterfaceInfo[]) => ctx.interfaces.update(exporter, [exporter], 'flow', list),
      clockOffset: (exporter: string, ms: number) => ctx.signals.exporterClockOffset(exporter, ms),
      timeSource: (exporter: string, source: string, offset_ms: number) =>
        ctx.log.warn(
          { exporter, time_source: source, offset_ms, max_offset_ms: this.cfg.timestamps.max_offset },
          source === 'receive' ? 'exporter clock offset beyond timestamps.max_offset: its flow times are re-anchored on receive time' : 'exporter clock back within timestamps.max_offset: its flow times are its own again',
        ),
    };
    this.processor = new FlowProcessor(
      { collector: name, store: this.store, raw: cfg.raw, maxExporters: cfg.max_exporters, mapped: this.mapped, timestamps: cfg.timestamps },
      {
        ...hooks,
        aggregate: (k) => {
          const d = this.derive(k);
          this.volumes.add(d, this.sampling.apply(d));
          this.aggregator.add(d);
        },
        internalError: (err, exporter) => ctx.emitter.error(err, { exporter }),
      },
    );
    const volumes = (v: VolumeSums): void => this.volumes.merge(v);
    this.pool = cfg.workers > 0 ? new FlowWorkers(cfg, name, ctx.dataDir, { ...hooks, volumes, tables: new TableFeed(ctx, cfg.dimensions), error: (e, c) => ctx.emitter.error(e, c), log: ctx.log }) : undefined;
    this.processor.configure(cfg.raw, cfg.allow.length ? new Allowlist(cfg.allow) : undefined);
    this.turns = new ReceiveTurns(() => this.now(), cfg.receive_wait);
  }

  private deriverFor(cfg: FlowConfig): (k: FlowView) => FlowView {
    return deriver(cfg.dimensions.filter((d) => !this.mapped.includes(d)), DIMENSIONS.length + this.mapped.length, this.ctx);
  }

  /** Bound ports (useful when the config asked for port 0). */
  ports(): number[] {
    return this.sockets.map((s) => s.port);
  }

  async start(): Promise<void> {
    try {
      const n = loadState(this.ctx.dataDir, this.store, this.processor.options, Date.now());
      this.ctx.log.info(n, 'flow templates and options state reloaded from the data directory');
    } catch (e) {
      this.ctx.emitter.error(e);
    }
    try {
      const st = readLossState(this.ctx.dataDir);
      // from a bus, loss state comes with each partition taken (handoff.ts): this file's is older
      if (st && !this.ctx.datagrams?.consume) {
        const r = restoreLoss(this.processor.loss, st, Date.now());
        this.ctx.log.info({ ...r, saved_ms_ago: Date.now() - st.savedAt }, 'flow loss counters continued from the previous run');
      }
    } catch (e) {
      this.ctx.emitter.error(e);
    }
    let cp: Checkpoint | undefined;
    try {
      cp = readCheckpoint(this.ctx.dataDir);
    } catch (e) {
      this.ctx.emitter.error(e);
    }
    this.startTimers();
    const feed = this.ctx.datagrams;
    // from a bus, what a checkpoint holds is delivered again (not committed): resuming would count it twice
    if (cp && !feed?.consume) this.resume(cp, Date.now());
    this.pool?.start();
    if (!feed?.consume || feed.forward) await this.openSockets();
    await consumeFeed(feed, this.processor, this.store, () => this.discardInterval(), this.rawSeq);
  }

  /**
   * Takes over what the last run left of its aggregation (checkpoint.ts): the current interval's
   * sums are continued, so the next flush rewrites the interval's points with both runs' flows; the
   * sums of an interval that ended while no process ran are written now, under their own label.
   */
  private resume(cp: Checkpoint, now: number): void {
    this.lastLabel = Math.max(this.lastLabel, cp.lastLabel);
    const info = { interval_start: new Date(cp.intervalStart).toISOString(), flushed_at_stop: cp.flushed, saved_ms_ago: now - cp.savedAt, series: cp.agg.series.length };
    if (cp.intervalStart === this.intervalStart && sameShape(cp.shape, shapeOf(this.cfg))) {
      this.aggregator.restore(cp.agg);
      this.lastLabel = cp.label - 1; // the next flush writes the same points again, with the sums of both runs
      this.ctx.log.info(info, 'aggregation interval continued from the checkpoint of the previous run');
      return;
    }
    if (cp.flushed) return; // written at stop, and this run starts a new interval or a new shape
    // the old run's shape: its non-built-in dimensions were mapped ones (keys are restored by name)
    const mapped = cp.shape.dimensions.filter((d) => !(DIMENSIONS as readonly string[]).includes(d));
    const a = new Aggregator({ dimensions: cp.shape.dimensions, mapped, addresses: mappedAddresses(this.cfg), maxSeries: cp.shape.maxSeries, topN: cp.shape.topN, topBy: cp.shape.topBy as FlowConfig['top_by'], maxTalkers: cp.shape.maxTalkers });
    a.restore(cp.agg);
    for (const r of a.flush(cp.label, this.name)) this.ctx.emitter.emit(r);
    this.lastLabel = Math.max(this.lastLabel, cp.label);
    this.ctx.log.warn(info, 'the previous run ended without writing its last interval: written now from its checkpoint');
  }

  /** A fenced bus processor (src/bus/fence.ts): the open interval's sums go; returns the flows they held. */
  private discardInterval(): number {
    const flows = this.aggregator.flowsIn;
    this.aggregator = aggregatorFor(this.cfg, this.mapped);
    this.volumes.flush(this.intervalStart, 0, 0, this.name, new Map()); // resets the tallies; the rows are not written
    return flows;
  }

  private checkpoint(now: number, flushed: boolean): Checkpoint {
    const label = flushed ? this.lastLabel : this.nextLabel();
    return { v: 1, shape: shapeOf(this.cfg), intervalStart: this.intervalStart, label, lastLabel: this.lastLabel, flushed, savedAt: now, agg: this.aggregator.snapshot() };
  }

  private periodicCheckpoint(): void {
    if (this.aggregator.flowsIn === this.checkpointed) return;
    this.checkpointed = this.aggregator.flowsIn;
    // copied now (a memcpy of the talker volumes), encoded and written piecewise (checkpoint.ts)
    // into the talker tables' spare arrays unless the last such copy is still being written
    const reuse = !this.spareBusy;
    const cp: CheckpointCopy = { v: 1, shape: shapeOf(this.cfg), intervalStart: this.intervalStart, label: this.nextLabel(), lastLabel: this.lastLabel, flushed: false, savedAt: Date.now(), agg: this.aggregator.copy(reuse) };
    this.spareBusy ||= reuse;
    this.saving = this.saving
      .then(() => writeCheckpoint(this.ctx.dataDir, cp))
      .catch((e: unknown) => this.ctx.emitter.error(e))
      .finally(() => {
        if (reuse) this.spareBusy = false;
      });
  }

  /**
   * The loss tracker's streams, on the checkpoint's cadence, when a datagram moved them; also each
   * minute without one, so the file's age tells how long no process listened (MAX_DOWN_MS).
   */
  private saveLoss(): void {
    const changes = this.pool ? this.pool.lossChanges() : this.processor.loss.changes;
    const now = Date.now();
    if (changes === this.lossSaved && now - this.lossSavedAt < 60_000) return;
    this.lossSaved = changes;
    this.lossSavedAt = now;
    const st = this.lossNow(now);
    this.saving = this.saving.then(() => writeLossState(this.ctx.dataDir, st)).catch((e: unknown) => this.ctx.emitter.error(e));
  }

  private lossNow(now: number): LossState {
    return this.pool ? this.pool.lossState(now) : lossState(this.processor.loss, now);
  }

  /** With workers, their sums since the last call are added to the aggregator first. */
  private synced(fn: () => void): void {
    if (!this.pool) return fn();
    void this.pool.drain(() => this.aggregator).then(() => {
      if (!this.stopped) fn();
    });
  }

  private async openSockets(): Promise<void> {
    const pool = this.pool;
    const fwd = this.ctx.datagrams?.forward;
    const turns = this.turns;
    const onMessage = fwd
      ? (msg: Buffer, rinfo: RemoteInfo): void => fwd(msg, rinfo.address, rinfo.port, turns.datagram())
      : pool
      ? (msg: Buffer, rinfo: RemoteInfo): void => void (pool.handle(msg, rinfo.address, rinfo.port, turns.time()), turns.datagram()) // the pool posts before the turn's sleep
      : (msg: Buffer, rinfo: RemoteInfo): void => this.processor.handle(msg, rinfo.address, rinfo.port, turns.datagram());
    for (const l of this.cfg.listen) {
      const s = await openSocket(l.address, l.port, this.cfg.receive_buffer, onMessage);
      s.socket.on('error', (e) => this.ctx.emitter.error(e));
      this.sockets.push(s);
      this.rcvbufs.set(s.port, s.grantedRcvbuf);
      this.ctx.signals.udpSocket(this.name, s.family, s.port);
      const info = { address: s.address, port: s.port, requested: s.requestedRcvbuf, granted: s.grantedRcvbuf };
      if (s.cappedBy !== undefined) {
        this.ctx.log.warn({ ...info, rmem_max: s.cappedBy }, 'receive buffer capped by net.core.rmem_max; raise it (sysctl -w net.core.rmem_max=...) to avoid drops in bursts');
      } else this.ctx.log.info(info, 'flow listener bound');
    }
    this.turns.buffer(Math.min(...this.sockets.map((s) => s.grantedRcvbuf / 2)));
  }

  private async closeSockets(): Promise<void> {
    for (const s of this.sockets) {
      await closeSocket(s.socket);
      this.ctx.signals.udpSocketClosed(s.family, s.port);
    }
    this.sockets = [];
  }

  /** Receive times and interval boundaries: the collector's timeline (CollectorContext.clock). */
  private now(): number {
    return this.ctx.clock ? this.ctx.clock.now() : Date.now();
  }

  /**
   * Flushes when the timeline reaches the end of the current interval. The timer runs on the
   * monotonic clock, which the timeline may lead or trail while it slews (src/clock.ts): a timer
   * that fires before the end is re-armed for the rest, so one flush closes exactly one interval.
   */
  private armBoundary(): void {
    const end = this.intervalStart + this.cfg.interval;
    const gen = this.timerGen;
    this.boundary = setTimeout(() => {
      if (this.now() < end) return this.armBoundary();
      // with workers the flush waits for their sums: the next boundary is armed after it, unless
      // the timers were restarted (reload) or stopped meanwhile
      this.synced(() => {
        if (gen !== this.timerGen) return;
        this.flush(this.now(), true);
        this.armBoundary();
      });
    }, Math.max(1, end - this.now()));
    this.boundary.unref();
  }

  private startTimers(): void {
    const now = this.now();
    if (this.volumesSince < 0) this.volumesSince = now;
    this.intervalStart = Math.floor(now / this.cfg.interval) * this.cfg.interval;
    this.armBoundary();
    const stats = setInterval(() => (this.pool ? void this.pool.report(this.now()).then(() => !this.stopped && this.housekeeping(this.now())) : this.housekeeping(this.now())), this.cfg.stats_interval);
    stats.unref();
    // parked data sets must expire on their own clock, not only at stats time
    const expiry = setInterval(() => this.store.expire(this.now()), Math.max(1000, this.cfg.templates.pending_ttl / 2));
    expiry.unref();
    const cp = setInterval(() => {
      void this.pool?.report(this.now()); // /status and /metrics read the workers' counters from it
      this.synced(() => {
        this.periodicCheckpoint();
        this.saveLoss();
      });
    }, CHECKPOINT_EVERY_MS);
    cp.unref();
    this.timers.push(stats, expiry, cp);
  }

  private stopTimers(): void {
    this.timerGen++;
    clearTimeout(this.boundary);
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }

  /**
   * Emits the interval's aggregates, labelled with the interval start. Labels must never repeat:
   * aggregates are points keyed by tags + time, so two flushes labelled alike overwrite each other in
   * InfluxDB. A boundary flush starts the next interval where this one ended, on the timeline, which
   * a wall-clock step does not move (later only when the process was stalled past it, or a forward
   * step of a synchronised clock was followed); a second flush in one interval (reload, then stop)
   * gets the last label plus 1 ms.
   */
  private flush(now: number, atBoundary = false, retain = false): void {
    const iv = this.cfg.interval;
    const label = this.nextLabel();
    this.lastLabel = label;
    // shared before the commit of the datagrams that taught them; the bus commits once these records are out
    shareState(this.ctx.datagrams, this.store, this.processor.options);
    const emitted = this.ctx.datagrams?.closeInterval();
    // retain (stop): the sums and the interval stay for the checkpoint a restart continues
    if (!retain) this.intervalStart = atBoundary ? Math.max(this.intervalStart + iv, Math.floor(now / iv) * iv) : Math.floor(now / iv) * iv;
    const loss = this.intervalLoss();
    for (const r of this.volumes.flush(label, this.volumesSince, now, this.name, loss)) this.ctx.emitter.emit(r);
    this.volumesSince = now;
    if (retain) {
      for (const r of this.aggregator.flush(label, this.name, true)) this.ctx.emitter.emit(correctAggregate(r, loss));
      emitted?.();
    } else {
      // flow_top over the next turns of the loop, so receiving never waits for the talker scan
      const { now: rows, talkers } = this.aggregator.flushLater(label, this.name);
      for (const r of rows) this.ctx.emitter.emit(correctAggregate(r, loss));
      this.pendingTop = this.pendingTop
        .then(() => talkers)
        .then((top) => {
          for (const r of top) this.ctx.emitter.emit(r);
        })
        .catch((e: unknown) => this.ctx.emitter.error(e))
        .then(emitted);
    }
    this.checkpointed = -1;
    // the closed interval's checkpoint is replaced at once: a start after a crash writes it again
    // only while its points may not have left the pipeline yet (the pipeline holds them longer)
    if (!retain) this.periodicCheckpoint();
  }

  /** The closing interval's loss per exporter: sequence gaps and our socket drops (loss-ratio.ts). */
  private intervalLoss(): ReturnType<LossWindow['next']> {
    const p = this.processor;
    const [seq, dgrams] = this.pool ? this.pool.lossInputs() : [p.loss.exporterTotals(), new Map(p.exporterNames().map((e) => [e, p.exporterStats(e)?.datagrams ?? 0]))];
    // restored totals (a taken-over bus partition, loss.json) live in the main thread's loss table
    return this.lossWindow.next(seq, dgrams, socketDrops(this.ports()), this.pool ? undefined : p.takeRestored());
  }

  private nextLabel(): number {
    return this.intervalStart > this.lastLabel ? this.intervalStart : this.lastLabel + 1;
  }

  /** Loss and stats records, template/pending expiry, state persistence. */
  housekeeping(now: number): void {
    this.store.expire(now);
    for (const r of this.pool ? this.pool.lossRecords() : this.processor.loss.records(this.name, now)) this.ctx.emitter.emit(r);
    const st = this.pool ? this.pool.storeStats() : this.store.stats();
    const extra: Record<string, number> = {
      templates: st.templates,
      pending_sets: st.pendingSets,
      pending_expired: st.pendingExpired,
      pending_dropped: st.pendingDropped,
      templates_evicted: st.evicted,
      templates_refused: st.refused,
      agg_overflow: this.aggregator.overflowed,
      raw_late: this.rawSeq.late,
    };
    for (const [port, granted] of this.rcvbufs) extra[`rcvbuf_${port}`] = granted;
    for (const r of (this.pool ?? this.processor).statsRecords(now, extra)) this.ctx.emitter.emit(r);
    checkPaths(this.pool ? this.pool.pathRows() : pathRows(this.processor), this.pathWatch, this.cfg.exporter_path, this.ctx.signals);
    this.saving = this.saving.then(() => this.save());
  }

  private async save(): Promise<void> {
    try {
      await (this.pool ? this.pool.saveState() : saveState(this.ctx.dataDir, this.store, this.processor.options));
    } catch (e) {
      this.ctx.emitter.error(e);
    }
  }

  /**
   * SIGHUP: applies a new config in place. Templates, options state and loss counters are kept;
   * the current interval is closed under the old dimensions; sockets are re-opened only when the
   * listeners or the buffer size changed. Template store limits apply from the next start.
   */
  async reload(config: unknown): Promise<void> {
    const next = flowConfigSchema.parse(config);
    // the field mapping is compiled into the templates: it changes at the next start, not here
    const unmapped = next.dimensions.filter((d) => !(DIMENSIONS as readonly string[]).includes(d) && !this.mapped.includes(d) && !isDerived(d));
    if (unmapped.length) throw new Error(`dimension ${unmapped.join(', ')} is mapped by the new config only: field mappings apply from the next start`);
    const prev = this.cfg;
    await this.pool?.drain(() => this.aggregator, next); // `workers` itself changes at the next start
    this.flush(this.now());
    this.cfg = next;
    this.aggregator = aggregatorFor(next, this.mapped);
    this.derive = this.deriverFor(next);
    const sampling = new SamplingRates(next.sampling, next.max_exporters);
    sampling.inherit(this.sampling);
    this.sampling = sampling;
    this.processor.configure(next.raw, next.allow.length ? new Allowlist(next.allow) : undefined, next.timestamps);
    this.turns.configure(next.receive_wait);
    if (JSON.stringify(prev.listen) !== JSON.stringify(next.listen) || prev.receive_buffer !== next.receive_buffer) {
      await this.closeSockets();
      await this.openSockets();
    }
    this.stopTimers();
    this.startTimers();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopTimers();
    await this.closeSockets();
    await this.pool?.stop(() => this.aggregator, this.now());
    await this.saving; // a periodic checkpoint still being written must not land after the final one
    await this.pendingTop; // the last closed interval's flow_top rows, before the final flush's
    const now = this.now();
    this.flush(now, false, true);
    this.housekeeping(now);
    await this.saving;
    try {
      writeCheckpointSync(this.ctx.dataDir, this.checkpoint(now, true));
    } catch (e) {
      this.ctx.emitter.error(e);
    }
    try {
      writeLossStateSync(this.ctx.dataDir, this.lossNow(now));
    } catch (e) {
      this.ctx.emitter.error(e);
    }
  }

  /** With workers: their counters as of now reach status() (the benchmark's count of what was taken). */
  async settle(): Promise<void> {
    await this.pool?.report(this.now());
  }

  status(): unknown {
    const p = this.pool;
    const loss = p ? p.lossTotals() : this.processor.loss.pathTotals();
    const exporters = p ? p.exporters() : this.processor.exporterNames().map((e) => ({ exporter: e, stats: this.processor.exporterStats(e), lastSeen: this.processor.lastSeen(e), clock: this.processor.clocks.stats(e) }));
    const samplingCounts = p ? p.samplingSummary() : this.sampling.summary();
    return {
      listeners: this.sockets.map((s) => ({ address: s.address, port: s.port, rcvbuf: s.grantedRcvbuf })),
      templates: p ? p.storeStats() : this.store.stats(),
      exporters: exporters.map(({ exporter: e, stats, lastSeen, clock }) => ({
        exporter: e,
        ...(stats as object | undefined),
        last_seen_ms: lastSeen,
        loss: loss.get(e) ?? { received: 0, lost: 0, duplicates: 0, reordered: 0 },
        sampling: samplingCounts.get(e),
        clock,
      })),
      ...(p ? { workers: { count: this.cfg.workers, restarts: p.restarts, lost_datagrams: p.lost, dropped_datagrams: p.dropped } } : {}),
    };
  }
}
