/**
 * What the receive path costs the main thread with and without worker threads, on REAL exporters'
 * captures (the `flow-real` bench's, in `$FLOW_REAL_CACHE` or `$TMPDIR/netvigil-flow-real/`): every
 * datagram of the capture (repeated to >= 100,000 per round), as two exporters (127.0.0.1 and 127.0.0.2, one per worker with two),
 * through FlowProcessor.handle in the main thread (`workers: 0`) or FlowWorkers.handle (`workers:
 * N`: hash, copy into a batch, one postMessage per turn of the loop; the sums drained back every
 * 4,096 datagrams, more often than the collector's 5 s). No socket. Reports CPU time, not wall
 * time: the main thread's from /proc/self/task/<pid>/stat, all threads' from process.cpuUsage, per
 * datagram, fastest of `rounds` rounds after a warm-up round (on a shared machine other work only
 * ever adds to it); the threads are started before the rounds.
 *
 *   npm run build && node dist/bench/flow-workers-cpu.js <capture.pcap> [--workers 0,1,2] [--rounds 5]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pino } from 'pino';
import { flowConfigSchema } from '../collectors/flow/config.js';
import { FlowProcessor } from '../collectors/flow/processor.js';
import { FlowWorkers } from '../collectors/flow/workers.js';
import { aggregatorFor } from '../collectors/flow/worker-entry.js';
import { TemplateStore } from '../collectors/netflow/templates.js';
import { readUdpPcap } from './flow-e2e/capture.js';

const args = process.argv.slice(2);
const opt = (name: string, d: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? (args.splice(i, 2)[1] ?? d) : d;
};
const counts = opt('--workers', '0,1,2').split(',').map(Number);
const rounds = Number(opt('--rounds', '5'));
const SOURCES = ['127.0.0.1', '127.0.0.2'];
const DRAIN_EVERY = 4096;
const MIN_PER_ROUND = 100_000;
const TICK = 1e6 / 100; // µs per clock tick (USER_HZ 100 on Linux)

/** The main thread's CPU time so far, µs (its task has the process id). */
function mainCpu(): number {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) * TICK;
}
const allCpu = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** One pass over the capture; the pool (started before, so its threads' start is not counted) is drained at the end. */
async function round(datagrams: Buffer[], workers: number, pool: FlowWorkers | undefined): Promise<{ main: number; all: number; flows: number }> {
  const cfg = flowConfigSchema.parse({ workers });
  const agg = aggregatorFor(cfg, []);
  // the capture repeated to >= MIN_PER_ROUND datagrams: the main thread's clock ticks are 10 ms
  const reps = Math.ceil(MIN_PER_ROUND / (datagrams.length * SOURCES.length));
  const n = reps * datagrams.length * SOURCES.length;
  const t0 = [mainCpu(), allCpu()] as const;
  if (!pool) {
    const p = new FlowProcessor({ collector: 'flow', store: new TemplateStore(), raw: false, maxExporters: 10 }, { emit: () => undefined, aggregate: (k) => agg.add(k), interfaces: () => undefined, clockOffset: () => undefined, internalError: () => undefined });
    for (let r = 0; r < reps; r++) for (const d of datagrams) for (const s of SOURCES) p.handle(d, s, 2055, Date.now());
  } else {
    let k = 0;
    for (let r = 0; r < reps; r++) {
      for (const d of datagrams) {
        for (const s of SOURCES) pool.handle(d, s, 2055, Date.now());
        if (++k % 64 === 0) await turn();
        if (k % DRAIN_EVERY === 0) await pool.drain(agg);
      }
    }
    await pool.drain(agg);
  }
  return { main: (mainCpu() - t0[0]) / n, all: (allCpu() - t0[1]) / n, flows: agg.flowsIn };
}

for (const file of args) {
  const datagrams = readUdpPcap(readFileSync(file));
  const dir = mkdtempSync(join(tmpdir(), 'netvigil-workers-cpu-'));
  for (const w of counts) {
    let best = { main: Infinity, all: Infinity, flows: 0 };
    const cfg = flowConfigSchema.parse({ workers: w });
    const pool = w ? new FlowWorkers(cfg, 'flow', dir, { emit: () => undefined, error: (e) => console.error(e), interfaces: () => undefined, clockOffset: () => undefined, log: pino({ level: 'silent' }) }) : undefined;
    pool?.start();
    await round(datagrams, w, pool); // warm-up: code compiled in every thread, templates learned
    for (let r = 0; r < rounds; r++) {
      const m = await round(datagrams, w, pool);
      if (m.all < best.all) best = m;
    }
    await pool?.stop(aggregatorFor(cfg, []), Date.now());
    console.log(`${basename(file)} workers ${w}: main thread ${best.main.toFixed(2)} µs CPU/datagram, all threads ${best.all.toFixed(2)} µs CPU/datagram (best of ${rounds}; ${best.flows} flows aggregated per round), load ${loadavg()[0]?.toFixed(1)}`);
  }
  rmSync(dir, { recursive: true, force: true });
}
