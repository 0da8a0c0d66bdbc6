/**
 * Composition root: builds every part from a validated config and owns all state. Nothing here is
 * global, so tests can run several instances side by side.
 * Start order is sinks -> pipeline -> monitor -> collectors (nothing is emitted into a void);
 * stop order is the reverse, so the last records of each collector still reach the sinks.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { collectors as definitions } from '../collectors/index.js';
import type { Collector, CollectorDefinition, HostSignals } from './collector.js';
import type { AppConfig } from './config/schema.js';
import { createEnricher } from './enrich/enrich.js';
import { History } from './http/history.js';
import type { NetRecord } from './record/record.js';
import { OpsServer } from './http/server.js';
import { lockDataDir } from './datadir-lock.js';
import { InterfaceTable } from './enrich/interfaces.js';
import { EnrichState } from './enrich/config.js';
import type { Logger } from './log.js';
import { createMonitor, type ResourceMonitor } from './monitor/index.js';
import { LossLedger } from './pipeline/loss.js';
import { Pipeline } from './pipeline/pipeline.js';
import { FileSink } from './sinks/file.js';
import { InfluxSink } from './sinks/influx/sink.js';
import type { Sink } from './sinks/sink.js';
import { SelfTelemetry } from './telemetry/self.js';
import { performance } from 'node:perf_hooks';
import { SteadyClock } from './clock.js';
import { CrossCheck } from './xcheck/xcheck.js';
import { runsCollector } from './bus/config.js';
import { BusRuntime } from './bus/runtime.js';

export interface AppOptions {
  log: Logger;
  /** Directory of the config file: relative paths inside collector blocks resolve against it. */
  configDir: string;
  /** Tests pass a fake /proc root for the monitor. */
  monitorRoot?: string;
}

export const HEALTH_FILE = 'health.json';
export const LOSS_FILE = 'lost.json';

interface Running {
  def: CollectorDefinition;
  block: unknown;
  instance: Collector;
}

export class App {
  readonly config: AppConfig;
  readonly dataDir: string;
  /** Record times and interval boundaries: the monotonic clock, slewed to the wall clock (clock.ts). */
  // the monitor is built after the clock and reads it while it is built: undefined until then
  readonly clock = new SteadyClock(undefined, () => this.config.monitor.follow_synced_steps && (this.monitor as ResourceMonitor | undefined)?.synced() === true);
  readonly interfaces = new InterfaceTable();
  /** Networks file and interface role rules (`enrich`), swapped on SIGHUP. */
  readonly enrichment = new EnrichState(this.interfaces);
  readonly monitor: ResourceMonitor;
  readonly pipeline: Pipeline;
  readonly sinks: Sink[] = [];
  /** What will never reach a destination, by reason and measurement; kept in <data_dir>/lost.json. */
  readonly loss: LossLedger;
  private readonly log: Logger;
  private readonly opts: AppOptions;
  private readonly running = new Map<string, Running>();
  private readonly telemetry: SelfTelemetry;
  private telemetryTimer: NodeJS.Timeout | undefined;
  private http: OpsServer | undefined;
  /** The status page's last hour, one point per telemetry interval (1 s to 60 s); only with `http`. */
  readonly history: History | undefined;
  private unlock: (() => void) | undefined;
  /** The flow-vs-SNMP cross-check (`xcheck:`), fed from the enrichment step. */
  readonly xcheck: CrossCheck | undefined;
  /** Scale-out: set when `bus` is configured. */
  private bus: BusRuntime | undefined;

