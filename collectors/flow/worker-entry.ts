/**
 * One flow worker thread (workers.ts): the in-thread processor and aggregator, unchanged, for the
 * exporters the main thread routes here (shard.ts). It receives datagrams in batches, sends back
 * what the processor emits as it goes, and its interval sums, loss streams and template/options
 * state when the main thread asks (every checkpoint, flush, stats interval and at stop).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { InterfaceInfo } from '../../src/collector.js';
import type { NetRecord } from '../../src/record/record.js';
import { fieldMap } from '../netflow/fields.js';
import { TemplateStore } from '../netflow/templates.js';
import { Aggregator, DIMENSIONS, type AggregateSnapshot } from './aggregate.js';
import { Allowlist } from './cidr.js';
import { encodeTalkers, type TalkerCopy, type TalkerSnapshot } from './talkers.js';
import { fieldEntries, mappedAddresses, mappedDimensions, type FlowConfig } from './config.js';
import { lossState, readLossState, restoreLoss, type LossState } from './losspersist.js';
import { FlowProcessor } from './processor.js';
import { ownLoss, ownOptions, ownTemplates } from './shard.js';
import { OPTIONS_FILE, TEMPLATE_FILE } from './state.js';
import { DERIVED_DIMENSIONS, deriver } from './derived.js';
import type { PathTotals, SeqTotals } from './loss.js';
import { SamplingRates, type SOURCE_NAMES } from './sampling.js';
import type { ClockStats, TimeSource } from './timestamps.js';
import { IntervalVolumes, type VolumeSums } from './volumes.js';
import { WorkerTables, type TablesMessage } from './worker-tables.js';

type SamplingSummary = Record<(typeof SOURCE_NAMES)[number], number>;

/** What a worker starts from: the config, its place in the pool, and the state it owns. */
export interface WorkerInit {
  cfg: FlowConfig;
  name: string;
  index: number;
  count: number;
  dataDir: string;
  /** Talkers per message of a drain (TALKER_PART; smaller in tests, to have parts on small input). */
  talkerPart?: number;
  /** The state this shard last reported (a restart); absent: read from the data directory. */
  state?: { templates: unknown; options: unknown; loss: LossState | undefined; sampling?: [string, SamplingSummary][] };
}

/** A batch of datagrams: bytes back to back in `buf` (transferred), then per datagram its place and source. */
export interface DatagramBatch {
  t: 'd';
  buf: ArrayBuffer;
  n: number;
  off: Uint32Array;
  port: Uint16Array;
  now: Float64Array;
  addr: string[];
}

export type ToWorker = DatagramBatch | TablesMessage | { t: 'drain'; id: number; cfg?: FlowConfig } | { t: 'house'; id: number; now: number };

export type FromWorker =
  | { t: 'out'; records: NetRecord[]; interfaces: [string, InterfaceInfo[]][]; offsets: [string, number][]; sources: [string, TimeSource, number][]; errors: [string, string][]; handled: number }
  | { t: 'part'; id: number; agg: AggregateSnapshot }
  | {
      t: 'drained';
      id: number;
      agg: AggregateSnapshot;
      flowsIn: number;
      overflowed: number;
      loss?: LossState;
      lossChanges: number;
      /** flow_volume / flow_if tallies since the last drain, and what the interval's loss ratio reads (loss-ratio.ts). */
      volumes: VolumeSums;
      seq: [string, SeqTotals][];
      datagrams: [string, number][];
    }
  | {
      t: 'house';
      id: number;
      loss: NetRecord[];
      stats: NetRecord[];
      store: ReturnType<TemplateStore['stats']>;
      templates?: unknown;
      options?: unknown;
      exporters: { exporter: string; stats: ReturnType<FlowProcessor['exporterStats']>; lastSeen: number | undefined; clock: ClockStats | undefined }[];
      lossTotals: [string, PathTotals][];
      sampling: [string, SamplingSummary][];
    };

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch {
    return undefined; // missing or damaged: the main thread reported it when it read the same file
  }
}

