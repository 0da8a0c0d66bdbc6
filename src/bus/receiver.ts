/**
 * Receiver role: datagrams off the flow sockets go onto the bus, batched per partition (one publish
 * per datagram would cap a receiver far below what one instance decodes). A batch goes at
 * `batch_bytes` or `batch_delay` after its first datagram. While the broker is slow or away batches
 * wait in a queue bounded by `buffer` bytes; beyond it the oldest is dropped and counted, like the
 * kernel drops datagrams a full socket buffer cannot take.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import { int, type Fields } from '../record/record.js';
import { partitionOf, type Bus } from './bus.js';

/** What a receiver publishes through: the bus's partitions, or one queue (traps.ts) as a bus of one partition. */
export type BusTarget = Pick<Bus, 'partitions' | 'publish'>;
import { FrameBuilder } from './frame.js';
import type { BusSpool, SpooledBatch } from './spool.js';

/**
 * A batch first sent longer ago than the stream's duplicate window minus this may be stored twice
 * if it is acknowledged only now: the window runs on the server's clock from when it stored the
 * first copy, ours from when we sent it, and the two may differ by some seconds.
 */
const DUP_WINDOW_MARGIN_MS = 5000;

export interface ReceiverOptions {
  batchBytes: number;
  batchDelayMs: number;
  bufferBytes: number;
  /** Publishes awaiting their acknowledgement at once. */
  inFlight?: number;
  /** Where batches unacknowledged at the stop deadline go, and are published from at start; none: dropped (counted). */
  spool?: BusSpool | undefined;
  /** The stream's duplicate window (`Nats-Msg-Id`), within which a batch sent again lands once. */
  duplicateWindowMs?: number | undefined;
}

export interface ReceiverStats {
  datagrams: number;
  batches: number;
  published: number;
  retries: number;
  droppedBatches: number;
  droppedDatagrams: number;
  queuedBytes: number;
  /** Written to the spool at a stop deadline. */
  spooledBatches: number;
  spooledDatagrams: number;
  /** Spooled batches (of an earlier stop) the bus acknowledged, the duplicates among them (stored before the stop). */
  replayedBatches: number;
  replayedDatagrams: number;
  replayedDuplicates: number;
  /** Batches in the spool not yet acknowledged, and their bytes. */
  spoolPending: number;
  spoolBytes: number;
  /** Acknowledged after the duplicate window of a first attempt that may have been stored: possibly on the stream twice. */
  pastDupWindow: number;
}

/** The stats as `netvigil_bus` fields (runtime.ts, traps.ts). */
export function receiverFields(r: ReceiverStats): Fields {
  return {
    datagrams: int(r.datagrams), batches: int(r.batches), published: int(r.published), retries: int(r.retries),
    dropped_batches: int(r.droppedBatches), dropped_datagrams: int(r.droppedDatagrams), queued_bytes: int(r.queuedBytes),
    spooled_batches: int(r.spooledBatches), spooled_datagrams: int(r.spooledDatagrams), replayed_batches: int(r.replayedBatches),
    replayed_datagrams: int(r.replayedDatagrams), replayed_duplicates: int(r.replayedDuplicates), spool_pending: int(r.spoolPending),
    spool_bytes: int(r.spoolBytes), past_dup_window: int(r.pastDupWindow),
  };
}

interface Batch extends SpooledBatch {
  /** Read back from the spool (not in `queued`, the buffer of this run). */
  fromSpool: boolean;
  /** A publish attempt awaits its answer. */
  attempting: boolean;
}