  constructor(config: AppConfig, opts: AppOptions) {
    this.config = config;
    this.opts = opts;
    this.log = opts.log;
    this.dataDir = resolve(config.data_dir);
    mkdirSync(this.dataDir, { recursive: true });
    this.loss = new LossLedger(join(this.dataDir, LOSS_FILE));
    this.enrichment.apply(config.enrich, opts.configDir);
    if (config.http.enabled) this.history = new History(Math.min(60_000, Math.max(1000, config.telemetry_interval)));

    const file = config.sinks.file;
    if (file?.enabled) {
      this.sinks.push(
        new FileSink(
          { dir: resolve(file.dir ?? join(this.dataDir, 'lp')), rotateBytes: file.rotate_size, rotateIntervalMs: file.rotate_interval, keep: file.keep, database: file.database ?? config.sinks.influx?.database ?? 'netvigil' },
          this.log,
        ),
      );
    }
    const influx = config.sinks.influx;
    if (influx?.enabled) {
      this.sinks.push(
        new InfluxSink(
          {
            url: influx.url,
            database: influx.database,
            username: influx.username,
            password: influx.password,
            api: influx.api,
            token: influx.token,
            org: influx.org,
            bucket: influx.bucket,
            precision: influx.precision,
            gzip: influx.gzip,
            integers: influx.integers,
            tlsCaFile: influx.tls?.ca !== undefined ? resolve(influx.tls.ca) : undefined,
            logIntervalMs: config.telemetry_interval,
            createDatabase: influx.create_database,
            retentionPolicy: influx.retention_policy,
            timeoutMs: influx.timeout,
            hangThresholdMs: Math.min(influx.hang_threshold, influx.timeout),
            maxInFlight: influx.max_in_flight,
            retryInitialMs: influx.retry.initial,
            retryMaxMs: influx.retry.max,
            spoolDir: resolve(influx.spool.dir ?? join(this.dataDir, 'spool', 'influx')),
            spoolMaxBytes: influx.spool.max_size,
            spoolMaxAgeMs: influx.spool.max_age,
            loss: this.loss,
          },
          this.log,
        ),
      );
    }
    // a receiver on a bus writes no data: flows and traps go to the bus, only its own telemetry would need a sink
    if (this.sinks.length === 0 && config.bus && config.roles.every((r) => r === 'receiver')) this.log.info('no sink is enabled: flows and traps go to the bus; this receiver\'s own records (netvigil_bus, snmptrap_stats, monitor) are counted and discarded, /metrics and /status.json show them');
    else if (this.sinks.length === 0) this.log.warn('no sink is enabled: records are counted and discarded');

    // The monitor's records enter like any collector's; it is also the verdict source for enrichment.
    let monitorEmit: (r: Parameters<Pipeline['inject']>[0]) => void = () => {};
    this.monitor = createMonitor(config.monitor, {
      clock: { wallMs: () => Date.now(), monoMs: () => performance.now(), timeMs: () => this.clock.now() },
      emit: (r) => monitorEmit(r),
      log: this.log.child({ component: 'monitor' }),
      ...(opts.monitorRoot ? { root: opts.monitorRoot } : {}),
    });
    let xcheckEmit: (r: Parameters<Pipeline['inject']>[0]) => void = () => {};
    // on a bus only processors have flows to judge; pollers share their counters with them (src/bus/ifcounters.ts)
    if (config.xcheck?.enabled && config.roles.includes('processor')) this.xcheck = new CrossCheck(config.xcheck, this.interfaces, (r) => xcheckEmit(r), this.log.child({ component: 'xcheck' }));
    const p = config.pipeline;
    this.pipeline = new Pipeline(
      {
        queueSize: p.queue_size,
        overflow: p.overflow,
        batchSize: p.batch_size,
        flushIntervalMs: p.flush_interval,
        concurrency: p.concurrency,
        // one monitor interval plus slack: by then the sample covering the newest record has run
        verdict: { source: this.monitor, holdMs: config.monitor.enabled ? config.monitor.interval + 1000 : 0 },
        loss: this.loss,
        now: () => this.clock.now(),
      },
      this.sinks,
      this.enrichAndObserve(createEnricher(this.interfaces, { instance: config.instance, enrichment: this.enrichment })),
      this.log,
    );
    if (this.xcheck) {
      const xcheckEmitter = this.pipeline.emitterFor('xcheck');
      xcheckEmit = (r) => xcheckEmitter.emit(r);
    }
    const monitorEmitter = this.pipeline.emitterFor('monitor');
    monitorEmit = (r) => monitorEmitter.emit(r);
    const tags: Record<string, string> = {}; // `instance` comes with enrichment, on every record
    if (config.shard !== '0/1') tags.shard = config.shard;
    this.telemetry = new SelfTelemetry({ pipeline: () => this.pipeline.stats(), sinks: this.sinks, loss: () => this.loss.list(), tags });
  }

