/**
 * One poll of one device: its profiles in order, under one time budget, ending with an `snmp_poll`
 * health record (device, duration, values, timeouts, errors) so a dashboard can answer "which device
 * is slow?". A timeout ends the poll early: a device that does not answer one request will not answer
 * the next, and waiting again would only hold a concurrency slot.
 */
import type { InterfaceDirectory } from '../../src/collector.js';
import { SnmpError } from '../../src/errors.js';
import { makeRecord, type DeviceMetricRecord, type NetRecord } from '../../src/record/record.js';
import { IF_TABLE, IF_X_TABLE, interfaceInfos, interfaceRecord, interfaceRows, type DeviceIdentity } from './interfaces.js';
import type { DeviceSpec } from './inventory.js';
import type { SnmpClient, WalkResult } from './netsnmp.js';
import { expandProfiles } from './health/select.js';
import { scalarRecord, tableRecords, type ProfileSpec } from './profiles.js';
import { RateTracker } from './rates.js';
import { saveRateState } from './ratestate.js';
import { valueAsBigint, type Vb } from './values.js';

const SYS_UPTIME_0 = '1.3.6.1.2.1.1.3.0';
const SYS_OBJECT_ID_0 = '1.3.6.1.2.1.1.2.0';
/** Agents reject large GETs with tooBig (RFC 3416 4.2.1); 20 OIDs fit any sane PDU size. */
const GET_CHUNK = 20;

export interface PollStats {
  at: number;
  durationMs: number;
  values: number;
  timeouts: number;
  errors: number;
  ok: boolean;
  /** Last error message, for status(); never contains credentials. */
  lastError?: string;
}

export interface PollEnv {
  emit(r: NetRecord): void;
  error(err: unknown, context: { device: string }): void;
  /** One line for the operator (a profile that found nothing); optional for tests. */
  info?(msg: string, context: Record<string, unknown>): void;
  interfaces: InterfaceDirectory;
  profiles: ReadonlyMap<string, ProfileSpec>;
  maxValuesPerWalk: number;
  /** The collector's timeline (CollectorContext.clock): poll times do not follow a wall-clock step. */
  now?: () => number;
  /**
   * Pollers sharing devices over a bus: the counter sample of each poll (ratestate.ts) with the
   * interface records made from it, stored for the device's next poller before they are emitted.
   */
  writeAhead?(state: unknown, records: readonly NetRecord[]): Promise<void>;
}

class PollAborted extends Error {}

export class DevicePoller {
  readonly rates = new RateTracker();
  private readonly dev: DeviceIdentity;
  /** Monotonic start of each profile's last run, for profiles with their own interval. */
  private readonly lastRun = new Map<string, number>();
  private sysObjectId: { value: string | undefined; at: number } | undefined;
  /** Profiles last reported as finding nothing (reported again only when the set changes). */
  private emptyReported = '';

  constructor(
    readonly spec: DeviceSpec,
    readonly client: SnmpClient,
    private readonly env: PollEnv,
  ) {
    this.dev = { name: spec.name, address: spec.address, tags: spec.tags };
  }

  async poll(): Promise<PollStats> {
    const start = performance.now();
    const at = this.env.now?.() ?? Date.now();
    const deadlineAt = start + this.spec.budgetMs;
    const stats: PollStats = { at, durationMs: 0, values: 0, timeouts: 0, errors: 0, ok: true };
    const fail = (e: unknown) => {
      stats.ok = false;
      if (e instanceof SnmpError && (e.kind === 'timeout' || e.kind === 'budget')) stats.timeouts++;
      else stats.errors++;
      stats.lastError = e instanceof Error ? e.message : String(e);
      this.env.error(e, { device: this.spec.name });
      if (e instanceof SnmpError && (e.kind === 'timeout' || e.kind === 'budget' || e.kind === 'auth')) throw new PollAborted();
    };
    // Walk once, use everywhere: profiles that share a column (entPhysicalName, jnxOperatingDescr,
    // …) get the same walk within one poll.
    const walks = new Map<string, Promise<Vb[]>>();
    const walk = (oid: string): Promise<Vb[]> => {
      let w = walks.get(oid);
      if (!w) walks.set(oid, (w = walkOnce(oid)));
      return w;
    };
    const walkOnce = async (oid: string): Promise<Vb[]> => {
      const r: WalkResult = await this.client.walk(oid, { maxRepetitions: this.spec.maxRepetitions, maxValues: this.env.maxValuesPerWalk, deadlineAt });
      stats.values += r.vbs.length;
      if (r.truncated) fail(new SnmpError(this.spec.name, r.truncated === 'time' ? 'budget' : 'agent', `walk of ${oid} stopped early (${r.truncated === 'loop' ? 'agent returned OIDs out of order' : r.truncated === 'values' ? `more than ${this.env.maxValuesPerWalk} values` : 'time budget exhausted'})`));
      return r.vbs;
    };
    const empty: string[] = [];
    let ran = 0;
    try {
      for (const name of await this.profileNames(start, deadlineAt, stats).catch((e: unknown) => (fail(e), expandProfiles(this.spec.profiles, undefined)))) {
        try {
          if (name === 'interfaces') await this.pollInterfaces(at, deadlineAt, walk, stats);
          else {
            const p = this.env.profiles.get(name);
            if (!p || !this.due(name, p, start)) continue;
            ran++;
            if ((await this.pollProfile(p, at, deadlineAt, walk, stats)) === 0 && p.needs) empty.push(name);
          }
        } catch (e) {
          if (e instanceof PollAborted) throw e;
          fail(e);
        }
      }
      if (ran) this.reportEmpty(empty);
    } catch (e) {
      if (!(e instanceof PollAborted)) throw e;
    }
    stats.durationMs = performance.now() - start;
    this.env.emit(
      makeRecord(
        'health',
        'snmp_poll',
        { device: this.spec.name, agent: this.spec.address },
        { duration_ms: stats.durationMs, values: BigInt(stats.values), timeouts: BigInt(stats.timeouts), errors: BigInt(stats.errors), ok: stats.ok },
        at,
        'collector',
      ),
    );
    return stats;
  }

