/**
 * Receiver role: datagrams off the flow sockets go onto the bus, batched per partition (one publish
 * per datagram would cap a receiver far below what one instance decodes). A batch goes at
 * `batch_bytes` or `batch_delay` after its first datagram. While the broker is slow or away batches
 * wait in a queue bounded by `buffer` bytes; beyond it the oldest is dropped and counted, like the
 * kernel drops datagrams a full socket buffer cannot take.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import { partitionOf, type Bus } from './bus.js';
import { FrameBuilder } from './frame.js';

export interface ReceiverOptions {
  batchBytes: number;
  batchDelayMs: number;
  bufferBytes: number;
  /** Publishes awaiting their acknowledgement at once. */
  inFlight?: number;
}

export interface ReceiverStats {
  datagrams: number;
  batches: number;
  published: number;
  retries: number;
  droppedBatches: number;
  droppedDatagrams: number;
  queuedBytes: number;
}

interface Batch {
  partition: number;
  data: Uint8Array;
  count: number;
  id: string;
}

export class BusReceiver {
  private readonly builders: (FrameBuilder | undefined)[];
  private readonly queue: Batch[] = [];
  private queued = 0;
  private inFlight = 0;
  /** Batches being published, so what is still unacknowledged at the stop deadline can be counted. */
  private readonly sending = new Set<Batch>();
  private inFlightBytes = 0;
  private seq = 0;
  private readonly prefix = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];
  private closed = false;
  readonly stats: ReceiverStats = { datagrams: 0, batches: 0, published: 0, retries: 0, droppedBatches: 0, droppedDatagrams: 0, queuedBytes: 0 };

  constructor(
    private readonly bus: Bus,
    private readonly opts: ReceiverOptions,
    private readonly log: Logger,
  ) {
    this.builders = new Array<FrameBuilder | undefined>(bus.partitions);
    this.timer = setInterval(() => this.sweep(Date.now()), Math.max(5, Math.floor(opts.batchDelayMs / 2)));
    this.timer.unref();
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
    this.queue.push({ partition, data, count, id: `${this.prefix}-${this.seq++}` });
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
    const max = this.opts.inFlight ?? 32;
    // batches being sent count against the buffer too, so it bounds what the receiver holds
    while (this.inFlight < max && this.queue.length && (this.inFlight === 0 || this.inFlightBytes + (this.queue[0] as Batch).data.byteLength <= this.opts.bufferBytes / 2)) {
      const b = this.queue.shift() as Batch;
      this.inFlight++;
      this.inFlightBytes += b.data.byteLength;
      this.sending.add(b);
      void this.send(b);
    }
    this.stats.queuedBytes = this.queued;
    if (this.inFlight === 0 && this.queue.length === 0) for (const w of this.idle.splice(0)) w();
  }

  /** Retried with the same id until acknowledged: JetStream's duplicate window makes it land once. */
  private async send(b: Batch): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.bus.publish(b.partition, b.data, b.id);
        break;
      } catch (e) {
        this.stats.retries++;
        if (attempt === 0 || attempt % 20 === 0) this.log.warn({ err: (e as Error).message, partition: b.partition, attempt }, 'bus publish failed; retrying');
        // while stopping, try often: a stream without a leader (a node's loss) may come back within
        // the deadline, and a 2 s back-off would miss it
        await new Promise((r) => setTimeout(r, Math.min(this.closed ? 200 : 2000, 100 * 2 ** Math.min(attempt, 5))));
      }
    }
    this.sending.delete(b);
    this.queued -= b.data.byteLength;
    this.inFlightBytes -= b.data.byteLength;
    this.stats.published++;
    this.inFlight--;
    this.pump();
  }

  /** Publishes what is batched and waits (up to `deadlineMs`) for every batch to be acknowledged. */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (let p = 0; p < this.builders.length; p++) {
      const b = this.builders[p];
      if (b?.count) this.seal(p, b);
    }
    if (this.inFlight === 0 && this.queue.length === 0) return;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((r) => this.idle.push(r)), new Promise<void>((r) => (t = setTimeout(r, deadlineMs)))]);
    clearTimeout(t);
    if (!this.queue.length && !this.inFlight) return;
    // lost with the process: counted like the buffer's drops, so the final telemetry says so
    const left = [...this.queue, ...this.sending];
    const datagrams = left.reduce((a, b) => a + b.count, 0);
    this.stats.droppedBatches += left.length;
    this.stats.droppedDatagrams += datagrams;
    this.log.error({ batches: left.length, datagrams }, 'stop: batches not acknowledged by the bus before the deadline: dropped (counted in dropped_batches, dropped_datagrams)');
  }
}
