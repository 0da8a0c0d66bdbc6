/**
 * A WorkQueue (bus.ts) on NATS JetStream: the subject `<stream>.<name>` of the bus's stream, read
 * by one durable pull consumer `<stream>_<name>` that every consumer process shares, with explicit
 * acknowledgements. JetStream hands each message to one puller; one not acknowledged within
 * `ack_wait` goes out again, to whichever puller asks next.
 *
 * Why a consumer here when the flow partitions avoid one (ordered.ts): a pull request that dies
 * with a node takes its delivered messages with it until `ack_wait` passes and the client pulls
 * again (after two missed idle heartbeats). With explicit acknowledgements (no AckAll) such a
 * message comes again and nothing later acknowledges it in passing, so the cost is delay, not loss;
 * and nothing here needs the partitions' order.
 */
import { AckPolicy, DeliverPolicy, nanos, type ConsumerConfig, type ConsumerMessages, type JetStreamClient, type JetStreamManager } from 'nats';
import type { Logger } from '../log.js';
import type { QueueMessage, WorkQueue } from './bus.js';
import { isNotFound } from './ordered.js';

/** The work queues the stream carries, each a subject `<stream>.<name>` (nats.ts adds them to the stream). */
export const QUEUES = ['trap'] as const;

/** Messages a consumer process holds unacknowledged at most; more wait on the server. */
const MAX_ACK_PENDING = 4096;
/**
 * A pull request's lifetime: nats.js pulls again after two missed idle heartbeats (half of it
 * each), so a request lost with a node is replaced within about this long (the default is 30 s).
 */
const PULL_EXPIRES_MS = 10_000;
/** Pause before trying again to make or bind the consumer (no stream leader during an election). */
const RETRY_MS = 2000;

export class NatsQueue implements WorkQueue {
  private readonly subject: string;
  private readonly durable: string;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    name: (typeof QUEUES)[number],
    private readonly log: Logger,
  ) {
    this.subject = `${stream}.${name}`;
    this.durable = `${stream}_${name}`;
  }

  async publish(data: Uint8Array, id: string): Promise<{ duplicate: boolean }> {
    const ack = await this.js.publish(this.subject, data, { msgID: id });
    return { duplicate: ack.duplicate };
  }

  /**
   * Makes (or binds to, setting its `ack_wait`) the shared durable and pulls from it. Resolves at
   * once: while the cluster cannot answer (an election) it keeps trying in the background, and the
   * messages wait on the stream.
   */
  consume(ackWaitMs: number, handler: (m: QueueMessage) => void): Promise<{ stop(): Promise<void> }> {
    let stopped = false;
    let msgs: ConsumerMessages | undefined;
    const run = async (): Promise<void> => {
      for (let attempt = 0; !stopped; attempt++) {
        try {
          await this.ensure(ackWaitMs);
          const c = await this.js.consumers.get(this.stream, this.durable);
          if (stopped) return;
          msgs = await c.consume({
            max_messages: 256,
            expires: PULL_EXPIRES_MS,
            callback: (m) => handler({ data: m.data, redelivered: m.redelivered, ack: () => m.ack(), working: () => m.working(), nak: () => m.nak() }),
          });
          this.log.info({ consumer: this.durable, ack_wait_ms: ackWaitMs }, 'bus queue consumer bound');
          return;
        } catch (e) {
          if (attempt === 0 || attempt % 10 === 0) this.log.warn({ consumer: this.durable, err: (e as Error).message, attempt }, 'bus queue consumer not ready; trying again');
          await new Promise((r) => setTimeout(r, RETRY_MS));
        }
      }
    };
    const started = run();
    return Promise.resolve({
      stop: async () => {
        stopped = true;
        await started;
        await msgs?.close();
      },
    });
  }

  /** The durable, made by the first consumer process; later ones only align its ack_wait. */
  private async ensure(ackWaitMs: number): Promise<void> {
    const want: Partial<ConsumerConfig> = {
      durable_name: this.durable,
      filter_subject: this.subject,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(ackWaitMs),
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: MAX_ACK_PENDING,
      max_deliver: -1,
    };
    const had = await this.jsm.consumers.info(this.stream, this.durable).catch((e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    if (!had) await this.jsm.consumers.add(this.stream, want);
    else if (had.config.ack_wait !== want.ack_wait) await this.jsm.consumers.update(this.stream, this.durable, { ack_wait: want.ack_wait });
  }
}
