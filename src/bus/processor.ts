/**
 * Processor role: this instance takes a fair share of the partitions, holding each by a lease in a
 * KV bucket whose entries expire after `lease_ttl` (renewed every third of it), so a killed
 * processor's partitions are taken by the others within about one TTL. Members announce themselves
 * in the same bucket; the fair share is ceil(partitions / members). A processor over its share
 * stops consuming the surplus and lets the lease go only once what it took from them is committed.
 *
 * Nothing is committed before it is safe: `closeInterval` marks what every partition delivered so
 * far; once the interval's records have left the pipeline (written, or spooled by a sink) the last
 * message of each partition is committed (its offset), so a successor resumes right after it.
 */
import type { Logger } from '../log.js';
import type { Bus, BusMessage, KeyValue, KvMirror, PartitionConsumer } from './bus.js';
import { partitionOf } from './bus.js';
import { readFrame, type DatagramHandler } from './frame.js';

export interface ProcessorOptions {
  id: string;
  stream: string;
  leaseTtlMs: number;
  /** Resolves once every record emitted before the call has been written or spooled. */
  settle: () => Promise<void>;
}

interface Owned {
  rev: number;
  consumer?: PartitionConsumer;
  last?: BusMessage;
  committed: number;
  /** Over our share: no longer consumed; the lease goes once `last` is committed. */
  draining: boolean;
  /** Delivery stopped (commits still work). */
  halted: boolean;
}

const TAKE_TIMEOUT_MS = 10_000;
const enc = new TextEncoder();
const dec = new TextDecoder();

export class BusProcessor {
  private readonly owned = new Map<number, Owned>();
  /** Lease revisions of partitions we do not hold, and since when we see each unchanged. */
  private readonly seen = new Map<number, { revision: number; since: number }>();
  private leases!: KeyValue;
  private state!: KeyValue;
  private leaseView!: KvMirror;
  private stateView!: KvMirror;
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> = Promise.resolve();
  private handle: DatagramHandler = () => {};
  private restore: (doc: unknown) => void = () => {};
  private timer: NodeJS.Timeout | undefined;
  private beat: Promise<void> = Promise.resolve();
  private acks: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly key: string;
  readonly stats = { frames: 0, datagrams: 0, badFrames: 0, commits: 0, taken: 0, released: 0, lost: 0, members: 0 };

  constructor(
    private readonly bus: Bus,
    private readonly opts: ProcessorOptions,
    private readonly log: Logger,
  ) {
    this.key = opts.id.replace(/[^A-Za-z0-9_-]/g, '_');
  }

