/**
 * Poller role on a bus: the SNMP inventory's devices are shared by leases (leases.ts) in the same
 * bucket as the processors' partitions, one key per device (`device.<name>`) and one membership key
 * per poller (`poller.<id>`). Every poller holds ceil(devices / live pollers): exact balance
 * whatever the names hash to, and a device moves alone. The cost is one KV update per device every
 * third of the TTL (1000 devices, 6 s TTL: 500 updates/s on the cluster).
 *
 * Each poll's counter sample goes into `<stream>_snmp_rates` (one key per device) with the interface
 * records made from it, before those records are emitted (write-ahead), so whoever polls the device
 * next goes on from it: its first rate covers the time since the previous poller's last poll, on
 * that poller's grid, and it writes that poll's records again. Putting the sample after the points
 * were written instead leaves a window (a SIGKILL between the write and the put) in which the next
 * poller starts from the sample before: its first rate then spans two polls and overlaps the last
 * point written, and it polls at once, off the grid. Written again, a point that did reach the
 * database replaces itself (same measurement, tags with the first poller's `instance`, timestamp).
 */
import type { DeviceHandoff, DeviceShare } from '../collector.js';
import type { Logger } from '../log.js';
import type { NetRecord } from '../record/record.js';
import type { Bus, KeyValue } from './bus.js';
import { LeaseTable } from './leases.js';
import { testHold } from './testhold.js';
import { isPacked, pack, unpack } from './packed.js';

export interface PollerOptions {
  /** The instance name: lease owner, and the `instance` tag stamped on records written ahead. */
  id: string;
  stream: string;
  leaseTtlMs: number;
}

/**
 * Under NATS's default max_payload (1 MiB) with room for headers. A poll whose records pack larger
 * (some 10,000 interfaces) hands over its sample alone: the next poller's rates still go on, and
 * only that poll's points are lost if its poller dies before writing them.
 */
const MAX_ENTRY = 900 * 1024;

