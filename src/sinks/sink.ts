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
