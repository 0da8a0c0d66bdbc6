/**
 * Leases in a KV bucket whose entries expire after `ttlMs`: one key per unit of work (a flow
 * partition, an SNMP device), renewed every third of the TTL with compare-and-set, plus one
 * membership key per holder, so each holder can compute its fair share (ceil(units / members)).
 * Used by the poller role (devices); what taking or letting go of a unit means is the caller's.
 * The processor role keeps its own lease code in processor.ts for now: its lease values also name
 * write-ahead outbox entries and feed the fence's lease proof (fence.ts, outbox.ts), which this
 * table does not model yet.
 */
import type { Bus, KeyValue, KvMirror } from './bus.js';
import { partitionOf } from './bus.js';

export interface LeaseOptions {
  /** This holder's key (letters, digits, _ and - only). */
  owner: string;
  ttlMs: number;
  /** Key prefix of the units (`part`, `device`) and of the members (`member`, `poller`). */
  unit: string;
  member: string;
}

interface Held {
  rev: number;
}

const enc = new TextEncoder();

export class LeaseTable {
  private readonly held = new Map<string, Held>();
  /** Lease revisions of units we do not hold, and since when we see each unchanged. */
  private readonly seen = new Map<string, { revision: number; since: number }>();

  private constructor(
    private readonly kv: KeyValue,
    private readonly view: KvMirror,
    readonly opts: LeaseOptions,
  ) {}

  static async open(bus: Bus, bucket: string, opts: LeaseOptions): Promise<LeaseTable> {
    const kv = await bus.kv(bucket, opts.ttlMs);
    return new LeaseTable(kv, await kv.mirror(), opts);
  }

  /** Renew every third of the TTL. */
  get every(): number {
    return Math.max(200, Math.floor(this.opts.ttlMs / 3));
  }

  has(unit: string): boolean {
    return this.held.has(unit);
  }

  /**
   * Our membership and every lease we hold. A lease whose revision moved on (we were cut off longer
   * than the TTL and someone took it) is forgotten and reported to `lost`.
   */
  async renew(lost: (unit: string) => Promise<void>): Promise<void> {
    await Promise.all([
      this.kv.put(`${this.opts.member}.${this.opts.owner}`, enc.encode(String(Date.now()))),
      ...[...this.held].map(async ([u, h]) => {
        const rev = await this.kv.update(`${this.opts.unit}.${u}`, enc.encode(this.opts.owner), h.rev);
        if (rev !== undefined) h.rev = rev;
        else if (this.held.get(u) === h) {
          this.held.delete(u);
          await lost(u);
        }
      }),
    ]);
  }

  /** Members seen writing within the TTL (an expired key sends no event, hence the age check). */
  members(now: number): number {
    let n = 0;
    for (const e of this.view.entries(this.opts.member).values()) if (now - e.seenAt < this.opts.ttlMs) n++;
    return Math.max(1, n);
  }

  /**
   * Tries the units in order from a place of our own (so holders starting together try different
   * units) until we hold `want` more or `until` passes; `take` runs for each lease won and may throw
   * (after letting the lease go with `release`).
   */
  async acquire(units: readonly string[], want: number, until: number, take: (unit: string) => Promise<void>, stopped: () => boolean): Promise<void> {
    const from = units.length ? partitionOf(this.opts.owner, units.length) : 0;
    let got = 0;
    for (let i = 0; i < units.length && got < want && !stopped() && Date.now() < until; i++) {
      const u = units[(from + i) % units.length] as string;
      if (this.held.has(u)) continue;
      if (!(await this.tryLease(u))) continue;
      await take(u);
      got++;
    }
  }

  /**
   * A free unit is created; one whose lease stayed at the same revision for a whole TTL (its
   * holder stopped renewing) is taken at that revision (compare-and-set). Judged by our own reads,
   * so neither the server's expiry of the key nor a watcher is relied on, both of which lag while a
   * cluster re-elects leaders.
   */
  private async tryLease(u: string): Promise<boolean> {
    const key = `${this.opts.unit}.${u}`;
    const value = enc.encode(this.opts.owner);
    const cur = await this.kv.get(key);
    let rev: number | undefined;
    if (!cur) rev = await this.kv.create(key, value);
    else {
      const now = Date.now();
      const seen = this.seen.get(u);
      if (!seen || seen.revision !== cur.revision) {
        this.seen.set(u, { revision: cur.revision, since: now });
        return false;
      }
      if (now - seen.since < this.opts.ttlMs) return false;
      rev = await this.kv.update(key, value, cur.revision);
    }
    if (rev === undefined) return false;
    this.held.set(u, { rev });
    return true;
  }

  /** Lets a lease go at once, so another holder may take the unit at its next try. */
  async release(u: string): Promise<void> {
    this.held.delete(u);
    await this.kv.delete(`${this.opts.unit}.${u}`);
  }

  /** Stops renewing a lease without touching the bucket: it expires, and whoever reads it unchanged for a TTL takes it. */
  forget(u: string): void {
    this.held.delete(u);
  }

  /** Lets every lease and the membership go. */
  async close(): Promise<void> {
    for (const u of [...this.held.keys()]) await this.release(u).catch(() => {});
    await this.kv.delete(`${this.opts.member}.${this.opts.owner}`).catch(() => {});
    this.view.stop();
  }
}
