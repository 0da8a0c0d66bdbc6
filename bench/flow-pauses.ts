/**
 * The receive-path pauses of the flow collector with full talker tables, and the memory those
 * tables take: the 1 M-host softflowd v9 capture of the `flow-real` bench (every flow its own
 * client; built into `$FLOW_REAL_CACHE` or `$TMPDIR/netvigil-flow-real/hosts-1000000-seed1-g1/`)
 * through FlowProcessor.handle with the default config, then per round: the longest turn of the
 * event loop while a checkpoint is written (the copy on the receive path included) and around an
 * interval flush (flow_agg at once, flow_top over later turns). Memory: heap + array buffers after
 * GC, before and after the capture (capture buffers dropped first).
 *
 *   npm run build && node --expose-gc dist/bench/flow-pauses.js [capture.pcap] [max_talkers]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlowCollector } from '../collectors/flow/collector.js';
import { writeCheckpoint } from '../collectors/flow/checkpoint.js';
import { collectors } from '../collectors/index.js';
import { readUdpPcap } from './flow-e2e/capture.js';
import { benchContext } from './flow-e2e/inprocess.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Longest gap between turns of the loop while `work` runs (its synchronous start included). */
async function longestTurn(work: () => Promise<unknown>): Promise<number> {
  let max = 0;
  let last = performance.now();
  let done = false;
  const probe = (): void => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
    if (!done) setImmediate(probe);
  };
  setImmediate(probe);
  await turn();
  await work();
  await turn();
  done = true;
  return max;
}

function memory(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 2 ** 20;
}

async function main(): Promise<void> {
  const file = process.argv[2] || join(process.env['FLOW_REAL_CACHE'] ?? join(tmpdir(), 'netvigil-flow-real'), 'hosts-1000000-seed1-g1', 'softflowd-v9.pcap');
  const maxTalkers = Number(process.argv[3] ?? 100_000);
  const dir = mkdtempSync(join(tmpdir(), 'netvigil-flow-pauses-'));
  const ctx = benchContext('flow-pauses', dir);
  const def = collectors.find((c) => c.name === 'flow');
  if (!def) throw new Error('no flow collector');
  const c = def.create(def.configSchema.parse({ max_talkers: maxTalkers }), ctx) as FlowCollector;
  const before = memory();
  let ring: Buffer[] | undefined = readUdpPcap(readFileSync(file));
  const n = ring.length;
  const agg = (c as unknown as { aggregator: import('../collectors/flow/aggregate.js').Aggregator }).aggregator;
  for (const b of ring) c.processor.handle(b, '127.0.0.1', 40000, Date.now());
  const fill = (): void => {
    for (let i = 0; i < Math.min(n, 40_000); i++) c.processor.handle(ring?.[i] as Buffer, '127.0.0.1', 40000, Date.now());
  };
  for (let round = 1; round <= 3; round++) {
    const cp = await longestTurn(() => {
      const copy = agg.copy();
      return writeCheckpoint(dir, { v: 1, shape: { interval: 0, dimensions: [], topBy: [], maxSeries: 0, topN: 0, maxTalkers }, intervalStart: 0, label: 0, lastLabel: 0, flushed: false, savedAt: 0, agg: copy });
    });
    const fl = await longestTurn(() => agg.flushLater(0, 'flow').talkers);
    console.log(`round ${round}: longest loop turn, checkpoint ${cp.toFixed(1)} ms, interval flush ${fl.toFixed(1)} ms`);
    fill();
  }
  ring = undefined;
  rmSync(dir, { recursive: true, force: true });
  console.log(`${n} datagrams, max_talkers ${maxTalkers}: heap + array buffers ${before.toFixed(1)} -> ${memory().toFixed(1)} MiB${(globalThis as { gc?: unknown }).gc ? '' : ' (run with --expose-gc for a steady figure)'}`);
}

if (process.argv[1]?.endsWith('flow-pauses.js')) await main();
