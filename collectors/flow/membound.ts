/**
 * The most memory the flow collector's process may hold, from its configuration alone: every
 * structure that grows with traffic has a cap in the config, so distinct hosts, flows or series
 * beyond the caps are summed into "other" rows instead of taking memory. README "Memory bound"
 * gives the derivation of each constant; `bench/flow-real` reports the receiver's RSS against it
 * (1 M-host mix) and `membound.test.ts` holds the tracked-entry counts to the caps.
 */
import type { FlowConfig } from './config.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Node, V8 and the collector's code before the first datagram (measured idle: 78 MiB), rounded up. */
export const BASE_BYTES = 96 * MiB;
/** A worker thread's own isolate and copy of the code (measured idle: +25-29 MiB each), rounded up. */
export const WORKER_BYTES = 32 * MiB;
/** A series: one Map entry per dimension level, its tags object and sums, and its copy in a checkpoint or flush. */
export const SERIES_BYTES = 2 * KiB;
/** A talker: volumes, key, hash slot, and the copy a checkpoint or flow_top takes (README). */
export const TALKER_BYTES = 256;
/** Per tracked exporter: counters and its error-reason map. */
export const EXPORTER_BYTES = 1 * KiB;
/** Per loss stream (LossTracker's cap: 10,000 streams), held and saved as JSON. */
export const LOSS_STREAMS = 10_000;
export const STREAM_BYTES = 512;
/** Per template: its definition and compiled plan. */
export const TEMPLATE_BYTES = 4 * KiB;
/** V8 lets the heap grow to about twice what is live before a major collection. */
export const GC_HEADROOM = 2;

export type BoundConfig = Pick<FlowConfig, 'max_series' | 'max_talkers' | 'top_by' | 'max_exporters' | 'workers'> & { templates: Pick<FlowConfig['templates'], 'max'> };

/** Bytes per part and in all; `state` is held once in the main thread and again in each worker. */
export function memoryBound(cfg: BoundConfig): { total: number; state: number; parts: Record<string, number> } {
  const parts = {
    series: cfg.max_series * SERIES_BYTES,
    talkers: cfg.top_by.length * cfg.max_talkers * TALKER_BYTES,
    exporters: cfg.max_exporters * EXPORTER_BYTES,
    loss: LOSS_STREAMS * STREAM_BYTES,
    templates: cfg.templates.max * TEMPLATE_BYTES,
  };
  const state = Object.values(parts).reduce((a, b) => a + b, 0);
  const copies = 1 + cfg.workers;
  return { total: BASE_BYTES + cfg.workers * WORKER_BYTES + copies * GC_HEADROOM * state, state, parts };
}
