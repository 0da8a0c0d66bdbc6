/**
 * Processor role: this instance takes a fair share of the partitions, holding each by a lease in a
 * KV bucket whose entries expire after `lease_ttl` (renewed every third of it), so a killed
 * processor's partitions are taken by the others within about one TTL. Members announce themselves
 * in the same bucket; the fair share is ceil(partitions / members). A processor over its share
 * stops consuming the surplus and lets the lease go only once what it took from them is committed.
 *
 * Nothing is committed before it is safe: `closeInterval` marks what every partition delivered so
 * far; once the interval's records have left the pipeline (written, or spooled by a sink) the last
 * message of each partition is committed (AckAll), so a successor resumes right after it.
 */
import type { Logger } from '../log.js';
import type { Bus, BusMessage, KeyValue, PartitionConsumer } from './bus.js';
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

const enc = new TextEncoder();
const dec = new TextDecoder();

export class BusProcessor {
  private readonly owned = new Map<number, Owned>();
  private leases!: KeyValue;
  private state!: KeyValue;
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
    await this.heartbeat();
    this.timer = setInterval(() => {
      this.beat = this.beat.then(() => this.heartbeat()).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'bus lease heartbeat failed'));
    }, Math.max(200, Math.floor(this.opts.leaseTtlMs / 3)));
    this.timer.unref();
  }

  partitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  private async heartbeat(): Promise<void> {
    if (this.stopped) return;
    await this.leases.put(`member.${this.key}`, enc.encode(String(Date.now())));
    const members = (await this.leases.list('member')).size;
    this.stats.members = members;
    const fair = Math.ceil(this.bus.partitions / Math.max(1, members));
    for (const [p, o] of this.owned) {
      const rev = await this.leases.update(`part.${p}`, enc.encode(this.key), o.rev);
      if (rev !== undefined) o.rev = rev;
      else await this.lose(p, o);
    }
    const active = [...this.owned].filter(([, o]) => !o.draining);
    for (const [p, o] of active.slice(fair).reverse()) {
      o.draining = true;
      await o.consumer?.stop();
      o.halted = true;
      this.log.info({ partition: p, share: fair }, 'bus partition over our share: handing it over after the next commit');
    }
    let mine = Math.min(active.length, fair);
    // start the scan at a place of our own, so processors starting together try different partitions
    const from = partitionOf(this.key, this.bus.partitions);
    for (let i = 0; i < this.bus.partitions && mine < fair && !this.stopped; i++) {
      const p = (from + i) % this.bus.partitions;
      if (this.owned.has(p)) continue;
      const rev = await this.leases.create(`part.${p}`, enc.encode(this.key));
      if (rev === undefined) continue;
      await this.take(p, rev);
      mine++;
    }
  }

  /** Templates and options every processor shared, then the partition's messages after its last commit. */
  private async take(p: number, rev: number): Promise<void> {
    const o: Owned = { rev, committed: 0, draining: false, halted: false };
    this.owned.set(p, o);
    for (const v of (await this.state.list('state')).values()) {
      try {
        this.restore(JSON.parse(dec.decode(v)) as unknown);
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'shared decoding state unreadable: skipped');
      }
    }
    o.consumer = await this.bus.consume(p, (m) => this.onMessage(o, m));
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
            if (last && last.seq > o.committed) {
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
    await this.beat;
    for (const o of this.owned.values()) {
      await o.consumer?.stop().catch(() => {});
    }
  }

  /** Waits for the pending commits, then lets every lease go so others take over at once. */
  async close(): Promise<void> {
    await this.acks;
    for (const p of [...this.owned.keys()]) await this.release(p).catch(() => {});
    await this.leases.delete(`member.${this.key}`).catch(() => {});
  }
}
