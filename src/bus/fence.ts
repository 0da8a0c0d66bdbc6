/**
 * Fencing a processor that may have lost its leases without knowing it (README "Scale-out", How it
 * holds together). Another processor takes a partition only after it saw the lease key at one
 * revision for a whole `lease_ttl` by its own reads, or after the server expired the key (also a TTL
 * after its last write). The last write happened after we sent it, so a lease is ours for at least
 * `lease_ttl` after the send time of its last successful renewal. We measure that on the monotonic
 * clock: a wall-clock step, or a process stopped (SIGSTOP, a VM paused) whose timers then fire late,
 * cannot make an old proof look fresh.
 *
 * The margin is what the check itself may lag the write it gates: records emitted now leave the
 * pipeline a flush or so later, and the new owner must not have started re-reading before then.
 */
import { performance } from 'node:perf_hooks';
import type { NetRecord } from '../record/record.js';
import type { BusMessage, PartitionConsumer } from './bus.js';

export class LeaseProof {
  /** Per partition: monotonic send time of the last renewal (or take) the server accepted. */
  private readonly since = new Map<number, number>();
  readonly marginMs: number;

  constructor(
    private readonly ttlMs: number,
    private readonly mono: () => number = () => performance.now(),
  ) {
    // renewals run every sixth of the TTL (processor.ts): a healthy holder's proof is at most that
    // old plus one round trip, so a third of the TTL as margin never fences a processor that is
    // keeping up, and half the TTL is left for renewals refused (a NATS node lost)
    this.marginMs = Math.floor(ttlMs / 3);
  }

  /** Take before sending a renewal; pass to `renewed` once the server accepted it. */
  now(): number {
    return this.mono();
  }

  renewed(p: number, sentAt: number): void {
    this.since.set(p, Math.max(sentAt, this.since.get(p) ?? -Infinity));
  }

  forget(p: number): void {
    this.since.delete(p);
  }

  /** True while partition `p` cannot have been taken by another processor. */
  holds(p: number): boolean {
    const t = this.since.get(p);
    return t !== undefined && this.mono() < t + this.ttlMs - this.marginMs;
  }

  /** Milliseconds since the proof of `p` (for the log when it lapsed). */
  age(p: number): number {
    const t = this.since.get(p);
    return t === undefined ? Infinity : Math.round(this.mono() - t);
  }
}

/** What fencing needs of a partition the processor holds (processor.ts `Owned`). */
export interface FencedPartition {
  last?: BusMessage | undefined;
  /** Handled since the latest interval close: their contribution is in the open interval only. */
  unmarked: { frames: number; datagrams: number };
  draining: boolean;
  halted: boolean;
  consumer?: PartitionConsumer | undefined;
}

export interface FenceResult<O> {
  /** Partitions whose lease we cannot prove: forgotten at once, their lease left to expire or to its new holder. */
  lapsed: number[];
  /** Partitions still provably ours: to be released once the pending commits are done. */
  kept: [number, O][];
  frames: number;
  datagrams: number;
}

/**
 * A processor sums every partition it holds into one set of aggregates, so the open interval's
 * contribution of a lapsed partition cannot be taken out of them alone. Rather than tagging every
 * series with its partition (more series, and flow_top per partition), the whole open interval is
 * dropped and consumption stops; the caller throws its open aggregates away and refuses intervals
 * closed but not yet written (their records hold lapsed partitions' flows too). Nothing more is
 * committed but what was already written. The lapsed partitions' new owners decode what we dropped
 * from the committed offset; the kept ones are released once the commits in progress are done,
 * so whoever takes them next (us included) starts at the committed offset and decodes the
 * dropped part once.
 */
export function fenceOff<O extends FencedPartition>(owned: Map<number, O>, proof: LeaseProof): FenceResult<O> {
  const out: FenceResult<O> = { lapsed: [], kept: [], frames: 0, datagrams: 0 };
  for (const [p, o] of owned) {
    out.frames += o.unmarked.frames;
    out.datagrams += o.unmarked.datagrams;
    o.unmarked = { frames: 0, datagrams: 0 };
    o.last = undefined;
    o.draining = o.halted = true;
    void o.consumer?.stop().catch(() => {});
    if (proof.holds(p)) out.kept.push([p, o]);
    else out.lapsed.push(p);
  }
  for (const p of out.lapsed) {
    owned.delete(p);
    proof.forget(p);
  }
  return out;
}

/** Flows in an interval's records that a fence refused to write (for `discarded_flows`). */
export function flowsIn(records: readonly NetRecord[]): number {
  let n = 0;
  for (const r of records) if (r.measurement === 'flow_agg') n += Number(r.fields['flows'] ?? 0);
  return n;
}
