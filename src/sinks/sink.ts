import type { NetRecord } from '../record/record.js';

/** Counters every sink reports; cumulative since start, written as self-telemetry. */
export interface SinkStats {
  batches: number;
  points: number;
  /** Points the destination refused as bad data (not retried). */
  rejectedPoints: number;
  /** Failed attempts that will be retried (from memory or from the spool). */
  retries: number;
  writeErrors: number;
  /** Latency of successful writes: cumulative sum and count, and the max within the current window. */
  latencySumMs: number;
  latencyCount: number;
  windowMaxLatencyMs: number;
  /** Disk spool, for sinks that have one. */
  spoolBytes?: number;
  spoolBatches?: number;
  /** Points lost because the spool bound (bytes or age) was exceeded. */
  spoolDroppedPoints?: number;
  /** Points of spooled batches found truncated or corrupt at replay (removed, not sent). */
  spoolCorruptPoints?: number;
  /** The spool's disk refused the last write for lack of space (the sink is not ready). */
  spoolDiskFull?: boolean;
  /** Points that could not be written at all (e.g. the spool disk failed). */
  lostPoints: number;
  /**
   * Delivery state, for sinks with a remote end: `ok`; `unavailable` (5xx, timeout, refused:
   * retried from the spool); `unauthorized` (401/403 on write) and `not_found` (404: database or
   * bucket missing) also keep the data in the spool but make the sink not ready until an operator acts.
   */
  state?: SinkState;
  /** Integer values outside the written type's range, written as its bound (see lineprotocol.ts). */
  clampedValues?: number;
  /** Rejected points by measurement, field (empty when the server named none) and reason. */
  rejected?: RejectedCount[];
  /** Failed write attempts by kind (each retry of a spooled batch counts again). */
  failures?: Record<'unauthorized' | 'not_found' | 'too_large' | 'rejected' | 'unavailable', number>;
  /** CREATE DATABASE / RETENTION POLICY refused for lack of permission (writes go on). */
  adminDenied?: number;
}

export type SinkState = 'ok' | 'unavailable' | 'unauthorized' | 'not_found';

export interface RejectedCount {
  measurement: string;
  field: string;
  reason: string;
  points: number;
}

/**
 * A destination for batches. `write` resolves once the batch is durable: acknowledged by the
 * destination or safely on disk. It never rejects for a transient outage; the pipeline treats a
 * rejection as loss and counts it.
 */
export interface Sink {
  readonly name: string;
  start(): Promise<void>;
  write(batch: readonly NetRecord[]): Promise<void>;
  /**
   * Stop waiting for a remote end (the shutdown deadline is near): writes in flight and later ones
   * resolve as soon as their batches are on local disk. Sinks without a remote end omit it.
   */
  abandon?(): void;
  /** Flush and release resources; spend at most deadlineMs. */
  stop(deadlineMs: number): Promise<void>;
  /** Counters; `resetWindow` starts a new window for windowed values (max latency). */
  stats(resetWindow?: boolean): SinkStats;
  /** Reachable, or spooling within its bounds (for /readyz). */
  ready(): boolean;
}

export function emptyStats(): SinkStats {
  return { batches: 0, points: 0, rejectedPoints: 0, retries: 0, writeErrors: 0, latencySumMs: 0, latencyCount: 0, windowMaxLatencyMs: 0, lostPoints: 0 };
}