/** The worker's aggregator: the main thread's shape (collector.ts), derived dimensions' slots after the mapped ones. */
export function aggregatorFor(cfg: FlowConfig, mapped: readonly string[]): Aggregator {
  return new Aggregator({ dimensions: cfg.dimensions, mapped, addresses: mappedAddresses(cfg), maxSeries: cfg.max_series, topN: cfg.top_n, topBy: cfg.top_by, maxTalkers: cfg.max_talkers });
}

function run(port: NonNullable<typeof parentPort>, init: WorkerInit): void {
  const { cfg, name, index, count } = init;
  const mapped = mappedDimensions(cfg);
  const t = cfg.templates;
  const store = new TemplateStore({ fields: fieldMap(fieldEntries(cfg)), maxTemplates: t.max, ttlMs: t.ttl, pendingMaxSets: t.pending_max_sets, pendingTtlMs: t.pending_ttl });
  const slots = [...mapped, ...DERIVED_DIMENSIONS];
  let agg = aggregatorFor(cfg, slots);
  // the main thread's per-flow steps (collector.ts aggregate hook), on copies of its tables
  const tables = new WorkerTables();
  const deriveFor = (c: FlowConfig): ReturnType<typeof deriver> => deriver(c.dimensions.filter((d) => !mapped.includes(d)), DIMENSIONS.length + mapped.length, tables);
  let derive = deriveFor(cfg);
  let sampling = new SamplingRates(cfg.sampling, cfg.max_exporters);
  for (const [e, c] of init.state?.sampling ?? []) sampling.carry(e, c);
  const volumes = new IntervalVolumes();
  const fresh = (): Extract<FromWorker, { t: 'out' }> => ({ t: 'out', records: [], interfaces: [], offsets: [], sources: [], errors: [], handled: 0 });
  let out = fresh();
  const processor = new FlowProcessor(
    // the exporter cap is shared: each worker tracks its part of it
    { collector: name, store, raw: cfg.raw, maxExporters: Math.max(1, Math.ceil(cfg.max_exporters / count)), mapped, timestamps: cfg.timestamps },
    {
      emit: (r) => void out.records.push(r),
      aggregate: (k) => {
        const d = derive(k);
        volumes.add(d, sampling.apply(d));
        agg.add(d);
      },
      interfaces: (exporter, l) => {
        tables.interfaces.update(exporter, [exporter], 'flow', l);
        out.interfaces.push([exporter, l]);
      },
      clockOffset: (exporter, ms) => void out.offsets.push([exporter, ms]),
      timeSource: (exporter, source, ms) => void out.sources.push([exporter, source, ms]),
      internalError: (err, exporter) => void out.errors.push([exporter, err instanceof Error ? (err.stack ?? err.message) : String(err)]),
    },
  );
  processor.configure(cfg.raw, cfg.allow.length ? new Allowlist(cfg.allow) : undefined);
  const now = Date.now();
  const st = init.state ?? {
    templates: ownTemplates(readJson(join(init.dataDir, TEMPLATE_FILE)), count, index),
    options: ownOptions(readJson(join(init.dataDir, OPTIONS_FILE)), count, index),
    loss: ownLoss(safeLoss(init.dataDir), count, index),
  };
  if (st.templates !== undefined) store.load(st.templates, now);
  if (st.options !== undefined) processor.options.load(st.options);
  // a restarted worker knows the names its exporters sent before, as the main thread's directory does
  if (init.state) for (const [e, m] of processor.options.interfaces) tables.interfaces.update(e, [e], 'flow', m.values());
  if (st.loss) restoreLoss(processor.loss, st.loss, now);
  let lossSent = -1;
  // the first report carries the loaded state too: the main thread joins every shard's part into one file
  let reported = false;

  port.on('message', (m: ToWorker) => {
    if (m.t === 'd') {
      const bytes = new Uint8Array(m.buf);
      for (let i = 0; i < m.n; i++) processor.handle(bytes.subarray(m.off[i], m.off[i + 1]), m.addr[i] as string, m.port[i] as number, m.now[i] as number);
      // every batch is answered with the bytes it freed: the main thread bounds what is queued here
      out.handled = m.buf.byteLength;
      port.postMessage(out);
      out = fresh();
    } else if (m.t === 'tables') {
      tables.apply(m);
    } else if (m.t === 'drain') {
      const loss = processor.loss.changes === lossSent ? undefined : lossState(processor.loss, Date.now());
      lossSent = processor.loss.changes;
      const datagrams = processor.exporterNames().map((e): [string, number] => [e, processor.exporterStats(e)?.datagrams ?? 0]);
      const reply: FromWorker = { t: 'drained', id: m.id, agg: sendTalkers(port, m.id, agg, init.talkerPart ?? TALKER_PART), flowsIn: agg.flowsIn, overflowed: agg.overflowed, lossChanges: lossSent, volumes: volumes.take(), seq: [...processor.loss.exporterTotals()], datagrams };
      if (loss) reply.loss = loss;
      port.postMessage(reply);
      if (m.cfg) {
        // a reload, as the main thread applies it (collector.ts reload)
        processor.configure(m.cfg.raw, m.cfg.allow.length ? new Allowlist(m.cfg.allow) : undefined, m.cfg.timestamps);
        derive = deriveFor(m.cfg);
        const next = new SamplingRates(m.cfg.sampling, m.cfg.max_exporters);
        next.inherit(sampling);
        sampling = next;
      }
      agg = aggregatorFor(m.cfg ?? cfg, slots);
    } else {
      store.expire(m.now);
      const reply: Extract<FromWorker, { t: 'house' }> = {
        t: 'house',
        id: m.id,
        loss: processor.loss.records(name, m.now),
        stats: processor.statsRecords(m.now, {}),
        store: store.stats(),
        exporters: processor.exporterNames().map((e) => ({ exporter: e, stats: processor.exporterStats(e), lastSeen: processor.lastSeen(e), clock: processor.clocks.stats(e) })),
        lossTotals: [...processor.loss.pathTotals()],
        sampling: [...sampling.summary()],
      };
      if (store.dirty || !reported) reply.templates = store.serialize();
      if (processor.options.dirty || !reported) reply.options = processor.options.serialize();
      reported = true;
      port.postMessage(reply);
    }
  });
}

