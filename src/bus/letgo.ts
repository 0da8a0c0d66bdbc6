/**
 * A holder letting a lease go (leases.ts `release`: a processor's partition after a fence, over its
 * share, at its stop; a poller's device), so that another holder takes the unit at its next
 * heartbeat instead of a TTL later, when the lease has aged.
 *
 * The processor has stopped reading and renewing the partition before the delete is sent, so until
 * the lease goes nobody reads the partition. While the leases bucket has no leader (a NATS node's
 * loss: 4-9 s of raft election in nats-server 2.9) the delete fails. It used to be sent once: a
 * failure left the lease to age a whole TTL, and, thrown, it ended the fence's loop of releases, so
 * the partitions after it stayed held, renewed and unread until a later interval close. The
 * node-kill suite (test/bus-nats.test.ts, lease_ttl 16 s) stopped its processors within that time
 * in 2 runs of 15 (and once in CI): 4 and 17 messages of flows never decoded.
 *
 * So the delete is retried until it succeeds, the lease moved on (another holder took it, or it is
 * gone), we hold the partition again, or a TTL passed (the lease can be taken by its age by then).
 * Only at a revision we read with our name in it: a plain delete retried late could remove the
 * lease of the processor that took the partition meanwhile, and two would then read it.
 */
import type { Logger } from '../log.js';
import type { KeyValue } from './bus.js';
import { readLease } from './outbox.js';

/** Pause between attempts while the bucket cannot answer: about an election's worth in some tens of tries. */
const RETRY_MS = 250;

interface Attempt {
  kv: KeyValue;
  key: string;
  /** Our holder key (outbox.ts `LeaseValue.o`). */
  holder: string;
  /** The revision we last wrote. */
  revision: number;
  /** True once we hold the partition again: the lease is ours to keep then. */
  heldAgain: () => boolean;
  ttlMs: number;
  log: Logger;
}

/** Resolves once the lease is deleted (true) or not ours to delete any more (false); never throws. */
export async function letGo(g: Attempt): Promise<boolean> {
  const until = Date.now() + g.ttlMs;
  let revision = g.revision;
  let failures = 0;
  for (;;) {
    if (g.heldAgain()) return false;
    try {
      if (await g.kv.deleteAt(g.key, revision)) {
        if (failures) g.log.info({ key: g.key, attempts: failures + 1 }, 'bus lease deleted after retries: its partition can be taken now');
        return true;
      }
      // moved on since we wrote it: a renewal of ours still in flight, or another holder
      const cur = await g.kv.get(g.key);
      if (!cur || readLease(cur.value).o !== g.holder) return false;
      if (cur.revision === revision) throw new Error(`revision ${revision} read back after a refused delete`);
      revision = cur.revision;
    } catch (e) {
      if (failures++ === 0) g.log.warn({ key: g.key, err: (e as Error).message }, 'bus lease not deleted: retrying, its partition is read by no one until it goes');
      if (Date.now() >= until) {
        g.log.warn({ key: g.key, attempts: failures, err: (e as Error).message }, 'bus lease still not deleted after a TTL: it is taken by its age');
        return false;
      }
      await new Promise((r) => setTimeout(r, RETRY_MS).unref());
    }
  }
}

/** A lease table's deletes in flight (the releases do not wait for them). */
export class LetGo {
  private readonly pending = new Set<Promise<boolean>>();
  private settled = false;

  constructor(
    private readonly kv: KeyValue,
    private readonly holder: string,
    private readonly ttlMs: number,
    private readonly log: Logger,
  ) {}

  start(key: string, revision: number, heldAgain: () => boolean): void {
    const g = letGo({ kv: this.kv, key, holder: this.holder, revision, heldAgain: () => this.settled || heldAgain(), ttlMs: this.ttlMs, log: this.log });
    this.pending.add(g);
    void g.finally(() => this.pending.delete(g));
  }

  /** At a stop: waits for the deletes in flight, at most `ms`, then ends them (a lease left behind goes by its age). */
  async settle(ms: number): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.pending), new Promise((r) => (t = setTimeout(r, ms)))]);
    clearTimeout(t);
    this.settled = true;
  }
}
