/**
 * The SNMP polling collector: owns the inventory, one session and one poll loop per device, and the
 * shared concurrency limit. `reload` re-reads the inventory (SIGHUP): unchanged devices keep their
 * loop, session and rate state; changed ones are replaced; removed ones stop. A bad inventory leaves
 * the running one in place and throws the ConfigError for the caller to report.
 */
import { resolve } from 'node:path';
import type { Collector, CollectorContext, DeviceHandoff } from '../../src/collector.js';
import type { NetRecord } from '../../src/record/record.js';
import { ConfigError } from '../../src/errors.js';
import type { SnmpConfig } from './config.js';
import { devicesOf, loadInventory, type DeviceSpec } from './inventory.js';
import { MibResolver, type MibProblem } from './mibs.js';
import { SnmpClient } from './netsnmp.js';
import { DevicePoller, type PollStats } from './poller.js';
import { BUILTIN_PROFILES, type ProfileSpec } from './profiles.js';
import { PollLoop, Semaphore, type Lanes } from './scheduler.js';
import { loadRateState } from './ratestate.js';
import { inShard } from './shard.js';
import { resolveUserProfiles } from './userprofiles.js';

interface Running {
  key: string;
  spec: DeviceSpec;
  poller: DevicePoller;
  loop: PollLoop;
  last?: PollStats;
}

export class SnmpCollector implements Collector {
  private readonly devices = new Map<string, Running>();
  /** The whole inventory, and on a bus the devices this instance holds the lease of (ctx.devices). */
  private inventory = new Map<string, DeviceSpec>();
  private readonly leased = new Set<string>();
  private profiles = new Map<string, ProfileSpec>();
  private mibs: { dirs: string; resolver: MibResolver; problems: MibProblem[] } | undefined;
  private lanes: Lanes;
  private stopped = false;

  constructor(
    private config: SnmpConfig,
    private readonly ctx: CollectorContext,
  ) {
    this.lanes = SnmpCollector.lanes(config.max_concurrent);
  }

  /** Dead devices get a quarter of the slots (at least one), on top of the live ones. */
  private static lanes(max: number): Lanes {
    return { live: new Semaphore(max), suspect: new Semaphore(Math.max(1, Math.floor(max / 4))) };
  }

  async start(): Promise<void> {
    await this.apply(this.config);
  }

  async reload(config: unknown): Promise<void> {
    await this.apply(config as SnmpConfig);
  }

  private loadMibs(dirs: readonly string[]): MibResolver {
    const abs = dirs.map((d) => resolve(this.ctx.configDir, d));
    const key = JSON.stringify(abs);
    if (this.mibs?.dirs === key) return this.mibs.resolver;
    const { resolver, problems } = MibResolver.load(abs);
    for (const p of problems) this.ctx.log.warn({ file: p.file }, `snmp: ${p.message}`);
    if (problems.length) this.ctx.emitter.error(new ConfigError(problems.map((p) => ({ file: p.file, path: '', message: p.message }))));
    this.mibs = { dirs: key, resolver, problems };
    return resolver;
  }

  private async apply(config: SnmpConfig): Promise<void> {
    const file = resolve(this.ctx.configDir, config.devices);
    const mibs = this.loadMibs(config.mib_dirs);
    const inv = loadInventory(file);
    const user = resolveUserProfiles(inv, mibs, file);
    if (user.problems.length) throw new ConfigError(user.problems);
    // The whole inventory is validated above; this instance runs only its shard of it (shard.ts),
    // or on a bus the devices it holds a lease of (src/bus/pollers.ts).
    const all = devicesOf(inv);
    const share = this.ctx.devices;
    const specs = all.filter((s) => (share ? this.leased.has(s.name) : inShard(s.name, this.ctx.shard)));
    this.inventory = new Map(all.map((s) => [s.name, s]));
    if (config.max_concurrent !== this.config.max_concurrent) this.lanes = SnmpCollector.lanes(config.max_concurrent);
    // Pollers capture profiles and walk caps when created: if those change, every device restarts.
    const profilesChanged =
      JSON.stringify([...user.profiles]) !== JSON.stringify([...this.profiles].filter(([k]) => !(k in BUILTIN_PROFILES))) ||
      config.max_values_per_walk !== this.config.max_values_per_walk ||
      config.backoff_max !== this.config.backoff_max ||
      config.max_concurrent !== this.config.max_concurrent;
    this.config = config;
    this.profiles = new Map([...Object.entries(BUILTIN_PROFILES), ...user.profiles]);

    const wanted = new Map(specs.map((s) => [s.name, s]));
    const stops: Promise<void>[] = [];
    for (const [name, r] of this.devices) {
      const s = wanted.get(name);
      if (!s || JSON.stringify(s) !== r.key || profilesChanged) {
        stops.push(this.remove(name, r, !s));
      }
    }
    await Promise.all(stops);
    if (this.stopped) return;
    for (const s of specs) if (!this.devices.has(s.name)) this.add(s);
    share?.share(all.map((s) => s.name), (n, last) => this.take(n, last), (n) => this.drop(n));
    const { index, count } = this.ctx.shard;
    this.ctx.log.info({ devices: specs.length, inventory: all.length, shard: `${index}/${count}`, profiles: [...user.profiles.keys()] }, 'snmp: inventory loaded');
  }

