/**
 * Leases in a KV bucket: one key per unit of work (a flow partition, an SNMP device), renewed with
 * compare-and-set (pollers every third of the TTL, processors every sixth: their fence allows a
 * proof two thirds of it, fence.ts), plus one membership key per holder, so each holder can
 * compute its fair share (ceil(units / members)). Both bus roles hold their work by it: processors
 * their partitions (processor.ts), pollers their devices (pollers.ts); what taking or letting go of
 * a unit means is the caller's.
 *
 * A lease's value is the owner by default; the processor's names its write-ahead outbox entries
 * (outbox.ts), which the taker of a dead holder's lease reads (`acquire`'s `take`) and which the
 * holder changes by `relabel`. Every write of a held lease the server accepted is reported with
 * its send time (`proof`), from which the processor's fence proves the lease is still its own
 * (fence.ts).
 */
import type { Logger } from '../log.js';
import type { Bus, KeyValue, KvMirror } from './bus.js';
import { partitionOf } from './bus.js';
import { LetGo } from './letgo.js';
import { RETRY_MS, retrying } from './retry.js';

/** Told of every accepted take, renewal and relabel, on a monotonic clock (fence.ts LeaseProof). */
export interface LeaseClock {
  /** Read before each write is sent. */
  now(): number;
  renewed(unit: string, sentAt: number): void;
}

export interface LeaseOptions {
  /** This holder's key (letters, digits, _ and - only). */
  owner: string;
  ttlMs: number;
  /** Key prefix of the units (`part`, `device`) and of the members (`member`, `poller`). */
  unit: string;
  member: string;
  /**
   * Expiry of the bucket's keys after their last write, 0 for never; `ttlMs` when not given. The
   * processor's leases do not expire: a dead holder's lease keeps naming its outbox entries until a
   * taker that saw it unchanged for a TTL replaces it.
   */
  expireMs?: number;
  /**
   * What a lease is written with (the owner when not given). `prev` is its current value: at a take
   * the value of the lease replaced (undefined: the unit was free), later what we wrote last.
   */
  value?: (unit: string, prev: Uint8Array | undefined) => Uint8Array;
  proof?: LeaseClock;
  /** How often the caller renews (`renewEvery`); a third of the TTL when not given. */
  renewEveryMs?: number;
  /**
   * Count a lease's TTL from when our watcher saw its revision, when that is before our first read
   * of it: a dead holder's work moves up to a rebalance period sooner. The processor's choice; the
   * pollers count from their first read (a device's first poll by its new owner then stays at least
   * half an interval after the last one of the dead owner, which their rate checks rely on).
   */
  fromWatcher?: boolean;
  /** Where a lease delete that had to be retried says so (letgo.ts). */
  log: Logger;
}

interface Held {
  rev: number;
  value: Uint8Array;
}

const enc = new TextEncoder();
export class LeaseTable {
  private readonly held = new Map<string, Held>();
  /** Lease revisions of units we do not hold, and since when we see each unchanged. */
  private readonly seen = new Map<string, { revision: number; since: number }>();
  /** Renewals and relabels one after the other: two writes of one lease at one revision would fail each other. */
  private turn: Promise<unknown> = Promise.resolve();
  /** Deletes of released leases, retried while the bucket cannot answer (letgo.ts). */
  private readonly letGo: LetGo;

  private constructor(
    private readonly kv: KeyValue,
    private readonly view: KvMirror,
    readonly opts: LeaseOptions,
  ) {
    this.letGo = new LetGo(kv, opts.owner, opts.ttlMs, opts.log);
  }

  static async open(bus: Bus, bucket: string, opts: LeaseOptions): Promise<LeaseTable> {
    const kv = await bus.kv(bucket, opts.expireMs ?? opts.ttlMs);
    return new LeaseTable(kv, await kv.mirror(), opts);
  }

  /** Rebalance every third of the TTL. */
  get every(): number {
    return Math.max(200, Math.floor(this.opts.ttlMs / 3));
  }

  /** Renew this often: a third of the TTL unless the caller asked for more often. */
  get renewEvery(): number {
    return this.opts.renewEveryMs ?? this.every;
  }

  has(unit: string): boolean {
    return this.held.has(unit);
  }

  private valueOf(u: string, prev: Uint8Array | undefined): Uint8Array {
    return this.opts.value ? this.opts.value(u, prev) : enc.encode(this.opts.owner);
  }

  private inTurn<T>(step: () => Promise<T>): Promise<T> {
    const run = this.turn.then(step, step);
    this.turn = run.catch(() => undefined);
    return run;
  }

  /** One held lease written again at its revision; false when it moved on. */
  private async write(u: string, h: Held): Promise<boolean> {
    const sent = this.opts.proof?.now();
    const value = this.valueOf(u, h.value);
    const rev = await this.kv.update(`${this.opts.unit}.${u}`, value, h.rev);
    if (rev === undefined) return false;
    h.rev = rev;
    h.value = value;
    // let go of meanwhile (released, or forgotten by a fence): nothing left to prove
    if (sent !== undefined && this.held.get(u) === h) this.opts.proof?.renewed(u, sent);
    return true;
  }

