/**
 * One partition's messages in stream order, with no gap and no double, across the loss of a NATS
 * node (stream leader re-elected, client reconnected): read by stream sequence, one direct get
 * (`$JS.API.DIRECT.GET`, nats-server 2.9+) for "the first message of this subject at or after
 * sequence N", N being one past the last message handed on. Like a Kafka fetch at an offset.
 *
 * Why not a JetStream consumer (measured with a 3-node cluster, README "Scale-out"): a pull
 * consumer's server delivers messages to a pull request; when that request dies with a node, the
 * server counts them delivered, nothing more comes until the client re-pulls after two missed idle
 * heartbeats (30 s by default), and with acknowledgements the lost message returns only after
 * ack_wait, after later ones, which an AckAll on a later one had already acknowledged unprocessed.
 * A consumer recreated after each gap (what an ordered consumer does) lost nothing in our runs,
 * but moving partitions then took 8-49 s or longer: deleting or creating a consumer while a node
 * is dead timed out again and again (an R1 consumer may be placed on the dead node; an R3 one
 * waits for its own election).
 * nats.js 2.29's ordered consumer loops forever on a consumer-create error (nats-io/nats.js#113).
 *
 * A direct get holds no server-side state: any replica that has the message answers (the stream
 * has `allow_direct`), a replica holds a prefix of the stream so it never skips one, and a request
 * lost with a node just fails and is asked again. The price: one request per message (a message is
 * a batch of datagrams, up to `batch_bytes`), and a partition with nothing new is asked again
 * every POLL_MAX_MS at most, which delays a flow by that much within its aggregation interval.
 */
import type { JetStreamManager, StoredMsg } from 'nats';
import type { Logger } from '../log.js';

const POLL_MIN_MS = 20;
const POLL_MAX_MS = 500;
/** Retry pause after an error (no responder while the stream re-elects, a timeout). */
const RETRY_MS = 500;

export interface OrderedOptions {
  stream: string;
  subject: string;
  /** First stream sequence to deliver (the one after the last commit). */
  start: number;
  log: Logger;
}

/** nats.js 2.29 has the direct-get API on its manager (`JetStreamManagerImpl.direct`) but not on the interface. */
interface DirectGet {
  direct?: { getMessage(stream: string, query: { seq: number; next_by_subj: string }): Promise<StoredMsg> };
}

export const isNotFound = (e: unknown): boolean => /not found/i.test((e as Error).message) || (e as { api_error?: { err_code?: number } }).api_error?.err_code === 10014;

export class OrderedReader {
  private next: number;
  private stopped = false;
  private failing = false;
  private loop: Promise<unknown> = Promise.resolve();
  private readonly direct: NonNullable<DirectGet['direct']>;

  constructor(
    jsm: JetStreamManager,
    private readonly opts: OrderedOptions,
    private readonly handler: (m: StoredMsg) => void,
  ) {
    const direct = (jsm as JetStreamManager & DirectGet).direct;
    if (!direct) throw new Error('this nats.js has no direct get (JetStreamManager.direct)');
    this.direct = direct;
    this.next = Math.max(1, opts.start);
  }

  /** Resolves once the first read answered (a message or "none yet"), so a take fails while the stream cannot be read. */
  async start(): Promise<void> {
    const first = await this.read();
    this.loop = this.run(first).catch((e: unknown) => this.opts.log.error({ subject: this.opts.subject, err: (e as Error).message }, 'bus partition reader stopped'));
  }

  /** No message is handed on after this returns; a read in flight is dropped. */
  stop(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }

  /** The next message at or after `next`; undefined when there is none yet. */
  private async read(): Promise<StoredMsg | undefined> {
    try {
      return await this.direct.getMessage(this.opts.stream, { seq: this.next, next_by_subj: this.opts.subject });
    } catch (e) {
      if ((e as { code?: string }).code === '404' || /message not found/i.test((e as Error).message)) return undefined;
      throw e;
    }
  }

  private async run(first: StoredMsg | undefined): Promise<void> {
    let m = first;
    let idle = POLL_MIN_MS;
    while (!this.stopped) {
      if (m) {
        // a replica answers "first at or after next" from a prefix of the stream: never behind, never a gap
        if (m.seq >= this.next) {
          this.next = m.seq + 1;
          this.handler(m);
        }
        idle = POLL_MIN_MS;
      } else {
        await new Promise((r) => setTimeout(r, idle));
        idle = Math.min(POLL_MAX_MS, idle * 2);
      }
      if (this.stopped) return;
      try {
        m = await this.read();
        if (this.failing) this.opts.log.info({ subject: this.opts.subject, next: this.next }, 'bus partition readable again');
        this.failing = false;
      } catch (e) {
        if (!this.failing) this.opts.log.warn({ subject: this.opts.subject, next: this.next, err: (e as Error).message }, 'bus read failed: retrying at the same sequence');
        this.failing = true;
        m = undefined;
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }
}