  private enrichAndObserve(enrich: (r: NetRecord) => void): (r: NetRecord) => void {
    const h = this.history;
    const x = this.xcheck;
    if (!h && !x) return enrich;
    return (r) => {
      enrich(r);
      h?.observe(r);
      x?.observe(r);
    };
  }

  get shard(): { index: number; count: number } {
    const [index, count] = this.config.shard.split('/').map(Number) as [number, number];
    return { index, count };
  }

  get signals(): HostSignals {
    return this.monitor;
  }

  /** Port the HTTP surface is bound to (tests listen on port 0); undefined when it is off. */
  get httpPort(): number | undefined {
    return this.http?.port;
  }

  async start(): Promise<void> {
    this.unlock = lockDataDir(this.dataDir);
    for (const s of this.sinks) await s.start();
    this.pipeline.start();
    if (this.config.monitor.enabled) this.monitor.start();
    const { bus, roles, instance } = this.config;
    if (bus) this.bus = await BusRuntime.open({ bus, roles, instance, settle: () => this.pipeline.drain(), interfaces: this.interfaces, dataDir: this.dataDir, xcheck: this.config.xcheck?.enabled ? { take: this.xcheck } : undefined }, this.log.child({ component: 'bus' }));
    for (const def of definitions) {
      const block = (this.config.collectors as Record<string, { enabled: boolean } | undefined>)[def.name];
      if (block?.enabled && runsCollector(def.name, roles)) await this.startCollector(def, block);
    }
    if (this.config.http.enabled) {
      const http = new OpsServer(this, this.log.child({ component: 'http' }));
      try {
        await http.listen(this.config.http.listen);
      } catch (e) {
        // a port clash must not leave the UDP sockets and sinks of a half-started App behind
        await this.stop(1000).catch(() => {});
        throw e;
      }
      this.http = http;
    }
    this.telemetryTimer = setInterval(() => this.emitTelemetry(), this.config.telemetry_interval);
    this.telemetryTimer.unref();
    this.writeHeartbeat();
    this.log.info({ collectors: [...this.running.keys()], sinks: this.sinks.map((s) => s.name), data_dir: this.dataDir }, 'netvigil started');
  }

  private async startCollector(def: CollectorDefinition, block: { enabled: boolean }): Promise<void> {
    const { enabled: _enabled, ...cfg } = block;
    const dataDir = join(this.dataDir, 'collectors', def.name);
    mkdirSync(dataDir, { recursive: true });
    const emitter = this.pipeline.emitterFor(def.name);
    const instance = def.create(cfg, {
      emitter: this.bus?.emitter(def.name, emitter) ?? emitter,
      log: this.log.child({ collector: def.name }),
      dataDir,
      configDir: this.opts.configDir,
      interfaces: this.bus?.interfaces ?? this.interfaces,
      networks: this.enrichment.networks,
      signals: this.monitor,
      shard: this.shard,
      clock: this.clock,
      ...(this.bus ? { datagrams: this.bus.feed, traps: this.bus.traps } : {}),
      ...(this.bus?.devices ? { devices: this.bus.devices } : {}),
    });
    await instance.start();
    this.running.set(def.name, { def, block, instance });
  }

  private emitTelemetry(): void {
    for (const r of this.telemetry.collect(this.clock.now())) this.pipeline.inject(r);
    for (const r of this.bus?.records(this.clock.now()) ?? []) this.pipeline.inject(r);
    this.writeHeartbeat();
  }

