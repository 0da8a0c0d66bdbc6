/**
 * Processor role: this instance takes a fair share of the partitions, holding each by a lease in a
 * KV bucket renewed every third of `lease_ttl`, so a killed processor's partitions are taken by the
 * others a TTL after its last renewal. Members announce themselves in the same bucket; the fair share
 * is ceil(partitions / members). One over its share lets the surplus go once it is committed.
 *
 * Nothing is committed before it is safe: `closeInterval` marks what every partition delivered so
 * far; once the interval's records have left the pipeline (written, or spooled by a sink) the last
 * message of each partition is committed (its offset), so a successor resumes right after it.
 */
import type { PartitionState } from '../collector.js';
import type { Logger } from '../log.js';
import type { Bus, BusMessage, KeyValue, KvMirror, PartitionConsumer } from './bus.js';
import { fenceOff, flowsIn, LeaseProof, type FencedPartition } from './fence.js';
import { PartitionStates } from './exporter-state.js';
import { readFrame, type DatagramHandler } from './frame.js';
import { LeaseTable } from './leases.js';
import { leaseValue, Outbox, readLease, writeAhead, type OutRef } from './outbox.js';
import { testHold } from './testhold.js';
import type { NetRecord } from '../record/record.js';

export interface ProcessorOptions {
  id: string;
  stream: string;
  leaseTtlMs: number;
  /** Resolves once every record emitted before the call has been written or spooled. */
  settle: () => Promise<void>;
  /** The instance tag (outbox.ts), and how long the outbox keeps a dead writer's records (the stream's max_age). */
  instance: string;
  maxAgeMs: number;
  /** The pipeline's emitter for the flow collector's records, past the outbox. */
  emit: (r: NetRecord) => void;
}

interface Owned extends FencedPartition {
  consumer?: PartitionConsumer;
  last?: BusMessage;
  committed: number;
  /** Outbox entries (outbox.ts) this partition's lease refers to, and the last message they cover. */
  out: OutRef[];
  skip: number;
  /** Over our share: no longer consumed; the lease goes once `last` is committed. */
  draining: boolean;
  /** Delivery stopped (commits still work). */
  halted: boolean;
}

/** A partition's last message as of an interval close. */
interface Mark {
  p: number;
  o: Owned;
  last: BusMessage | undefined;
  draining: boolean;
}

const TAKE_TIMEOUT_MS = 10_000;
const enc = new TextEncoder();
const dec = new TextDecoder();

export class BusProcessor {
  private readonly owned = new Map<number, Owned>();
  private leases!: LeaseTable;
  private state!: KeyValue;
  private stateView!: KvMirror;
  private exporters: PartitionStates | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> = Promise.resolve();
  private handle: DatagramHandler = () => {};
  private restore: (doc: unknown) => void = () => {};
  /** Drops the collector's open interval (fence.ts); returns the flows it held. */
  private discard: () => number = () => 0;
  private readonly proof: LeaseProof;
  /** Fences so far: an interval closed before the last one is neither written nor committed. */
  private epoch = 0;
  readonly outbox: Outbox;
  private timer: NodeJS.Timeout | undefined;
  private beat: Promise<void> = Promise.resolve();
  private acks: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly key: string;
  readonly stats = { frames: 0, datagrams: 0, badFrames: 0, commits: 0, taken: 0, released: 0, lost: 0, members: 0, fenced: 0, discardedFrames: 0, discardedFlows: 0 };

  constructor(
    private readonly bus: Bus,
    private readonly opts: ProcessorOptions,
    private readonly log: Logger,
  ) {
    this.key = opts.id.replace(/[^A-Za-z0-9_-]/g, '_');
    this.proof = new LeaseProof(opts.leaseTtlMs);
    this.outbox = new Outbox(this.key, opts.instance, opts.emit);
  }