/** Talkers per message of a drain: the main thread adds each part in its own turn of the loop. */
const TALKER_PART = 8192;
const NO_TALKERS: TalkerSnapshot = { v4: '', text: [], bytes: '', packets: '', flows: '', rest: { bytes: 0, packets: 0, flows: 0 } };

/**
 * Posts the talker tables in parts of TALKER_PART (adding two full 100,000-talker tables to the
 * main thread's in one go held its loop for 50-140 ms) and returns the rest of the snapshot: the
 * series and each table's "other" volumes.
 */
function sendTalkers(port: NonNullable<typeof parentPort>, id: number, agg: Aggregator, size: number): AggregateSnapshot {
  const c = agg.copy();
  c.talkers.forEach((t, j) => {
    for (let i = 0; i < t.keys.length; i += size) {
      const part: TalkerCopy = { keys: t.keys.slice(i, i + size), bytes: t.bytes.subarray(i, i + size), packets: t.packets.subarray(i, i + size), flows: t.flows.subarray(i, i + size), rest: NO_TALKERS.rest };
      const talkers = c.talkers.map((_, x) => (x === j ? encodeTalkers(part) : NO_TALKERS));
      port.postMessage({ t: 'part', id, agg: { series: [], other: null, talkers, written: [] } } satisfies FromWorker);
    }
  });
  return { series: c.series, other: c.other, talkers: c.talkers.map((t) => ({ ...NO_TALKERS, rest: t.rest })), written: c.written };
}

function safeLoss(dir: string): LossState | undefined {
  try {
    return readLossState(dir);
  } catch {
    return undefined;
  }
}

if (parentPort) run(parentPort, workerData as WorkerInit);