  async start(handle: DatagramHandler, restore: (doc: unknown) => void): Promise<void> {
    this.handle = handle;
    this.restore = restore;
    this.leases = await this.bus.kv(`${this.opts.stream}_leases`, this.opts.leaseTtlMs);
    this.state = await this.bus.kv(`${this.opts.stream}_state`, 0);
    this.leaseView = await this.leases.mirror();
    this.stateView = await this.state.mirror();
    const every = Math.max(200, Math.floor(this.opts.leaseTtlMs / 3));
    // renewing runs on its own: a slow rebalance (a consumer created while the cluster re-elects)
    // must not let the leases already held expire
    await this.renew();
    this.renewTimer = setInterval(() => {
      this.renewing = this.renewing.then(() => this.renew()).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'bus lease renewal failed'));
    }, every);
    this.renewTimer.unref();
    await this.heartbeat();
    this.timer = setInterval(() => {
      this.beat = this.beat.then(() => this.heartbeat()).catch((e: unknown) => this.log.warn({ err: (e as Error).message, step: this.step }, 'bus rebalance failed'));
    }, every);
    this.timer.unref();
  }

  partitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  /** What the heartbeat was doing, for the log when it fails. */
  private step = '';

  /** Our leases and our membership, every third of the TTL. */
  private async renew(): Promise<void> {
    if (this.stopped) return;
    await Promise.all([
      this.leases.put(`member.${this.key}`, enc.encode(String(Date.now()))),
      ...[...this.owned].map(async ([p, o]) => {
        const rev = await this.leases.update(`part.${p}`, enc.encode(this.key), o.rev);
        if (rev !== undefined) o.rev = rev;
        else if (this.owned.get(p) === o) await this.lose(p, o);
      }),
    ]);
  }

  /** Members seen writing within the TTL (an expired key sends no event, hence the age check). */
  private members(now: number): number {
    let n = 0;
    for (const e of this.leaseView.entries('member').values()) if (now - e.seenAt < this.opts.leaseTtlMs) n++;
    return Math.max(1, n);
  }

  /** Hands over what is above our fair share, takes free partitions up to it, within a third of the TTL. */
  private async heartbeat(): Promise<void> {
    if (this.stopped) return;
    const until = Date.now() + this.opts.leaseTtlMs / 3;
    const members = this.members(Date.now());
    this.stats.members = members;
    const fair = Math.ceil(this.bus.partitions / members);
    this.step = 'hand over';
    const active = [...this.owned].filter(([, o]) => !o.draining);
    for (const [p, o] of active.slice(fair).reverse()) {
      o.draining = true;
      await o.consumer?.stop();
      o.halted = true;
      this.log.info({ partition: p, share: fair }, 'bus partition over our share: handing it over after the next commit');
    }
    this.step = 'take';
    let mine = Math.min(active.length, fair);
    // start the scan at a place of our own, so processors starting together try different partitions
    const from = partitionOf(this.key, this.bus.partitions);
    for (let i = 0; i < this.bus.partitions && mine < fair && !this.stopped && Date.now() < until; i++) {
      const p = (from + i) % this.bus.partitions;
      if (this.owned.has(p)) continue;
      const rev = await this.tryLease(p);
      if (rev === undefined) continue;
      await this.take(p, rev);
      mine++;
    }
  }

  /**
   * A free partition is created; one whose lease stayed at the same revision for a whole TTL (its
   * holder stopped renewing) is taken at that revision (compare-and-set). Judged by our own reads,
   * so neither the server's expiry of the key nor a watcher is relied on, both of which lag while a
   * cluster re-elects leaders.
   */
  private async tryLease(p: number): Promise<number | undefined> {
    const key = `part.${p}`;
    const value = enc.encode(this.key);
    const cur = await this.leases.get(key);
    if (!cur) return this.leases.create(key, value);
    const now = Date.now();
    const seen = this.seen.get(p);
    if (!seen || seen.revision !== cur.revision) {
      this.seen.set(p, { revision: cur.revision, since: now });
      return undefined;
    }
    if (now - seen.since < this.opts.leaseTtlMs) return undefined;
    return this.leases.update(key, value, cur.revision);
  }

  /** Templates and options every processor shared, then the partition's messages after its last commit. */
  private async take(p: number, rev: number): Promise<void> {
    const o: Owned = { rev, committed: 0, draining: false, halted: false };
    this.owned.set(p, o);
    for (const { value } of this.stateView.entries('state').values()) {
      try {
        this.restore(JSON.parse(dec.decode(value)) as unknown);
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'shared decoding state unreadable: skipped');
      }
    }
    // a consumer created while the cluster re-elects leaders can hang: give up on the partition
    // (lease deleted, taken again by whoever tries next) rather than hold it unconsumed
    const pending = this.bus.consume(p, (m) => this.onMessage(o, m));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), TAKE_TIMEOUT_MS)));
    const c = await Promise.race([pending, late])
      .catch((e: unknown) => new Error(`partition ${p}: ${(e as Error).message}`))
      .finally(() => clearTimeout(timer));
    if (!c || c instanceof Error) {
      void pending.then((x) => x.stop()).catch(() => {});
      this.owned.delete(p);
      await this.leases.delete(`part.${p}`).catch(() => {});
      throw c ?? new Error(`partition ${p}: no consumer after ${TAKE_TIMEOUT_MS} ms`);
    }
    o.consumer = c;
    this.stats.taken++;
    this.log.info({ partition: p }, 'bus partition taken');
  }

  private onMessage(o: Owned, m: BusMessage): void {
    if (o.draining || o.halted || this.stopped || this.owned.get(m.partition) !== o) return; // not handled: delivered again to the next owner
    this.stats.frames++;
    try {
      this.stats.datagrams += readFrame(m.data, this.handle);
    } catch (e) {
      this.stats.badFrames++;
      this.log.warn({ err: (e as Error).message, partition: m.partition, seq: m.seq }, 'bad bus frame: its remaining datagrams are skipped');
    }
    o.last = m;
  }

  /**
   * A lease that could not be renewed (we were cut off longer than the TTL): someone else may own the
   * partition now. What we took from it since the last commit is in our aggregates and is also
   * redelivered to the new owner, so it can be counted twice (README "Scale-out", not done yet).
   */
  private async lose(p: number, o: Owned): Promise<void> {
    this.owned.delete(p);
    this.stats.lost++;
    await o.consumer?.stop().catch(() => {});
    this.log.warn({ partition: p }, 'bus partition lease lost to another processor');
  }

  /** Call when the aggregates of everything handled so far are being emitted; call the result once they all were. */
  closeInterval(): () => void {
    const marks = [...this.owned].map(([p, o]) => ({ p, o, last: o.last, draining: o.halted }));
    return () => {
      this.acks = this.acks
        .then(async () => {
          await this.opts.settle();
          for (const { p, o, last, draining } of marks) {
            // a partition lost meanwhile is another's now: its offset is not ours to move
            if (last && last.seq > o.committed && this.owned.get(p) === o) {
              await o.consumer?.commit(last);
              o.committed = last.seq;
              this.stats.commits++;
            }
            if (draining && this.owned.get(p) === o && o.last === last) await this.release(p);
          }
        })
        .catch((e: unknown) => this.log.error({ err: (e as Error).message }, 'bus commit failed: the uncommitted messages will be processed again'));
    };
  }

  private async release(p: number): Promise<void> {
    this.owned.delete(p);
    await this.leases.delete(`part.${p}`);
    this.stats.released++;
    this.log.info({ partition: p }, 'bus partition released');
  }

  /** Templates and options for whoever takes our exporters over. */
  share(doc: unknown): void {
    void this.state.put(`state.${this.key}`, enc.encode(JSON.stringify(doc))).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'could not share decoding state'));
  }

  /** Stops taking messages (before the final flush); the leases stay until `close`. */
  async stopConsuming(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.renewTimer) clearInterval(this.renewTimer);
    await this.beat;
    await this.renewing;
    for (const o of this.owned.values()) {
      await o.consumer?.stop().catch(() => {});
    }
  }

  /** Waits for the pending commits, then lets every lease go so others take over at once. */
  async close(): Promise<void> {
    await this.acks;
    for (const p of [...this.owned.keys()]) await this.release(p).catch(() => {});
    await this.leases.delete(`member.${this.key}`).catch(() => {});
    this.leaseView.stop();
    this.stateView.stop();
  }
}
