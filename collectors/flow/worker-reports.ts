/**
 * The pool's slots (one per worker thread, workers.ts) and what their last answers say: every
 * report's counters, stats rows and template state, every drain's loss inputs. Read-only views for
 * the collector's records, /status and /metrics; the base of FlowWorkers, which fills the slots.
 */
import type { Worker } from 'node:worker_threads';
import { makeRecord, type HealthRecord, type NetRecord } from '../../src/record/record.js';
import type { StoreStats } from '../netflow/templates.js';
import type { AggregateSnapshot } from './aggregate.js';
import type { PathTotals, SeqTotals } from './loss.js';
import type { LossState } from './losspersist.js';
import type { PathRow } from './path.js';
import type { FromWorker } from './worker-entry.js';
import type { TablesSent } from './worker-tables.js';

export type House = Extract<FromWorker, { t: 'house' }>;

export interface Batch {
  bytes: Uint8Array;
  used: number;
  n: number;
  off: Uint32Array;
  port: Uint16Array;
  now: Float64Array;
  addr: string[];
}

export interface Pending {
  posted: number;
  /** A drain's talker parts, before its reply (worker-entry.ts sendTalkers). */
  part?(agg: AggregateSnapshot): void;
  done(reply: FromWorker | undefined): void;
}

export interface Slot {
  index: number;
  worker: Worker | undefined;
  startedAt: number;
  /** Datagrams posted, and the count up to which an answered drain carried their sums. */
  posted: number;
  covered: number;
  /** Bytes of batch buffers posted and not yet handled by the worker. */
  queued: number;
  lastUsed: number;
  batch: Batch | undefined;
  pending: Map<number, Pending>;
  house?: House;
  templates?: unknown;
  options?: unknown;
  loss?: LossState;
  lossChanges: number;
  /** Enrichment tables this worker was sent. */
  sent: TablesSent;
  /** As of the last drain, per exporter: sequence totals and datagrams (the interval's loss ratio). */
  seq: [string, SeqTotals][];
  datagrams: [string, number][];
}

export class WorkerReports {
  restarts = 0;
  lost = 0;
  /** Datagrams refused because their worker's queue was full (MAX_QUEUED_BYTES). */
  dropped = 0;

  constructor(
    protected readonly slots: Slot[],
    protected readonly name: string,
  ) {}

  /** `flow_loss` rows of the last report. */
  lossRecords(): NetRecord[] {
    return this.slots.flatMap((s) => s.house?.loss ?? []);
  }

  /** Per-exporter `flow_stats` rows of the last report, and one collector row summed over the workers. */
  statsRecords(now: number, extra: Record<string, number>): HealthRecord[] {
    const out: HealthRecord[] = [];
    const sums: Record<string, bigint> = {};
    for (const s of this.slots) {
      for (const r of (s.house?.stats ?? []) as HealthRecord[]) {
        if (r.tags['exporter'] !== undefined) out.push(r);
        else for (const [k, v] of Object.entries(r.fields)) if (typeof v === 'bigint') sums[k] = (sums[k] ?? 0n) + v;
      }
    }
    for (const k in extra) sums[k] = BigInt(Math.round(extra[k] ?? 0));
    sums['worker_restarts'] = BigInt(this.restarts);
    sums['worker_lost'] = BigInt(this.lost);
    sums['worker_dropped'] = BigInt(this.dropped);
    out.push(makeRecord('health', 'flow_stats', { collector: this.name }, sums, now));
    return out;
  }

  /** The template stores' counters of the last report, summed. */
  storeStats(): StoreStats {
    const out: StoreStats = { templates: 0, pendingSets: 0, pendingExpired: 0, pendingDropped: 0, evicted: 0, expired: 0, refused: 0 };
    for (const s of this.slots) for (const k of Object.keys(out) as (keyof StoreStats)[]) out[k] += s.house?.store[k] ?? 0;
    return out;
  }

  lossChanges(): number {
    return this.slots.reduce((n, s) => n + s.lossChanges, this.restarts);
  }

  lossState(now: number): LossState {
    return { v: 1, savedAt: now, streams: this.slots.flatMap((s) => s.loss?.streams ?? []) };
  }

  exporters(): House['exporters'] {
    return this.slots.flatMap((s) => s.house?.exporters ?? []);
  }

  lossTotals(): Map<string, PathTotals> {
    return new Map(this.slots.flatMap((s) => s.house?.lossTotals ?? []));
  }

  /** What the interval's loss ratio reads (loss-ratio.ts), as of the last drain: sequence totals and datagrams per exporter. */
  lossInputs(): [Map<string, SeqTotals>, Map<string, number>] {
    return [new Map(this.slots.flatMap((s) => s.seq)), new Map(this.slots.flatMap((s) => s.datagrams))];
  }

  /** The exporter_path check's input (path.ts), as of the last report. */
  pathRows(): PathRow[] {
    const totals = this.lossTotals();
    return this.exporters().map((e) => ({ exporter: e.exporter, datagrams: e.stats?.datagrams ?? 0, totals: totals.get(e.exporter), clock: e.clock }));
  }

  /** Flows per exporter by where their sampling rate came from (sampling.ts), as of the last report. */
  samplingSummary(): Map<string, House['sampling'][number][1]> {
    return new Map(this.slots.flatMap((s) => s.house?.sampling ?? []));
  }

  /** Worker threads running now (one is missing while it waits to be restarted). */
  running(): number {
    return this.slots.filter((s) => s.worker).length;
  }
}