  /** The configured profiles with `health` and groups expanded (health/select.ts). */
  private async profileNames(now: number, deadlineAt: number, stats: PollStats): Promise<readonly string[]> {
    const names = this.spec.profiles;
    if (!names.includes('health') || this.spec.vendor) return expandProfiles(names, undefined, this.spec.vendor);
    // sysObjectID is re-read at the health interval: a device replaced under the same address changes vendor.
    if (!this.sysObjectId || now - this.sysObjectId.at >= (this.spec.healthIntervalMs ?? 60_000)) {
      const vb = await this.client.get([SYS_OBJECT_ID_0], deadlineAt);
      stats.values += vb.length;
      const v = vb[0]?.value;
      this.sysObjectId = { value: v?.kind === 'oid' ? v.value : undefined, at: now };
    }
    return expandProfiles(names, this.sysObjectId.value);
  }

  /** A profile with its own interval runs when that much time has passed (half a device interval of slack, for timer jitter). */
  private due(name: string, p: ProfileSpec, now: number): boolean {
    const every = p.intervalMs === undefined ? 0 : (this.spec.healthIntervalMs ?? p.intervalMs);
    const last = this.lastRun.get(name);
    if (last !== undefined && now - last < every - this.spec.intervalMs / 2) return false;
    this.lastRun.set(name, now);
    return true;
  }

  /** One info line when the set of profiles that found nothing changes, never one per poll. */
  private reportEmpty(empty: readonly string[]): void {
    const key = empty.join(',');
    if (key === this.emptyReported) return;
    this.emptyReported = key;
    if (!empty.length) return;
    const needs = Object.fromEntries(empty.map((n) => [n, this.env.profiles.get(n)?.needs]));
    this.env.info?.(`snmp: ${this.spec.name}: profiles ${empty.join(', ')} found nothing (the device does not answer their MIBs); polling them on`, { device: this.spec.name, profiles: empty, needs });
  }

  private async pollInterfaces(at: number, deadlineAt: number, walk: (oid: string) => Promise<Vb[]>, stats: PollStats): Promise<void> {
    const up = await this.client.get([SYS_UPTIME_0], deadlineAt);
    const mono = performance.now();
    stats.values += up.length;
    const ifTable = await walk(IF_TABLE);
    const ifXTable = await walk(IF_X_TABLE);
    const rows = interfaceRows(ifTable, ifXTable);
    const uptime = up[0]?.value;
    const rates = this.rates.update({ uptimeTicks: valueAsBigint(uptime), monoMs: mono }, rows.map((r) => r.sample));
    const records = rows.map((row) => interfaceRecord(this.dev, row, rates.get(row.ifIndex), at));
    const state = this.env.writeAhead && saveRateState(this.rates, Date.now(), performance.now());
    if (state) await this.env.writeAhead?.(state, records);
    for (const r of records) this.env.emit(r);
    if (rows.length) this.env.interfaces.update(this.spec.name, [this.spec.address, ...this.spec.flowAddresses], 'snmp', interfaceInfos(rows), this.spec.flowAddresses);
  }

  private async getScalars(oids: readonly string[], deadlineAt: number): Promise<Vb[]> {
    const out: Vb[] = [];
    for (let i = 0; i < oids.length; i += GET_CHUNK) {
      const chunk = oids.slice(i, i + GET_CHUNK);
      try {
        out.push(...(await this.client.get(chunk, deadlineAt)));
      } catch (e) {
        // SNMPv1 fails a whole GET for one unknown OID (RFC 1157 4.1.2): ask one by one.
        if (this.client.version !== 'v1' || !(e instanceof SnmpError) || e.kind !== 'agent') throw e;
        for (const oid of chunk) out.push(...(await this.client.get([oid], deadlineAt).catch(() => [{ oid, value: { kind: 'missing', reason: 'noSuchObject' } } as Vb])));
      }
    }
    return out;
  }

  /** Runs one profile; returns the number of records it emitted. */
  private async pollProfile(p: ProfileSpec, at: number, deadlineAt: number, walk: (oid: string) => Promise<Vb[]>, stats: PollStats): Promise<number> {
    let out: DeviceMetricRecord[] = [];
    if (p.scalars.length) {
      const vbs = await this.getScalars(
        p.scalars.map((s) => `${s.oid}.${s.instance ?? '0'}`),
        deadlineAt,
      );
      stats.values += vbs.length;
      const r = scalarRecord(this.dev, p, vbs, at);
      if (r) out.push(r);
    }
    for (const t of p.tables) {
      if (t.requires !== undefined && !(await walk(t.requires)).length) continue;
      const cols: Vb[][] = [];
      for (const c of t.columns) cols.push(await walk(c.oid));
      out.push(...tableRecords(this.dev, t, cols, at));
    }
    if (p.merge) out = p.merge(out);
    for (const r of out) this.env.emit(r);
    return out.length;
  }
}
