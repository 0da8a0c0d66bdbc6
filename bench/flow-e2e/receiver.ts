/**
 * A receiver of the end-to-end bench, run as its own process pinned to core 0:
 *   `netvigil` — the real flow collector, built from collectors/index.ts's definition with its
 *     default config (aggregation by exporter/in_if/out_if/proto, top talkers, loss accounting)
 *     on 127.0.0.1:0 (argv[4]: JSON merged over that config), its records going to a counting
 *     emitter;
 *   `count` — a bare Node dgram socket with the same receive buffer that only counts datagrams:
 *     the ceiling of any Node receiver on this machine;
 *   `count-wait` — the same, reading in turns as the collector does (collectors/flow/turns.ts);
 *   `bookkeeping` — the same socket doing the collector's per-datagram work short of decoding:
 *     the turn's receive time, FlowProcessor.admit (source, allowlist, counters), the version word.
 * Answers `counts` with what it has taken in and `stop` with the final counts, then exits; it also
 * exits when the bench goes away (IPC disconnect).
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { pino } from 'pino';
import { collectors } from '../../collectors/index.js';
import type { FlowCollector } from '../../collectors/flow/collector.js';
import { flowConfigSchema } from '../../collectors/flow/config.js';
import { detect } from '../../collectors/flow/processor.js';
import { ReceiveTurns } from '../../collectors/flow/turns.js';
import type { Collector, CollectorContext } from '../../src/collector.js';
import type { Counts, ReceiverRequest } from './ipc.js';
import { StallTracker } from './stalls.js';

const mode = process.argv[2];
const recordsPer = Number(process.argv[3] ?? '1');
/** What the collector asks for by default; both receivers get the same (capped by rmem_max). */
const RCVBUF = 32 * 1024 * 1024;

interface Receiver {
  port: number;
  counts(): Counts | Promise<Counts>;
  stop(): Promise<Counts>;
}

async function countOnly(how: 'count' | 'count-wait' | 'bookkeeping'): Promise<Receiver> {
  const s = createSocket({ type: 'udp4', recvBufferSize: RCVBUF });
  let n = 0;
  const def = collectors.find((c) => c.name === 'flow');
  if (!def) throw new Error('no flow collector in collectors/index.ts');
  const cfg = flowConfigSchema.parse({});
  const turns = new ReceiveTurns(Date.now, cfg.receive_wait);
  const processor = (def.create(cfg, context('/nonexistent', () => undefined)) as FlowCollector).processor;
  let versions = 0;
  if (how === 'count') s.on('message', () => void n++);
  else if (how === 'count-wait') s.on('message', () => void (n++, turns.datagram()));
  else {
    s.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      n++;
      if (processor.admit(rinfo.address, turns.datagram()) && detect(msg)) versions++;
    });
  }
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  // bookkeeping: every datagram has a version word we know, or it counts as an error
  const counts = (): Counts => ({ type: 'counts', datagrams: n, records: n * recordsPer, errors: how === 'bookkeeping' ? n - versions : 0 });
  return {
    port: s.address().port,
    counts,
    stop: async () => {
      await new Promise<void>((resolve) => s.close(() => resolve()));
      return counts();
    },
  };
}

function context(dataDir: string, onFlows: (n: number) => void): CollectorContext {
  return {
    emitter: {
      emit: (r) => {
        if (r.measurement === 'flow_agg') {
          const f = r.fields['flows'];
          onFlows(typeof f === 'bigint' ? Number(f) : typeof f === 'number' ? f : 0);
        }
      },
      error: (e) => process.stderr.write(`flow-e2e receiver: ${String(e)}\n`),
    },
    log: pino({ level: 'silent' }),
    dataDir,
    configDir: dataDir,
    shard: { index: 0, count: 1 },
    interfaces: { update: () => undefined, lookup: () => undefined, deviceName: () => undefined },
    signals: { udpSocket: () => undefined, udpSocketClosed: () => undefined, exporterClockOffset: () => undefined, snmpRequest: () => undefined },
  };
}