  /**
   * A device whose lease this instance won: polled from now on, going on from the previous poller's
   * last sample (ratestate.ts). That poll's records are written again first: its poller stored them
   * before emitting them and may have died in between; when they were written, the same points
   * (its `instance`, its timestamps) replace themselves.
   */
  private take(name: string, last: DeviceHandoff | undefined): boolean {
    const spec = this.inventory.get(name);
    if (!spec || this.stopped) return false;
    this.leased.add(name);
    if (last) for (const r of last.records) this.ctx.emitter.emit(r);
    if (!this.devices.has(name)) this.add(spec, last?.state);
    return true;
  }

  private async drop(name: string): Promise<void> {
    this.leased.delete(name);
    const r = this.devices.get(name);
    if (r) await this.remove(name, r, false);
  }

  private add(spec: DeviceSpec, last?: unknown): void {
    const client = new SnmpClient(
      { device: spec.name, address: spec.address, port: spec.port, timeoutMs: spec.timeoutMs, retries: spec.retries, credentials: spec.credentials },
      (o) => this.ctx.signals.snmpRequest(o),
    );
    const poller = new DevicePoller(spec, client, {
      emit: (r) => this.ctx.emitter.emit(r),
      error: (e, c) => this.ctx.emitter.error(e, c),
      info: (m, c) => this.ctx.log.info(c, m),
      interfaces: this.ctx.interfaces,
      profiles: this.profiles,
      maxValuesPerWalk: this.config.max_values_per_walk,
      ...(this.ctx.clock ? { now: () => this.ctx.clock!.now() } : {}),
      ...(this.ctx.devices ? { writeAhead: (st: unknown, records: readonly NetRecord[]) => this.ctx.devices!.writeAhead(spec.name, st, records) } : {}),
    });
    let phaseMs: number | undefined;
    if (last !== undefined) {
      try {
        const at = loadRateState(poller.rates, last, Date.now(), performance.now());
        // the previous poller's grid: one interval after its last poll, so the rates go on without a gap
        phaseMs = Math.min(spec.intervalMs, Math.max(0, at + spec.intervalMs - Date.now()));
      } catch (e) {
        this.ctx.log.warn({ device: spec.name, err: (e as Error).message }, 'snmp: the previous poller\'s rate state is unreadable: rates start one poll later');
      }
    }
    const running: Running = { key: JSON.stringify(spec), spec, poller, loop: undefined as unknown as PollLoop };
    running.loop = new PollLoop({ intervalMs: spec.intervalMs, backoffMaxMs: this.config.backoff_max, ...(phaseMs !== undefined ? { phaseMs } : {}) }, this.lanes, async () => {
      const st = await poller.poll();
      running.last = st;
      // Answered at all (some values, or an agent error rather than silence) -> not dead.
      return st.values > 0 || st.timeouts === 0;
    });
    this.devices.set(spec.name, running);
    running.loop.start();
  }

  private async remove(name: string, r: Running, gone: boolean): Promise<void> {
    this.devices.delete(name);
    await r.loop.stop();
    r.poller.client.close();
    if (gone) this.ctx.interfaces.update(name, [], 'snmp', []);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.devices].map(([name, r]) => this.remove(name, r, false)));
  }

  status(): unknown {
    return {
      devices: [...this.devices.values()].map((r) => ({
        name: r.spec.name,
        address: r.spec.address,
        profiles: r.spec.profiles,
        interval_ms: r.spec.intervalMs,
        consecutive_failures: r.loop.consecutiveFailures,
        overruns: r.loop.overruns,
        last_poll: r.last && { at: new Date(r.last.at).toISOString(), duration_ms: Math.round(r.last.durationMs), values: r.last.values, timeouts: r.last.timeouts, errors: r.last.errors, ok: r.last.ok, error: r.last.lastError },
      })),
      concurrency: {
        live: { in_use: this.lanes.live.inUse, queued: this.lanes.live.queued },
        suspect: { in_use: this.lanes.suspect.inUse, queued: this.lanes.suspect.queued },
      },
      shard: this.ctx.devices ? 'bus' : `${this.ctx.shard.index}/${this.ctx.shard.count}`,
      mib_problems: this.mibs?.problems ?? [],
    };
  }
}