type Take = (device: string, last: DeviceHandoff | undefined) => boolean;
type Drop = (device: string) => Promise<void>;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A device name as one KV key token: letters, digits and `-` as they are, every other byte `_xx`. */
export function deviceKey(name: string): string {
  let out = '';
  for (const b of enc.encode(name)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9-]/.test(c) ? c : `_${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

export class BusPollers implements DeviceShare {
  private leases!: LeaseTable;
  private rates!: KeyValue;
  /** Inventory by key, in key order (the order leases are tried in). */
  private names = new Map<string, string>();
  private units: string[] = [];
  private take: Take = () => false;
  private drop: Drop = async () => {};
  private readonly held = new Map<string, string>();
  private renewTimer: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> = Promise.resolve();
  private beat: Promise<void> = Promise.resolve();
  private started = false;
  /** Start of the last renewal that succeeded: a poller that cannot renew for a TTL stops polling. */
  private renewedAt = Date.now();
  private stopped = false;
  private readonly key: string;
  readonly stats = { taken: 0, released: 0, lost: 0, members: 0, saved: 0, saveErrors: 0, oversize: 0, resumed: 0, replayed: 0 };

  constructor(
    private readonly bus: Bus,
    private readonly opts: PollerOptions,
    private readonly log: Logger,
  ) {
    this.key = opts.id.replace(/[^A-Za-z0-9_-]/g, '_');
  }

  async open(): Promise<void> {
    // a bucket of their own: the processors' `<stream>_leases` keys do not expire (they name outbox
    // entries, outbox.ts), and whichever role creates a bucket first sets its expiry
    this.leases = await LeaseTable.open(this.bus, `${this.opts.stream}_pollers`, { owner: this.key, ttlMs: this.opts.leaseTtlMs, unit: 'device', member: 'poller', log: this.log });
    this.rates = await this.bus.kv(`${this.opts.stream}_snmp_rates`, 0);
  }

  share(names: readonly string[], take: Take, drop: Drop): void {
    this.names = new Map(names.map((n) => [deviceKey(n), n]));
    this.units = [...this.names.keys()].sort();
    this.take = take;
    this.drop = drop;
    if (this.started || this.stopped) return;
    this.started = true;
    const every = this.leases.every;
    // renewing runs on its own, as in processor.ts: a slow rebalance must not let held leases expire
    this.renewTimer = setInterval(() => {
      if (this.held.size && Date.now() - this.renewedAt > this.opts.leaseTtlMs) void this.fence();
      this.renewing = this.renewing.then(() => this.renew()).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'bus device lease renewal failed'));
    }, every);
    this.renewTimer.unref();
    this.timer = setInterval(() => {
      this.beat = this.beat.then(() => this.heartbeat()).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'bus device rebalance failed'));
    }, every);
    this.timer.unref();
    this.beat = this.renew().then(() => this.heartbeat()).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'bus device rebalance failed'));
  }

  async writeAhead(device: string, state: unknown, records: readonly NetRecord[]): Promise<void> {
    const k = deviceKey(device);
    if (!this.held.has(k)) return; // lost meanwhile: the new owner's samples are newer
    for (const r of records) r.tags.instance ??= this.opts.id;
    let entry = pack({ state, records });
    if (entry.length > MAX_ENTRY) {
      if (this.stats.oversize++ === 0) this.log.warn({ device, bytes: entry.length, records: records.length }, 'a poll\'s records are too large to hand over: its sample goes alone');
      entry = pack({ state, records: [] });
    }
    // bounded: a poll must not wait on NATS for long; the records are emitted either way
    let t: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error('timed out')), Math.max(1000, this.opts.leaseTtlMs / 2))));
    try {
      await Promise.race([this.rates.put(k, entry), late]);
      this.stats.saved++;
      await testHold('HANDOFF', () => this.log.info({ device }, 'bus test hook: poll handed over, holding its records'));
    } catch (e) {
      this.stats.saveErrors++;
      this.log.warn({ device, err: (e as Error).message }, 'could not hand over a device\'s rate state: its next poller starts from an older sample');
    } finally {
      clearTimeout(t);
    }
  }

  /** Device names held now, sorted. */
  devices(): string[] {
    return [...this.held.values()].sort();
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    const at = Date.now();
    await this.leases.renew(async (k) => {
      const name = this.held.get(k);
      if (name === undefined) return;
      this.held.delete(k);
      this.stats.lost++;
      await this.drop(name);
      this.log.warn({ device: name }, 'bus device lease lost to another poller');
    });
    this.renewedAt = at;
  }

  /**
   * Cut off from NATS for a TTL: another poller may hold our devices by now, so we stop polling them
   * rather than poll them twice until NATS is back. The leases expire on their own.
   */
  private async fence(): Promise<void> {
    const gone = [...this.held];
    this.log.warn({ devices: gone.length, since_ms: Date.now() - this.renewedAt }, 'bus device leases not renewed for a TTL: polling stops until they are taken again');
    for (const [k, name] of gone) {
      if (this.held.get(k) !== name) continue;
      this.held.delete(k);
      this.leases.forget(k);
      this.stats.lost++;
      await this.drop(name);
      this.log.warn({ device: name }, 'bus device lease lost to another poller');
    }
  }

  /** Lets go of what left the inventory and what is above our fair share, then takes free devices up to it. */
  private async heartbeat(): Promise<void> {
    if (this.stopped) return;
    const until = Date.now() + this.opts.leaseTtlMs / 3;
    const members = this.leases.members(Date.now());
    this.stats.members = members;
    const fair = Math.ceil(this.units.length / members);
    for (const k of [...this.held.keys()]) if (!this.names.has(k)) await this.release(k, 'left the inventory');
    // the newest taken go first, so what a poller held longest stays where it is
    for (const k of [...this.held.keys()].slice(fair).reverse()) await this.release(k, `over our share of ${fair}`);
    await this.leases.acquire(this.units, fair - this.held.size, until, (k) => this.acquired(k), () => this.stopped);
  }

  private async acquired(k: string): Promise<void> {
    const name = this.names.get(k) as string;
    let last: DeviceHandoff | undefined;
    try {
      const e = await this.rates.get(k);
      // a version before the write-ahead stored the sample alone, as JSON
      if (e) last = isPacked(e.value) ? unpack<DeviceHandoff>(e.value) : { state: JSON.parse(dec.decode(e.value)) as unknown, records: [] };
    } catch (e) {
      this.log.warn({ device: name, err: (e as Error).message }, 'device rate state unreadable: rates start one poll later');
    }
    this.held.set(k, name);
    if (!this.take(name, last)) {
      this.held.delete(k);
      this.leases.release(k);
      return;
    }
    this.stats.taken++;
    if (last !== undefined) this.stats.resumed++;
    this.stats.replayed += last?.records.length ?? 0;
    this.log.info({ device: name, resumed: last !== undefined }, 'bus device taken');
  }

  /** Stops polling the device (a poll in flight ends first), then lets the lease go. */
  private async release(k: string, why: string): Promise<void> {
    const name = this.held.get(k) as string;
    await this.drop(name); // still held meanwhile: a poll in flight hands its sample over
    this.held.delete(k);
    this.leases.release(k);
    this.stats.released++;
    this.log.info({ device: name, why }, 'bus device released');
  }

  /** No more taking or renewing (before the collectors stop); leases stay until `close`. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.renewTimer) clearInterval(this.renewTimer);
    await this.beat;
    await this.renewing;
  }

  /**
   * After the collector stopped (its polls ended, their samples handed over): every lease goes at
   * once, so other pollers take the devices at their next try.
   */
  async close(): Promise<void> {
    for (const [k, name] of [...this.held]) {
      this.held.delete(k);
      this.leases.release(k);
      this.stats.released++;
      this.log.info({ device: name, why: 'stopping' }, 'bus device released');
    }
    await this.leases?.close();
  }
}