export class BusReceiver {
  private readonly builders: (FrameBuilder | undefined)[];
  private readonly queue: Batch[] = [];
  private queued = 0;
  private inFlight = 0;
  /** Batches being published, so what is still unacknowledged at the stop deadline can be spooled or counted. */
  private readonly sending = new Set<Batch>();
  private inFlightBytes = 0;
  private seq = 0;
  private readonly prefix = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];
  private closed = false;
  /** Past the stop deadline: what is left was spooled or dropped, nothing is sent or retried. */
  private halted = false;
  private replaying: boolean;
  readonly stats: ReceiverStats = {
    datagrams: 0, batches: 0, published: 0, retries: 0, droppedBatches: 0, droppedDatagrams: 0, queuedBytes: 0,
    spooledBatches: 0, spooledDatagrams: 0, replayedBatches: 0, replayedDatagrams: 0, replayedDuplicates: 0, spoolPending: 0, spoolBytes: 0, pastDupWindow: 0,
  };

  constructor(
    private readonly bus: BusTarget,
    private readonly opts: ReceiverOptions,
    private readonly log: Logger,
  ) {
    this.builders = new Array<FrameBuilder | undefined>(bus.partitions);
    this.timer = setInterval(() => this.sweep(Date.now()), Math.max(5, Math.floor(opts.batchDelayMs / 2)));
    this.timer.unref();
    const spool = opts.spool;
    this.replaying = !!spool?.pending;
    if (spool && this.replaying) {
      this.spoolStats();
      log.warn({ batches: spool.pending, bytes: spool.bytes, dir: spool.dir }, 'bus spool pending: batches not acknowledged at the last stop; publishing them before new batches');
      this.pump();
    }
  }

  /** One datagram, with the exporter's address and port and when it arrived. */
  forward(datagram: Uint8Array, address: string, port: number, receivedAt: number): void {
    if (this.closed) return;
    this.stats.datagrams++;
    const p = partitionOf(address, this.bus.partitions);
    let b = this.builders[p];
    if (!b) b = this.builders[p] = new FrameBuilder(this.opts.batchBytes);
    if (b.count && b.bytes + FrameBuilder.size(address, datagram) > this.opts.batchBytes) this.seal(p, b);
    b.add(datagram, address, port, receivedAt);
  }

  private sweep(now: number): void {
    for (let p = 0; p < this.builders.length; p++) {
      const b = this.builders[p];
      if (b?.count && now - b.firstAt >= this.opts.batchDelayMs) this.seal(p, b);
    }
  }

  private seal(partition: number, b: FrameBuilder): void {
    const count = b.count;
    const data = b.take();
    this.stats.batches++;
    const id = `${this.prefix}-${this.seq++}`;
    this.queue.push({ partition, data, count, id, sealedAt: Date.now(), firstAttemptAt: undefined, maybeStored: false, fromSpool: false, attempting: false });
    this.queued += data.byteLength;
    while (this.queued > this.opts.bufferBytes && this.queue.length > 0) {
      const old = this.queue.shift() as Batch;
      this.queued -= old.data.byteLength;
      this.stats.droppedBatches++;
      this.stats.droppedDatagrams += old.count;
    }
    this.pump();
  }

  private pump(): void {
    if (this.halted) return;
    const max = this.opts.inFlight ?? 32;
    // batches being sent count against the buffer too, so it bounds what the receiver holds
    const room = (bytes: number): boolean => this.inFlight < max && (this.inFlight === 0 || this.inFlightBytes + bytes <= this.opts.bufferBytes / 2);
    // an earlier stop's batches before new ones, so a partition's messages stay in receive order;
    // not while stopping: on disk they wait safely for the next start
    const spool = this.opts.spool;
    while (spool?.unread && !this.closed && room(this.opts.batchBytes)) {
      const corrupt = spool.corrupt;
      const s = spool.next();
      this.stats.droppedBatches += spool.corrupt - corrupt;
      if (s) this.start({ ...s, fromSpool: true, attempting: false });
    }
    const spoolFirst = !!spool?.unread && !this.closed;
    while (!spoolFirst && this.queue.length && room((this.queue[0] as Batch).data.byteLength)) this.start(this.queue.shift() as Batch);
    this.stats.queuedBytes = this.queued;
    if (this.inFlight === 0 && this.queue.length === 0) for (const w of this.idle.splice(0)) w();
  }

  private start(b: Batch): void {
    this.inFlight++;
    this.inFlightBytes += b.data.byteLength;
    this.sending.add(b);
    void this.send(b);
  }

  /** Retried with the same id until acknowledged: JetStream's duplicate window makes it land once. */
  private async send(b: Batch): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      b.firstAttemptAt ??= Date.now();
      b.attempting = true;
      try {
        const ack = await this.bus.publish(b.partition, b.data, b.id);
        b.attempting = false;
        this.acked(b, ack.duplicate);
        return;
      } catch (e) {
        b.attempting = false;
        // "503 no responders": no stream took it. Anything else (a timeout) may have been stored.
        if ((e as { code?: unknown }).code !== '503') b.maybeStored = true;
        if (this.halted) break;
        this.stats.retries++;
        if (attempt === 0 || attempt % 20 === 0) this.log.warn({ err: (e as Error).message, partition: b.partition, attempt }, 'bus publish failed; retrying');
        // while stopping, try often: a stream without a leader (a node's loss) may come back within
        // the deadline, and a 2 s back-off would miss it
        await new Promise((r) => setTimeout(r, Math.min(this.closed ? 200 : 2000, 100 * 2 ** Math.min(attempt, 5))));
        if (this.halted) break;
      }
    }
    this.sending.delete(b);
    this.inFlight--;
  }

  private acked(b: Batch, duplicate: boolean): void {
    this.sending.delete(b);
    this.inFlightBytes -= b.data.byteLength;
    this.inFlight--;
    // a replayed batch, or one acknowledged after the stop spooled it: on the stream now
    if (b.file) this.opts.spool?.done(b.file);
    if (b.fromSpool) {
      this.stats.replayedBatches++;
      this.stats.replayedDatagrams += b.count;
      if (duplicate) this.stats.replayedDuplicates++;
    } else {
      this.queued -= b.data.byteLength;
      this.stats.published++;
    }
    const window = this.opts.duplicateWindowMs;
    if (b.maybeStored && !duplicate && window !== undefined && b.firstAttemptAt !== undefined && Date.now() - b.firstAttemptAt > window - DUP_WINDOW_MARGIN_MS) {
      this.stats.pastDupWindow++;
      this.log.warn({ id: b.id, partition: b.partition, first_attempt: new Date(b.firstAttemptAt).toISOString(), duplicate_window_ms: window }, 'bus batch acknowledged past the duplicate window of an attempt that may have been stored: possibly on the stream twice (counted in past_dup_window)');
    }
    if (b.fromSpool || b.file) this.spoolStats();
    if (this.replaying && this.opts.spool?.pending === 0) {
      this.replaying = false;
      this.log.info({ replayed: this.stats.replayedBatches, datagrams: this.stats.replayedDatagrams, duplicates: this.stats.replayedDuplicates }, 'bus spool replayed: every spooled batch acknowledged');
    }
    this.pump();
  }

  private spoolStats(): void {
    const s = this.opts.spool;
    if (!s) return;
    this.stats.spoolPending = s.pending;
    this.stats.spoolBytes = s.bytes;
  }

  /**
   * Publishes what is batched and waits (up to `deadlineMs`) for every batch to be acknowledged;
   * what is left then goes to the spool (or, without one, is dropped and counted).
   */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (let p = 0; p < this.builders.length; p++) {
      const b = this.builders[p];
      if (b?.count) this.seal(p, b);
    }
    if (this.inFlight === 0 && this.queue.length === 0) return;
    const spool = this.opts.spool;
    // writing the spool takes a moment of the deadline (an fsync per batch)
    const wait = spool ? deadlineMs - Math.min(1000, deadlineMs / 4) : deadlineMs;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((r) => this.idle.push(r)), new Promise<void>((r) => (t = setTimeout(r, wait)))]);
    clearTimeout(t);
    if (!this.queue.length && !this.inFlight) return;
    this.halted = true;
    // in flight first: sealed before what is still queued. Batches read back from the spool stay in their files.
    const left = [...this.sending, ...this.queue].filter((b) => !b.file);
    this.queue.length = 0;
    for (const b of left) if (b.attempting) b.maybeStored = true;
    const { written, dropped } = spool ? await spool.write(left) : { written: [], dropped: left };
    const sum = (bs: Batch[] | SpooledBatch[]): number => bs.reduce((a, b) => a + b.count, 0);
    if (written.length) {
      this.stats.spooledBatches += written.length;
      this.stats.spooledDatagrams += sum(written);
      this.spoolStats();
      this.log.warn({ batches: written.length, datagrams: sum(written), dir: spool?.dir }, 'stop: batches not acknowledged by the bus before the deadline: spooled, published first at the next start');
    }
    if (dropped.length) {
      // lost with the process: counted like the buffer's drops, so the final telemetry says so
      this.stats.droppedBatches += dropped.length;
      this.stats.droppedDatagrams += sum(dropped);
      this.log.error(
        { batches: dropped.length, datagrams: sum(dropped) },
        spool
          ? 'stop: batches not acknowledged by the bus before the deadline and over bus.nats.spool_size or not writable: dropped (counted in dropped_batches, dropped_datagrams)'
          : 'stop: batches not acknowledged by the bus before the deadline: dropped (counted in dropped_batches, dropped_datagrams)',
      );
    }
  }
}
