/**
 * The one snapshot the status page, /status.json and /metrics are built from. Collectors and the
 * monitor hand out `status(): unknown` (their snapshot shapes are theirs to change), so the parts we
 * show are parsed here with zod: a shape that drifts drops that section instead of crashing a scrape.
 */
import { z } from 'zod';
import type { VerdictWindow } from '../monitor/index.js';
import type { PipelineStats } from '../pipeline/pipeline.js';
import type { Sink, SinkStats } from '../sinks/sink.js';
import type { History } from './history.js';
import { parseXcheck, type XcheckStatus } from '../xcheck/view.js';

/** What the HTTP surface reads from the App; nothing here writes. */
export interface OpsSource {
  readonly pipeline: { stats(): PipelineStats };
  readonly sinks: readonly Sink[];
  readonly monitor: { current(): VerdictWindow & { since: number }; status(): unknown };
  readonly interfaces: { summary(): { device: string; snmp: number; flow: number }[] };
  collectorStatus(): Record<string, unknown>;
  ready(): boolean;
  /** The status page's last hour (fed by the App's enrichment step and sampled by the server). */
  readonly history?: History | undefined;
  /** The flow-vs-SNMP cross-check, when `xcheck:` is on. */
  readonly xcheck?: { status(): unknown } | undefined;
  /** Scale-out: leases, partitions and devices held (src/bus/runtime.ts); undefined without a bus. */
  busStatus?(): unknown;
}

const flowStatus = z.object({
  listeners: z.array(z.object({ address: z.string(), port: z.number(), rcvbuf: z.number().optional() })).catch([]),
  templates: z.object({ templates: z.number() }).loose().optional().catch(undefined),
  exporters: z
    .array(
      z.object({
        exporter: z.string(),
        datagrams: z.number(),
        records: z.number(),
        errors: z.record(z.string(), z.number()).catch({}),
        /** Receive time of the last datagram, Unix ms. */
        last_seen_ms: z.number().optional().catch(undefined),
        /** Sequence-number accounting over the exporter's streams (units per protocol: collectors/flow/loss.ts). */
        loss: z.object({ received: z.number(), lost: z.number(), duplicates: z.number().optional(), reordered: z.number().optional() }).optional().catch(undefined),
        /** Flows by where their sampling rate came from (collectors/flow/sampling.ts). */
        sampling: z.object({ unknown: z.number(), default: z.number() }).loose().optional().catch(undefined),
        /** The exporter's clock against ours (collectors/flow/timestamps.ts). */
        clock: z.object({ offsetMs: z.number(), delayP50Ms: z.number(), delayP99Ms: z.number(), jitterMs: z.number(), source: z.string() }).optional().catch(undefined),
      }),
    )
    .catch([]),
});
export type FlowStatus = z.output<typeof flowStatus>;

const lastPoll = z.object({
  at: z.string(),
  duration_ms: z.number(),
  values: z.number(),
  timeouts: z.number(),
  errors: z.number(),
  ok: z.boolean(),
  error: z.string().optional(),
});
const snmpStatus = z.object({
  devices: z
    .array(
      z.object({
        name: z.string(),
        address: z.string(),
        interval_ms: z.number(),
        consecutive_failures: z.number(),
        overruns: z.number().catch(0),
        last_poll: lastPoll.optional().catch(undefined),
      }),
    )
    .catch([]),
  shard: z.string().optional().catch(undefined),
});
export type SnmpStatus = z.output<typeof snmpStatus>;

const trapStatus = z.object({ received: z.number(), rejected: z.record(z.string(), z.number()).catch({}) });

const monitorStatus = z.object({
  running: z.boolean().catch(false),
  ticks: z.number().catch(0),
  last_sample: z.record(z.string(), z.unknown()).nullable().catch(null),
});

export interface SinkView {
  name: string;
  ready: boolean;
  stats: SinkStats;
}

export interface StatusView {
  time: string;
  ready: boolean;
  verdict: { verdict: string; level: number; reasons: string[]; since: string };
  /** Numeric fields of the monitor's last sample (steal_pct, loop_stall_ms, ...). */
  signals: Record<string, number>;
  monitor: { running: boolean; ticks: number };
  pipeline: PipelineStats;
  sinks: SinkView[];
  collectors: string[];
  flow: FlowStatus | null;
  snmp: SnmpStatus | null;
  snmptrap: { received: number; rejected: Record<string, number> } | null;
  interfaces: { device: string; snmp: number; flow: number }[];
  xcheck?: XcheckStatus | null;
  bus?: unknown;
}

export const VERDICT_LEVEL: Readonly<Record<string, number>> = { ok: 0, degraded: 1, untrusted: 2 };

function parsed<T>(schema: z.ZodType<T>, v: unknown): T | null {
  const r = schema.safeParse(v);
  return r.success ? r.data : null;
}

export function buildView(src: OpsSource): StatusView {
  const v = src.monitor.current();
  const mon = parsed(monitorStatus, src.monitor.status()) ?? { running: false, ticks: 0, last_sample: null };
  const signals: Record<string, number> = {};
  for (const [k, val] of Object.entries(mon.last_sample ?? {})) if (typeof val === 'number' && Number.isFinite(val)) signals[k] = val;
  const cs = src.collectorStatus();
  return {
    time: new Date().toISOString(),
    ready: src.ready(),
    verdict: { verdict: v.verdict, level: VERDICT_LEVEL[v.verdict] ?? 2, reasons: [...v.reasons], since: new Date(v.since).toISOString() },
    signals,
    monitor: { running: mon.running, ticks: mon.ticks },
    pipeline: src.pipeline.stats(),
    sinks: src.sinks.map((s) => ({ name: s.name, ready: s.ready(), stats: s.stats() })),
    collectors: Object.keys(cs),
    flow: 'flow' in cs ? parsed(flowStatus, cs.flow) : null,
    snmp: 'snmp' in cs ? parsed(snmpStatus, cs.snmp) : null,
    snmptrap: 'snmptrap' in cs ? parsed(trapStatus, cs.snmptrap) : null,
    interfaces: src.interfaces.summary(),
    xcheck: src.xcheck ? parseXcheck(src.xcheck.status()) : null,
    ...(src.busStatus?.() !== undefined ? { bus: src.busStatus() } : {}),
  };
}

/** Why /readyz says 503: each sink that is neither reachable nor spooling within its bounds. */
export function notReadyReasons(view: StatusView): string[] {
  return view.sinks
    .filter((s) => !s.ready)
    .map((s) =>
      s.stats.spoolDiskFull
        ? `sink ${s.name}: the spool disk is full; new batches are lost (counted in lost_points)`
        : s.stats.state === 'unauthorized'
        ? `sink ${s.name}: writes refused (401/403: check the user's write permission); data kept in the spool (${s.stats.spoolBatches ?? 0} batches)`
        : s.stats.state === 'not_found'
        ? `sink ${s.name}: database, retention policy or bucket not found; data kept in the spool (${s.stats.spoolBatches ?? 0} batches)`
        : s.stats.spoolBytes !== undefined
        ? `sink ${s.name}: unreachable and its spool is near its bound (${s.stats.spoolBytes} bytes in ${s.stats.spoolBatches ?? 0} batches, ${s.stats.spoolDroppedPoints ?? 0} points evicted)`
        : `sink ${s.name}: not ready`,
    );
}
