/**
 * The UDP flow collector: sockets -> FlowProcessor -> aggregator, with timers for interval flushes,
 * stats/loss records, template expiry and template persistence in the data directory.
 */
import type { RemoteInfo } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Collector, CollectorContext } from '../../src/collector.js';
import { TemplateStore } from '../netflow/templates.js';
import { Aggregator } from './aggregate.js';
import { Allowlist } from './cidr.js';
import type { FlowConfig } from './config.js';
import { closeSocket, openSocket, type OpenSocket } from './listener.js';
import { FlowProcessor } from './processor.js';

export const TEMPLATE_FILE = 'templates.json';

export class FlowCollector implements Collector {
  readonly name: string;
  readonly store: TemplateStore;
  readonly processor: FlowProcessor;
  private readonly aggregator: Aggregator;
  private sockets: OpenSocket[] = [];
  /** Granted SO_RCVBUF per bound port, kept past stop for the final stats record. */
  private readonly rcvbufs = new Map<number, number>();
  private timers: NodeJS.Timeout[] = [];
  private intervalStart = 0;
  private stopped = false;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly cfg: FlowConfig,
    private readonly ctx: CollectorContext,
    name = 'flow',
  ) {
    this.name = name;
    this.store = new TemplateStore({
      maxTemplates: cfg.templates.max,
      ttlMs: cfg.templates.ttl,
      pendingMaxSets: cfg.templates.pending_max_sets,
      pendingTtlMs: cfg.templates.pending_ttl,
    });
    this.aggregator = new Aggregator({
      dimensions: cfg.dimensions,
      maxSeries: cfg.max_series,
      topN: cfg.top_n,
      topBy: cfg.top_by,
      maxTalkers: cfg.max_talkers,
    });
    const allow = cfg.allow.length ? new Allowlist(cfg.allow) : undefined;
    this.processor = new FlowProcessor(
      { collector: name, store: this.store, raw: cfg.raw, maxExporters: cfg.max_exporters, ...(allow ? { allow } : {}) },
      {
        emit: (r) => ctx.emitter.emit(r),
        aggregate: (r) => this.aggregator.add(r),
        interfaces: (exporter, list) => ctx.interfaces.update(exporter, [exporter], 'flow', list),
        clockOffset: (exporter, ms) => ctx.signals.exporterClockOffset(exporter, ms),
        internalError: (err, exporter) => ctx.emitter.error(err, { exporter }),
      },
    );
  }

  /** Bound ports (useful when the config asked for port 0). */
  ports(): number[] {
    return this.sockets.map((s) => s.port);
  }

  async start(): Promise<void> {
    this.loadTemplates();
    const onMessage = (msg: Buffer, rinfo: RemoteInfo): void => this.processor.handle(msg, rinfo.address, rinfo.port, Date.now());
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
    const now = Date.now();
    const iv = this.cfg.interval;
    this.intervalStart = Math.floor(now / iv) * iv;
    // first flush at the next interval boundary, then every interval
    const first = setTimeout(() => {
      this.flush(Date.now());
      const t = setInterval(() => this.flush(Date.now()), iv);
      t.unref();
      this.timers.push(t);
    }, this.intervalStart + iv - now);
    first.unref();
    const stats = setInterval(() => this.housekeeping(Date.now()), this.cfg.stats_interval);
    stats.unref();
    // parked data sets must expire on their own clock, not only at stats time
    const expiry = setInterval(() => this.store.expire(Date.now()), Math.max(1000, this.cfg.templates.pending_ttl / 2));
    expiry.unref();
    this.timers.push(first, stats, expiry);
  }

  private flush(now: number): void {
    const start = this.intervalStart;
    this.intervalStart = Math.floor(now / this.cfg.interval) * this.cfg.interval;
    for (const r of this.aggregator.flush(start, this.name)) this.ctx.emitter.emit(r);
  }

  /** Loss and stats records, template/pending expiry, template persistence. */
  housekeeping(now: number): void {
    this.store.expire(now);
    for (const r of this.processor.loss.records(this.name, now)) this.ctx.emitter.emit(r);
    const st = this.store.stats();
    const extra: Record<string, number> = {
      templates: st.templates,
      pending_sets: st.pendingSets,
      pending_expired: st.pendingExpired,
      pending_dropped: st.pendingDropped,
      templates_evicted: st.evicted,
      agg_overflow: this.aggregator.overflowed,
    };
    for (const [port, granted] of this.rcvbufs) extra[`rcvbuf_${port}`] = granted;
    for (const r of this.processor.statsRecords(now, extra)) this.ctx.emitter.emit(r);
    if (this.store.dirty) this.saving = this.saving.then(() => this.saveTemplates());
  }

  private loadTemplates(): void {
    try {
      const text = readFileSync(join(this.ctx.dataDir, TEMPLATE_FILE), 'utf8');
      const n = this.store.load(JSON.parse(text) as unknown, Date.now());
      this.ctx.log.info({ templates: n }, 'flow templates reloaded from the data directory');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.ctx.emitter.error(e);
    }
  }

  /** Atomic replace, so a crash mid-write leaves the previous file intact. */
  async saveTemplates(): Promise<void> {
    const file = join(this.ctx.dataDir, TEMPLATE_FILE);
    try {
      await writeFile(`${file}.tmp`, JSON.stringify(this.store.serialize()));
      await rename(`${file}.tmp`, file);
    } catch (e) {
      this.ctx.emitter.error(e);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    for (const s of this.sockets) {
      await closeSocket(s.socket);
      this.ctx.signals.udpSocketClosed(s.family, s.port);
    }
    this.sockets = [];
    const now = Date.now();
    this.flush(now);
    this.housekeeping(now);
    await this.saving;
    if (this.store.dirty) await this.saveTemplates();
  }

  status(): unknown {
    return {
      listeners: this.sockets.map((s) => ({ address: s.address, port: s.port, rcvbuf: s.grantedRcvbuf })),
      templates: this.store.stats(),
      exporters: this.processor.exporterNames().map((e) => ({ exporter: e, ...this.processor.exporterStats(e) })),
    };
  }
}
