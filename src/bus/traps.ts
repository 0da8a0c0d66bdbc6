/**
 * Traps over the bus (README "Scale-out"). A receiver answers what must be answered at once
 * (net-snmp acknowledges an inform, RFC 3416 4.2.7, and answers v3 discovery with a report, RFC
 * 3414 4) and puts each accepted notification's datagram, with the sender's address and port and
 * its receive time, on the work queue `<stream>.trap` through a BusReceiver of its own (batched,
 * bounded, spooled at stop like the flow datagrams). Processors share the queue: they decode,
 * normalize, enrich and write, and acknowledge a datagram only once its record is written or
 * spooled (the pipeline's `settle`). A trap needs no per-exporter order or state, so no partitions.
 *
 * A processor killed between its write and its acknowledgement leaves the datagram to another after
 * `lease_ttl`, which writes the same point again: its time is the receiver's receive time and trap
 * points carry no `instance` on a bus (runtime.ts), so InfluxDB replaces it (a line-protocol file
 * gets the line twice).
 */
import { join } from 'node:path';
import type { TrapFeed } from '../collector.js';
import type { Logger } from '../log.js';
import { makeRecord, int, type NetRecord } from '../record/record.js';
import type { Bus, QueueMessage } from './bus.js';
import type { NatsConfig } from './config.js';
import { readFrame, type DatagramHandler } from './frame.js';
import { testHold } from './testhold.js';
import { BusReceiver, receiverFields } from './receiver.js';
import { BusSpool } from './spool.js';

/** Traps are few: their buffer and stop spool are this fraction of the flows' (4 MiB of 64 MiB by default, some 10,000 traps). */
const TRAP_SHARE = 16;

export interface TrapConsumerStats {
  messages: number;
  datagrams: number;
  badFrames: number;
  /** Messages another processor (or this one, before a restart) took and did not acknowledge in time, and their datagrams. */
  redelivered: number;
  redeliveredDatagrams: number;
  acked: number;
}

/** Processor role: the shared queue's messages, decoded by the trap collector, acknowledged once written. */
export class BusTrapConsumer {
  readonly stats: TrapConsumerStats = { messages: 0, datagrams: 0, badFrames: 0, redelivered: 0, redeliveredDatagrams: 0, acked: 0 };
  /** The trap collector's decoder; none while it is stopped (a reload): messages are handed back. */
  private handle: DatagramHandler | undefined;
  private consumer: Promise<{ stop(): Promise<void> }> | undefined;
  private stopped = false;
  /** Decoded, not yet acknowledged: kept ours by `working` while their records go out. */
  private readonly unacked = new Set<QueueMessage>();
  private pending: QueueMessage[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly opts: { ackWaitMs: number; settle: () => Promise<void> },
    private readonly log: Logger,
  ) {}

  /** Starts consuming (once), or hands the messages to a restarted collector; the result detaches `handle`. */
  async start(handle: DatagramHandler): Promise<() => void> {
    this.handle = handle;
    this.consumer ??= this.bus.queue('trap').consume(this.opts.ackWaitMs, (m) => this.onMessage(m));
    await this.consumer;
    return () => {
      if (this.handle === handle) this.handle = undefined;
    };
  }

  private onMessage(m: QueueMessage): void {
    const handle = this.handle;
    if (this.stopped || !handle) return m.nak();
    this.stats.messages++;
    try {
      const n = readFrame(m.data, handle);
      this.stats.datagrams += n;
      if (m.redelivered) {
        this.stats.redelivered++;
        this.stats.redeliveredDatagrams += n;
      }
    } catch (e) {
      // acknowledged all the same: it would be just as bad at the next processor
      this.stats.badFrames++;
      this.log.warn({ err: (e as Error).message }, 'bad bus trap frame: its remaining datagrams are skipped');
    }
    this.unacked.add(m);
    this.pending.push(m);
    this.flushing ??= this.flush();
  }