  async start(handle: DatagramHandler, restore: (doc: unknown) => void, discard?: () => number, exporters?: PartitionState): Promise<void> {
    this.handle = handle;
    this.restore = restore;
    if (discard) this.discard = discard;
    // a lease names the outbox entries (outbox.ts) not yet committed past: the taker's own, when
    // taking, are those of the lease it replaces; and it does not expire on the server before the
    // entries do (leases.ts)
    this.leases = await LeaseTable.open(this.bus, `${this.opts.stream}_leases`, {
      owner: this.key,
      ttlMs: this.opts.leaseTtlMs,
      unit: 'part',
      member: 'member',
      expireMs: this.opts.maxAgeMs,
      value: (u, prev) => leaseValue(this.key, this.owned.get(Number(u))?.out ?? readLease(prev).out),
      proof: { now: () => this.proof.now(), renewed: (u, sent) => this.proof.renewed(Number(u), sent) },
      // the fence lets a proof age two thirds of the TTL: renewing every sixth of it leaves half the
      // TTL for a renewal outage (a NATS node's loss) before the proof lapses (fence.ts)
      renewEveryMs: Math.max(200, Math.floor(this.opts.leaseTtlMs / 6)),
      fromWatcher: true,
      log: this.log,
    });
    this.state = await this.bus.kv(`${this.opts.stream}_state`, 0);
    this.outbox.attach(await this.bus.kv(`${this.opts.stream}_outbox`, this.opts.maxAgeMs));
    this.exporters = new PartitionStates(this.state, exporters, this.log);
    this.handle = this.exporters.wrap(handle);
    this.stateView = await this.state.mirror();
    const every = this.leases.every;
    // renewing runs on its own: a slow rebalance (a consumer created while the cluster re-elects)
    // must not let the leases already held expire
    await this.renew();
    this.renewTimer = setInterval(() => {
      this.renewing = this.renewing.then(() => this.renew()).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'bus lease renewal failed'));
    }, this.leases.renewEvery);
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
    await this.leases.renew(async (u) => {
      if (this.owned.has(Number(u))) this.lose(Number(u));
    });
  }

  /** Hands over what is above our fair share, takes free partitions up to it, within a third of the TTL. */
  private async heartbeat(): Promise<void> {
    if (this.stopped) return;
    const until = Date.now() + this.opts.leaseTtlMs / 3;
    const members = this.leases.members(Date.now());
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
    const mine = Math.min(active.length, fair);
    const units = Array.from({ length: this.bus.partitions }, (_, p) => String(p));
    // the outbox entries the last holder referred to come with the lease (outbox.ts)
    await this.leases.acquire(units, fair - mine, until, (u, prev) => this.take(Number(u), readLease(prev).out), () => this.stopped);
  }

  /** Templates and options every processor shared, then the partition's messages after its last commit. */
  private async take(p: number, out: OutRef[]): Promise<void> {
    const o: Owned = { committed: 0, draining: false, halted: false, unmarked: { frames: 0, datagrams: 0 }, out, skip: 0 };
    this.owned.set(p, o);
    for (const { value } of this.stateView.entries('state').values()) {
      try {
        this.restore(JSON.parse(dec.decode(value)) as unknown);
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'shared decoding state unreadable: skipped');
      }
    }
    await this.exporters?.load(p);
    o.skip = await this.outbox.replay(out, p);
    if (out.length) this.log.info({ partition: p, refs: out, skip_to: o.skip }, 'bus partition taken with records its last holder may have written: written again, their messages skipped');
    // a consumer created while the cluster re-elects leaders can hang: give up on the partition
    // rather than hold it unconsumed; its lease is deleted (taken again by whoever tries next)
    // unless it names a predecessor's outbox entries, which the next taker must find: then it ages
    const pending = this.bus.consume(p, (m) => this.onMessage(o, m));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), TAKE_TIMEOUT_MS)));
    const c = await Promise.race([pending, late])
      .catch((e: unknown) => new Error(`partition ${p}: ${(e as Error).message}`))
      .finally(() => clearTimeout(timer));
    if (!c || c instanceof Error) {
      void pending.then((x) => x.stop()).catch(() => {});
      this.owned.delete(p);
      if (out.length) this.leases.forget(String(p));
      else this.leases.release(String(p));
      throw c ?? new Error(`partition ${p}: no consumer after ${TAKE_TIMEOUT_MS} ms`);
    }
    o.consumer = c;
    if (o.halted) await c.stop().catch(() => {}); // fenced while the consumer was being made
    this.stats.taken++;
    this.log.info({ partition: p }, 'bus partition taken');
  }

  private onMessage(o: Owned, m: BusMessage): void {
    if (o.draining || o.halted || this.stopped || this.owned.get(m.partition) !== o) return; // not handled: delivered again to the next owner
    if (!this.proof.holds(m.partition)) return this.fence(`message of partition ${m.partition}`);
    // in the records replayed at take (outbox.ts): committed with the next interval
    if (m.seq <= o.skip) return void (o.last = m);
    this.stats.frames++;
    o.unmarked.frames++;
    if (this.exporters) this.exporters.current = m.partition;
    try {
      const n = readFrame(m.data, this.handle);
      this.stats.datagrams += n;
      o.unmarked.datagrams += n;
    } catch (e) {
      this.stats.badFrames++;
      this.log.warn({ err: (e as Error).message, partition: m.partition, seq: m.seq }, 'bad bus frame: its remaining datagrams are skipped');
    }
    o.last = m;
  }

  /** A lease that could not be renewed: someone else may own the partition now (fence.ts). */
  private lose(p: number): void {
    this.proof.forget(p); // counted as lapsed by the fence
    this.fence(`lease of partition ${p} lost`);
  }

  /**
   * A lease we cannot prove: nothing handled since the last interval close may be written (fence.ts).
   * Synchronous up to the discard, so the flush that called closeInterval emits nothing of it.
   */
  private fence(why: string): void {
    const f = fenceOff(this.owned, this.proof);
    this.epoch++;
    const flows = this.discard();
    this.stats.fenced++;
    this.stats.lost += f.lapsed.length;
    this.stats.discardedFrames += f.frames;
    this.stats.discardedFlows += flows;
    for (const p of f.lapsed) {
      this.leases.forget(String(p));
      this.exporters?.forget(p);
      this.log.warn({ partition: p }, 'bus partition lease lost to another processor');
    }
    this.log.warn({ why, lapsed: f.lapsed, kept: f.kept.map(([p]) => p), frames: f.frames, datagrams: f.datagrams, flows }, 'bus fence: a lease is no longer provable; the open interval is dropped, its messages go to the next owner');
    this.beat = this.beat
      .then(async () => {
        await this.acks;
        for (const [p, o] of f.kept) if (this.owned.get(p) === o && this.proof.holds(p)) await this.release(p);
      })
      .catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'bus release after a fence failed'));
  }

  /** outbox.ts writeAhead; false: refused, so we fenced ourselves and none of the interval is written or committed. */
  private async writeAhead(marks: Mark[], records: NetRecord[]): Promise<string | undefined | false> {
    const r = await writeAhead(this.outbox, marks, records, ({ p, o }) => this.owned.get(p) === o && this.proof.holds(p), (moved, still) =>
      moved.every(({ p, o }) => this.owned.get(p) === o) ? this.leases.relabel(moved.map(({ p }) => String(p)), still) : Promise.resolve(false),
    );
    if (r.refused === undefined) return r.id;
    this.fence(r.refused);
    return false;
  }

  /** Call when the aggregates of everything handled so far are being emitted; call the result once they all were. */
  closeInterval(): () => void {
    const lapsed = [...this.owned.keys()].filter((p) => !this.proof.holds(p));
    if (lapsed.length) this.fence(`interval closed without a lease proof for partitions ${lapsed.join(',')}`);
    const marks = [...this.owned].map(([p, o]): Mark => {
      o.unmarked = { frames: 0, datagrams: 0 };
      return { p, o, last: o.last, draining: o.halted };
    });
    const window = this.outbox.open();
    const epoch = this.epoch;
    // loss state of exporters in partitions with messages to commit (exporter-state.ts)
    const saved = this.exporters?.snapshot(new Set(marks.filter((m) => m.last && m.last.seq > m.o.committed).map((m) => m.p)));
    return () => {
      this.outbox.close(window);
      this.acks = this.acks
        .then(async () => {
          // fenced since: its messages go to the partitions' next owners, from the committed offset
          // the loss state goes before the outbox reference (a taker that skips the outbox's messages
          // continues the sequences from the same point) and never from a lease we cannot prove: a
          // crash between the two leaves it ahead, read as duplicates by the taker, never as loss
          if (this.epoch === epoch) {
            for (const { p, o, last } of marks) {
              if (last && last.seq > o.committed && this.owned.get(p) === o && this.proof.holds(p)) await this.exporters?.put(p, saved?.get(p));
            }
          }
          const id = this.epoch === epoch ? await this.writeAhead(marks, window) : false;
          if (id === false) return void (this.stats.discardedFlows += flowsIn(window));
          for (const r of window) this.opts.emit(r);
          await this.opts.settle();
          if (id) await testHold('COMMIT', () => this.log.info({ outbox: id }, 'bus test hook: interval written, holding its commit'));
          let all = true;
          for (const { p, o, last, draining } of marks) {
            // a partition lost meanwhile is another's now: its offset is not ours to move
            if (last && last.seq > o.committed && this.owned.get(p) === o) {
              await o.consumer?.commit(last);
              o.committed = last.seq;
              o.out = o.out.filter((r) => r.seq > last.seq);
              this.stats.commits++;
            } else if (last && last.seq > o.committed) all = false;
            if (draining && this.owned.get(p) === o && o.last === last) await this.release(p);
          }
          if (id && all) await this.outbox.drop(id);
        })
        .catch((e: unknown) => this.log.error({ err: (e as Error).message }, 'bus commit failed: the uncommitted messages will be processed again'));
    };
  }

  private async release(p: number): Promise<void> {
    const o = this.owned.get(p);
    this.owned.delete(p);
    this.proof.forget(p);
    this.exporters?.forget(p);
    // outbox entries not committed past: the lease keeps naming them until it expires, for the taker
    if (!o?.out.some((r) => r.seq > o.committed)) this.leases.release(String(p));
    else this.leases.forget(String(p));
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
    await this.leases.close();
    this.stateView.stop();
  }
}