async function netvigil(): Promise<Receiver> {
  const def = collectors.find((c) => c.name === 'flow');
  if (!def) throw new Error('no flow collector in collectors/index.ts');
  const dir = mkdtempSync(join(tmpdir(), 'netvigil-flow-e2e-'));
  let aggregated = 0;
  // argv[4] and FLOW_E2E_COLLECTOR: JSON merged over the defaults, to see what a setting costs
  const extra = { ...(JSON.parse(process.argv[4] ?? '{}') as Record<string, unknown>), ...(JSON.parse(process.env['FLOW_E2E_COLLECTOR'] ?? '{}') as Record<string, unknown>) };
  const config = def.configSchema.parse({ ...extra, listen: [{ address: '127.0.0.1', port: 0 }], receive_buffer: RCVBUF });
  const c: Collector = def.create(config, context(dir, (n) => (aggregated += n)));
  await c.start();
  // with `workers`, their counters reach status() when asked for (FlowCollector.settle)
  const settle = (c as { settle?: () => Promise<void> }).settle?.bind(c);
  const counts = async (): Promise<Counts> => {
    await settle?.();
    // status() is the collector's own per-exporter view: datagrams, records decoded and
    // aggregated (the aggregator runs synchronously inside the socket handler), decode errors
    const st = c.status?.() as { listeners: { port: number }[]; exporters: { datagrams: number; records: number; errors: Record<string, number> }[] };
    let datagrams = 0, records = 0, errors = 0;
    const reasons: Record<string, number> = {};
    for (const e of st.exporters) {
      datagrams += e.datagrams;
      records += e.records;
      for (const k in e.errors) {
        errors += e.errors[k] ?? 0;
        reasons[k] = (reasons[k] ?? 0) + (e.errors[k] ?? 0);
      }
    }
    return { type: 'counts', datagrams, records, errors, ...(errors ? { reasons } : {}) };
  };
  const st = c.status?.() as { listeners: { port: number }[] };
  return {
    port: st.listeners[0]?.port ?? 0,
    counts,
    stop: async () => {
      const before = await counts();
      await c.stop();
      rmSync(dir, { recursive: true, force: true });
      return { ...before, aggregated };
    },
  };
}

// FLOW_E2E_STALLS=<ms>: who held the loop in each pause over that (stalls.ts); before the collector
// starts, so its timers are timed too
const stallMs = Number(process.env['FLOW_E2E_STALLS'] ?? 0);
const stalls = stallMs > 0 ? new StallTracker(stallMs) : undefined;
stalls?.start();
const rx = mode === 'netvigil' ? await netvigil() : await countOnly(mode === 'bookkeeping' || mode === 'count-wait' ? mode : 'count');
// pauses of the loop that reads the socket: a pause longer than the socket buffer lasts is loss
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
// GC pauses in the same window, to tell a collector pause from the host taking the core away
let gcMax = 0;
let gcMaxKind = '';
let gcOver10 = 0;
const KINDS: Record<number, string> = { [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks' };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.duration > gcMax) [gcMax, gcMaxKind] = [e.duration, KINDS[(e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1] ?? '?'];
    if (e.duration > 10) gcOver10++;
  }
}).observe({ entryTypes: ['gc'] });
process.on('message', (m: ReceiverRequest) => {
  if (m.type === 'counts') void Promise.resolve(rx.counts()).then((c) => process.send?.(c));
  else if (m.type === 'loop') {
    process.send?.({ type: 'loop', p99: delay.percentile(99) / 1e6, max: delay.max / 1e6, gcMax, gcMaxKind, gcOver10, ...(stalls ? { stalls: stalls.take() } : {}) });
    delay.reset();
    gcMax = gcOver10 = 0;
    gcMaxKind = '';
  } else {
    void rx.stop().then((c) => {
      process.send?.(c, () => process.exit(0));
    });
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', port: rx.port });