  /** One settle for whatever arrived meanwhile: a pipeline flush per trap would cap the rate at one per flush_interval. */
  private async flush(): Promise<void> {
    const timer = setInterval(() => {
      for (const m of this.unacked) m.working();
    }, Math.max(100, Math.floor(this.opts.ackWaitMs / 3)));
    try {
      while (this.pending.length) {
        const batch = this.pending;
        this.pending = [];
        try {
          await this.opts.settle();
          await testHold('TRAP_ACK', () => this.log.info('bus test hook: trap records written, holding their acknowledgement'));
          for (const m of batch) m.ack();
          this.stats.acked += batch.length;
        } catch (e) {
          // not known to be written: another processor (or this one) takes them again at once
          for (const m of batch) m.nak();
          this.log.error({ err: (e as Error).message, messages: batch.length }, 'bus trap records not settled: handed back to the queue');
        }
        for (const m of batch) this.unacked.delete(m);
      }
    } finally {
      clearInterval(timer);
      this.flushing = undefined;
    }
  }

  /** Before the collectors stop: nothing more is taken (what arrives is handed back). */
  async stopConsuming(): Promise<void> {
    this.stopped = true;
    await (await this.consumer)?.stop();
  }

  /** Acknowledges what was taken, once written, within `deadlineMs`; the rest goes to another processor after ack_wait. */
  async close(deadlineMs: number): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.flushing, new Promise((r) => (t = setTimeout(r, deadlineMs)))]);
    clearTimeout(t);
  }
}

/** The trap side of an instance on the bus, by role. */
export class BusTraps {
  readonly feed: TrapFeed;

  private constructor(
    readonly receiver: BusReceiver | undefined,
    readonly consumer: BusTrapConsumer | undefined,
  ) {
    const r = receiver;
    const c = consumer;
    this.feed = {
      ...(r ? { forward: (d: Uint8Array, a: string, port: number, t: number) => r.forward(d, a, port, t) } : {}),
      ...(c ? { consume: (handle: DatagramHandler) => c.start(handle) } : {}),
    };
  }

  static create(bus: Bus, n: NatsConfig, o: { receiver: boolean; processor: boolean; dataDir: string; settle: () => Promise<void> }, log: Logger): BusTraps {
    let receiver: BusReceiver | undefined;
    if (o.receiver) {
      const q = bus.queue('trap');
      const spool = n.spool_size > 0 ? new BusSpool(join(o.dataDir, 'bus-spool-trap'), Math.ceil(n.spool_size / TRAP_SHARE), log) : undefined;
      const target = { partitions: 1, publish: (_p: number, data: Uint8Array, id: string) => q.publish(data, id) };
      receiver = new BusReceiver(target, { batchBytes: n.batch_bytes, batchDelayMs: n.batch_delay, bufferBytes: Math.ceil(n.buffer / TRAP_SHARE), spool, duplicateWindowMs: bus.duplicateWindowMs }, log);
    }
    const consumer = o.processor ? new BusTrapConsumer(bus, { ackWaitMs: n.lease_ttl, settle: o.settle }, log) : undefined;
    return new BusTraps(receiver, consumer);
  }

  async stopIntake(): Promise<void> {
    await this.consumer?.stopConsuming();
  }

  async close(deadlineMs: number): Promise<void> {
    await Promise.all([this.receiver?.close(deadlineMs), this.consumer?.close(deadlineMs)]);
  }

  /** `netvigil_bus` self-telemetry of the trap queue, tagged `role=trap_receiver` / `trap_processor`. */
  records(now: number): NetRecord[] {
    const out: NetRecord[] = [];
    if (this.receiver) out.push(makeRecord('health', 'netvigil_bus', { role: 'trap_receiver' }, receiverFields(this.receiver.stats), now));
    const s = this.consumer?.stats;
    if (s) {
      out.push(
        makeRecord('health', 'netvigil_bus', { role: 'trap_processor' }, { messages: int(s.messages), datagrams: int(s.datagrams), bad_frames: int(s.badFrames), redelivered: int(s.redelivered), redelivered_datagrams: int(s.redeliveredDatagrams), acked: int(s.acked) }, now),
      );
    }
    return out;
  }

  status(): unknown {
    return { ...(this.receiver ? { receiver: { ...this.receiver.stats } } : {}), ...(this.consumer ? { processor: { ...this.consumer.stats } } : {}) };
  }
}