  /**
   * `<data_dir>/health.json`, rewritten every telemetry interval: what `netvigil health` (the
   * container HEALTHCHECK) reads, so a hung event loop shows as a stale file.
   */
  private writeHeartbeat(): void {
    const file = join(this.dataDir, HEALTH_FILE);
    try {
      writeFileSync(file + '.tmp', JSON.stringify({ time: Date.now(), interval_ms: this.config.telemetry_interval, ready: this.ready(), verdict: this.monitor.current().verdict }));
      renameSync(file + '.tmp', file);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'cannot write health file');
    }
  }

  /**
   * Applies a new validated config (SIGHUP): collectors are added, removed, reloaded in place when
   * they support it, or restarted. Sinks, pipeline and monitor settings need a restart.
   */
  async reload(next: AppConfig): Promise<string[]> {
    const changes: string[] = [];
    try {
      if (this.enrichment.apply(next.enrich, this.opts.configDir)) changes.push('reloaded enrich');
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'enrich: networks file rejected; the running tables stay in force');
    }
    for (const def of definitions) {
      const block = (next.collectors as Record<string, { enabled: boolean } | undefined>)[def.name];
      const cur = this.running.get(def.name);
      const want = block?.enabled && runsCollector(def.name, next.roles) ? block : undefined;
      if (cur && !want) {
        await cur.instance.stop();
        this.running.delete(def.name);
        changes.push(`stopped ${def.name}`);
      } else if (!cur && want) {
        await this.startCollector(def, want);
        changes.push(`started ${def.name}`);
      } else if (cur && want && JSON.stringify(cur.block) !== JSON.stringify(want)) {
        const { enabled: _e, ...cfg } = want;
        if (cur.instance.reload) {
          await cur.instance.reload(cfg);
          cur.block = want;
          changes.push(`reloaded ${def.name}`);
        } else {
          await cur.instance.stop();
          this.running.delete(def.name);
          await this.startCollector(def, want);
          changes.push(`restarted ${def.name}`);
        }
      } else if (cur?.instance.reload) {
        // same block, but files it names (e.g. the device inventory) may have changed
        await cur.instance.reload(Object.fromEntries(Object.entries(want ?? {}).filter(([k]) => k !== 'enabled')));
        changes.push(`reloaded ${def.name}`);
      }
    }
    for (const key of ['sinks', 'pipeline', 'monitor', 'data_dir', 'http', 'xcheck'] as const) {
      if (JSON.stringify(next[key]) !== JSON.stringify(this.config[key])) this.log.warn({ section: key }, 'this section changed; it takes effect after a restart');
    }
    return changes;
  }

  collectorStatus(): Record<string, unknown> {
    const collectors: Record<string, unknown> = {};
    for (const [name, r] of this.running) collectors[name] = r.instance.status?.() ?? {};
    return collectors;
  }

  /** The bus's part of /status.json; undefined without a bus. */
  busStatus(): unknown {
    return this.bus?.status();
  }

  status(): unknown {
    const collectors = this.collectorStatus();
    return {
      verdict: this.monitor.current(),
      pipeline: this.pipeline.stats(),
      sinks: Object.fromEntries(this.sinks.map((s) => [s.name, { ready: s.ready(), ...s.stats() }])),
      interfaces: this.interfaces.summary(),
      interfaces_ambiguous: this.interfaces.ambiguous(),
      collectors,
      ...(this.xcheck ? { xcheck: this.xcheck.status() } : {}),
      ...(this.bus ? { bus: this.bus.status() } : {}),
    };
  }

  ready(): boolean {
    return this.sinks.every((s) => s.ready());
  }

  async stop(deadlineMs: number = this.config.shutdown_timeout): Promise<void> {
    const until = performance.now() + deadlineMs; // monotonic: see Pipeline.stop
    await this.http?.close();
    this.http = undefined;
    if (this.telemetryTimer) clearInterval(this.telemetryTimer);
    await this.bus?.stopIntake();
    await Promise.all(
      [...this.running.values()].map(({ def, instance }) =>
        instance.stop().catch((e: unknown) => this.log.error({ collector: def.name, err: (e as Error).message }, 'collector stop failed')),
      ),
    );
    this.running.clear();
    await this.bus?.close(Math.max(500, (until - performance.now()) / 2)).catch((e: unknown) => this.log.error({ err: (e as Error).message }, 'bus close failed'));
    if (this.config.monitor.enabled) this.monitor.tick(); // judge the last partial interval too
    this.monitor.stop();
    // final counters once the queue is flushed, so they cover the whole run
    await this.pipeline.stop(Math.max(500, until - performance.now()), () => {
      this.writeHeartbeat();
      return this.telemetry.collect(this.clock.now());
    });
    this.loss.flush();
    this.unlock?.();
    this.log.info({ ...this.pipeline.stats(), lost: this.loss.list() }, 'netvigil stopped');
  }
}
