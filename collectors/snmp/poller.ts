/**
 * One poll of one device: its profiles in order, under one time budget, ending with an `snmp_poll`
 * health record (device, duration, values, timeouts, errors) so a dashboard can answer "which device
 * is slow?". A timeout ends the poll early: a device that does not answer one request will not answer
 * the next, and waiting again would only hold a concurrency slot.
 */
import type { InterfaceDirectory } from '../../src/collector.js';
import { SnmpError } from '../../src/errors.js';
import { makeRecord, type NetRecord } from '../../src/record/record.js';
import { IF_TABLE, IF_X_TABLE, interfaceInfos, interfaceRecord, interfaceRows, type DeviceIdentity } from './interfaces.js';
import type { DeviceSpec } from './inventory.js';
import type { SnmpClient, WalkResult } from './netsnmp.js';
import { scalarRecord, tableRecords, type ProfileSpec } from './profiles.js';
import { RateTracker } from './rates.js';
import { valueAsBigint, type Vb } from './values.js';

const SYS_UPTIME_0 = '1.3.6.1.2.1.1.3.0';
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
  interfaces: InterfaceDirectory;
  profiles: ReadonlyMap<string, ProfileSpec>;
  maxValuesPerWalk: number;
}

class PollAborted extends Error {}

export class DevicePoller {
  readonly rates = new RateTracker();
  private readonly dev: DeviceIdentity;

  constructor(
    readonly spec: DeviceSpec,
    readonly client: SnmpClient,
    private readonly env: PollEnv,
  ) {
    this.dev = { name: spec.name, address: spec.address, tags: spec.tags };
  }

  async poll(): Promise<PollStats> {
    const start = performance.now();
    const at = Date.now();
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
    const walk = async (oid: string): Promise<Vb[]> => {
      const r: WalkResult = await this.client.walk(oid, { maxRepetitions: this.spec.maxRepetitions, maxValues: this.env.maxValuesPerWalk, deadlineAt });
      stats.values += r.vbs.length;
      if (r.truncated) fail(new SnmpError(this.spec.name, r.truncated === 'time' ? 'budget' : 'agent', `walk of ${oid} stopped early (${r.truncated === 'loop' ? 'agent returned OIDs out of order' : r.truncated === 'values' ? `more than ${this.env.maxValuesPerWalk} values` : 'time budget exhausted'})`));
      return r.vbs;
    };
    try {
      for (const name of this.spec.profiles) {
        try {
          if (name === 'interfaces') await this.pollInterfaces(at, deadlineAt, walk, stats);
          else {
            const p = this.env.profiles.get(name);
            if (p) await this.pollProfile(p, at, deadlineAt, walk, stats);
          }
        } catch (e) {
          if (e instanceof PollAborted) throw e;
          fail(e);
        }
      }
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

  private async pollInterfaces(at: number, deadlineAt: number, walk: (oid: string) => Promise<Vb[]>, stats: PollStats): Promise<void> {
    const up = await this.client.get([SYS_UPTIME_0], deadlineAt);
    const mono = performance.now();
    stats.values += up.length;
    const ifTable = await walk(IF_TABLE);
    const ifXTable = await walk(IF_X_TABLE);
    const rows = interfaceRows(ifTable, ifXTable);
    const uptime = up[0]?.value;
    const rates = this.rates.update({ uptimeTicks: valueAsBigint(uptime), monoMs: mono }, rows.map((r) => r.sample));
    for (const row of rows) this.env.emit(interfaceRecord(this.dev, row, rates.get(row.ifIndex), at));
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

  private async pollProfile(p: ProfileSpec, at: number, deadlineAt: number, walk: (oid: string) => Promise<Vb[]>, stats: PollStats): Promise<void> {
    if (p.scalars.length) {
      const vbs = await this.getScalars(
        p.scalars.map((s) => `${s.oid}.0`),
        deadlineAt,
      );
      stats.values += vbs.length;
      const r = scalarRecord(this.dev, p, vbs, at);
      if (r) this.env.emit(r);
    }
    for (const t of p.tables) {
      const cols: Vb[][] = [];
      for (const c of t.columns) cols.push(await walk(c.oid));
      for (const r of tableRecords(this.dev, t, cols, at)) this.env.emit(r);
    }
  }
}