  /**
   * Our membership and every lease we hold. A lease whose revision moved on (we were cut off longer
   * than the TTL and someone took it) is forgotten and reported to `lost`.
   */
  renew(lost: (unit: string) => Promise<void>): Promise<void> {
    return this.inTurn(async () => {
      // a failed write (no bucket leader) is tried again until the next renewal is due, which then
      // takes over: the proof's age once the bucket answers is then the outage plus at most RETRY_MS
      const until = Date.now() + this.renewEvery - RETRY_MS;
      const retried = <T>(step: () => Promise<T>, still: () => boolean): Promise<T> => retrying(step, () => Date.now() < until && still());
      await Promise.all([
        retried(() => this.kv.put(`${this.opts.member}.${this.opts.owner}`, enc.encode(String(Date.now()))), () => true),
        ...[...this.held].map(async ([u, h]) => {
          if (await retried(() => this.write(u, h), () => this.held.get(u) === h)) return;
          if (this.held.get(u) !== h) return;
          this.held.delete(u);
          await lost(u);
        }),
      ]);
    });
  }

  /**
   * Writes the leases of held units again now, with what `value` gives (the processor names a new
   * outbox entry in them). A write the bucket refused is tried again while `still()` (the caller
   * can still prove the leases). False when a unit is not held, its lease moved on or a write
   * failed; the leases stay held either way (the next renewal tells whether one was lost).
   */
  relabel(units: readonly string[], still: () => boolean = () => false): Promise<boolean> {
    return this.inTurn(async () => {
      const ok = await Promise.all(
        units.map((u) => {
          const h = this.held.get(u);
          return h ? retrying(() => this.write(u, h), () => still() && this.held.get(u) === h) : false;
        }),
      );
      return ok.every(Boolean);
    }).catch(() => false);
  }

  /** Members seen writing within the TTL (an expired key sends no event, hence the age check). */
  members(now: number): number {
    let n = 0;
    for (const e of this.view.entries(this.opts.member).values()) if (now - e.seenAt < this.opts.ttlMs) n++;
    return Math.max(1, n);
  }

  /**
   * Tries the units in order from a place of our own (so holders starting together try different
   * units) until we hold `want` more or `until` passes; `take` runs for each lease won, with the
   * value of the lease it replaced, and may throw (after letting the lease go with `release`).
   */
  async acquire(units: readonly string[], want: number, until: number, take: (unit: string, prev: Uint8Array | undefined) => Promise<void>, stopped: () => boolean): Promise<void> {
    const from = units.length ? partitionOf(this.opts.owner, units.length) : 0;
    let got = 0;
    for (let i = 0; i < units.length && got < want && !stopped() && Date.now() < until; i++) {
      const u = units[(from + i) % units.length] as string;
      if (this.held.has(u)) continue;
      const won = await this.tryLease(u);
      if (!won) continue;
      await take(u, won.prev);
      got++;
    }
  }

  /**
   * A free unit is created; one whose lease stayed at the same revision for a whole TTL (its
   * holder stopped renewing) is taken at that revision (compare-and-set). Judged by our own reads,
   * so neither the server's expiry of the key nor a watcher's timing is relied on, both of which
   * lag while a cluster re-elects leaders; the watcher (`fromWatcher`) only tells that a revision
   * was already there before this read.
   */
  private async tryLease(u: string): Promise<{ prev: Uint8Array | undefined } | undefined> {
    const key = `${this.opts.unit}.${u}`;
    const cur = await this.kv.get(key);
    const value = this.valueOf(u, cur?.value);
    const sent = this.opts.proof?.now();
    let rev: number | undefined;
    if (!cur) rev = await this.kv.create(key, value);
    else {
      const now = Date.now();
      let seen = this.seen.get(u);
      if (!seen || seen.revision !== cur.revision) {
        // our watcher saw this revision written at seenAt or later: as safe a start as this read
        const w = this.opts.fromWatcher ? this.view.entries(this.opts.unit).get(key) : undefined;
        seen = { revision: cur.revision, since: w?.revision === cur.revision ? Math.min(now, w.seenAt) : now };
        this.seen.set(u, seen);
      }
      if (now - seen.since < this.opts.ttlMs) return undefined;
      rev = await this.kv.update(key, value, cur.revision);
    }
    if (rev === undefined) return undefined;
    this.held.set(u, { rev, value });
    if (sent !== undefined) this.opts.proof?.renewed(u, sent);
    return { prev: cur?.value };
  }

  /**
   * Lets a lease go, so another holder may take the unit at its next try rather than a TTL later:
   * deleted at the revision we wrote, retried in the background while the bucket has no leader
   * (letgo.ts); never throws.
   */
  release(u: string): void {
    const h = this.held.get(u);
    this.held.delete(u);
    if (h) this.letGo.start(`${this.opts.unit}.${u}`, h.rev, () => this.held.has(u));
  }

  /** Stops renewing a lease without touching the bucket: it expires, and whoever reads it unchanged for a TTL takes it. */
  forget(u: string): void {
    this.held.delete(u);
  }

  /** Lets every lease and the membership go (deletes still retried after min(5 s, TTL / 3) are left to age). */
  async close(): Promise<void> {
    for (const u of [...this.held.keys()]) this.release(u);
    await this.letGo.settle(Math.min(5000, this.opts.ttlMs / 3));
    await this.kv.delete(`${this.opts.member}.${this.opts.owner}`).catch(() => {});
    this.view.stop();
  }
}
