/**
 * Self-telemetry: the collector's own counters as ordinary records, every interval. Counters are
 * cumulative since start (dashboards take non_negative_derivative), depths and latencies are
 * point-in-time or per-interval values.
 */
import { int, makeRecord, type NetRecord } from '../record/record.js';
import type { PipelineStats } from '../pipeline/pipeline.js';
import type { LossCount } from '../pipeline/loss.js';
import type { Sink } from '../sinks/sink.js';
import { hostname } from 'node:os';

/** This process: host, pid and start second, so each run is told apart. */
const RUN = `${hostname()}:${process.pid}:${Math.floor(Date.now() / 1000)}`;

export interface TelemetrySources {
  pipeline(): PipelineStats;
  sinks: readonly Sink[];
  /** The loss ledger (cumulative over the data directory's life, not this run). */
  loss?: () => LossCount[];
  /** Extra tags on every self-telemetry record (e.g. instance, shard). */
  tags?: Record<string, string>;
}

export class SelfTelemetry {
  private readonly src: TelemetrySources;
  private readonly prevLatency = new Map<string, { sum: number; count: number }>();
  private readonly startedAt = Date.now();

  constructor(src: TelemetrySources) {
    this.src = src;
  }

  collect(now: number = Date.now()): NetRecord[] {
    const base = this.src.tags ?? {};
    const p = this.src.pipeline();
    const out: NetRecord[] = [
      makeRecord('health', 'netvigil_pipeline', { ...base }, {
        queue_depth: int(p.queueDepth),
        queue_capacity: int(p.queueCapacity),
        queue_high_water: int(p.queueHighWater),
        dropped_queue_full: int(p.droppedQueueFull),
        dropped_after_stop: int(p.droppedAfterStop),
        dropped_at_stop: int(p.droppedAtStop),
        sink_failures: int(p.sinkFailures),
        records_out: int(p.recordsOut),
        batches: int(p.batches),
        uptime_s: (now - this.startedAt) / 1000,
        // two writers under one tag set (no or the same `instance`) show as two values of `run`
        run: RUN,
      }, now),
    ];
    for (const [name, c] of Object.entries(p.collectors)) {
      out.push(makeRecord('health', 'netvigil_collector', { ...base, collector: name }, { records: int(c.records), errors: int(c.errors) }, now));
    }
    for (const sink of this.src.sinks) {
      const s = sink.stats(true);
      const prev = this.prevLatency.get(sink.name) ?? { sum: 0, count: 0 };
      this.prevLatency.set(sink.name, { sum: s.latencySumMs, count: s.latencyCount });
      const n = s.latencyCount - prev.count;
      const fields: NetRecord['fields'] = {
        batches: int(s.batches),
        points: int(s.points),
        rejected_points: int(s.rejectedPoints),
        retries: int(s.retries),
        write_errors: int(s.writeErrors),
        lost_points: int(s.lostPoints),
        write_latency_max_ms: s.windowMaxLatencyMs,
        ready: sink.ready(),
      };
      if (n > 0) fields.write_latency_ms = (s.latencySumMs - prev.sum) / n;
      if (s.spoolBytes !== undefined) fields.spool_bytes = int(s.spoolBytes);
      if (s.spoolBatches !== undefined) fields.spool_batches = int(s.spoolBatches);
      if (s.spoolDroppedPoints !== undefined) fields.spool_dropped_points = int(s.spoolDroppedPoints);
      if (s.spoolCorruptPoints !== undefined) fields.spool_corrupt_points = int(s.spoolCorruptPoints);
      if (s.spoolDiskFull !== undefined) fields.spool_disk_full = s.spoolDiskFull;
      if (s.state !== undefined) fields.state = s.state;
      if (s.clampedValues !== undefined) fields.clamped_values = int(s.clampedValues);
      if (s.adminDenied !== undefined) fields.admin_denied = int(s.adminDenied);
      for (const [kind, n] of Object.entries(s.failures ?? {})) fields[`failures_${kind}`] = int(n);
      out.push(makeRecord('health', 'netvigil_sink', { ...base, sink: sink.name }, fields, now));
      // Rejected points by what was rejected and why (cumulative; the key set is capped by the sink).
      for (const r of s.rejected ?? []) {
        out.push(makeRecord('health', 'netvigil_sink_rejected', { ...base, sink: sink.name, measurement: r.measurement, field: r.field, reason: r.reason }, { points: int(r.points) }, now));
      }
    }
    for (const l of this.src.loss?.() ?? []) {
      const tags: Record<string, string> = { ...base, reason: l.reason };
      if (l.measurement) tags.measurement = l.measurement;
      out.push(makeRecord('health', 'netvigil_lost', tags, { points: int(l.points) }, now));
    }
    return out;
  }
}
