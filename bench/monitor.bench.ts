/**
 * The resource monitor's own cost. Three child processes run side by side for the same time:
 * an idle Node process with the same modules loaded (the baseline), a monitor with its sampling timer effectively off (the
 * fixed cost: delay histogram and stall watchdog), and a monitor sampling every 250 ms (20 times
 * the default 5 s rate) to measure the cost per sample. Each child reads its own CPU time over
 * the measured window, after a warm-up, so module loading is not counted. The cost at the 5 s
 * default is the fixed cost plus 12 samples a minute.
 *
 * Also the hot path: verdictFor() is called for every record.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createLogger } from '../src/log.js';
import { createMonitor, monitorConfigSchema } from '../src/monitor/index.js';
import type { BenchResult } from './types.js';

const MEASURE_MS = 25_000;
const WARMUP_MS = 5000;
const FAST_INTERVAL_MS = 250;

/**
 * Child body. Every child loads the same modules and makes the same logger, because a process that
 * has just loaded zod and pino spends ~90 ms/min of CPU for the next several seconds (V8 settling
 * after start-up) and that must not be billed to the monitor. `idle` then only waits; the others
 * run a monitor with three watched UDP sockets, like a real run.
 */
const CHILD = `
const { createSocket } = await import('node:dgram');
const { createMonitor, monitorConfigSchema } = await import(process.env.NV_MONITOR);
const { createLogger } = await import(process.env.NV_LOG);
const log = createLogger('silent');
const mode = process.env.NV_MODE;
const sockets = [];
let samples = 0;
let monitor;
if (mode !== 'idle') {
  monitor = createMonitor(monitorConfigSchema.parse({ interval: Number(process.env.NV_INTERVAL) }), {
    emit: (r) => { if (r.measurement === 'vm_host') samples++; },
    log,
  });
  for (let i = 0; i < 3; i++) {
    const s = createSocket('udp4');
    await new Promise((r) => s.bind(0, '127.0.0.1', r));
    monitor.udpSocket('bench', 'udp4', s.address().port);
    sockets.push(s);
  }
  monitor.start();
}
const keepAlive = setInterval(() => {}, 1 << 30);
await new Promise((r) => setTimeout(r, Number(process.env.NV_WARMUP)));
const u0 = process.resourceUsage();
const t0 = performance.now();
const s0 = samples;
await new Promise((r) => setTimeout(r, Number(process.env.NV_MEASURE)));
const u1 = process.resourceUsage();
const cpuUs = u1.userCPUTime + u1.systemCPUTime - u0.userCPUTime - u0.systemCPUTime;
process.stdout.write(JSON.stringify({ cpuMs: cpuUs / 1000, wallMs: performance.now() - t0, samples: samples - s0 }) + '\\n');
monitor?.stop();
for (const s of sockets) s.close();
clearInterval(keepAlive);
`;

interface ChildResult {
  cpuMs: number;
  wallMs: number;
  samples: number;
}

function runChild(mode: 'idle' | 'fixed' | 'fast'): Promise<ChildResult> {
  const interval = mode === 'fast' ? FAST_INTERVAL_MS : 3_600_000;
  const env = {
    ...process.env,
    NV_MODE: mode,
    NV_INTERVAL: String(interval),
    NV_MONITOR: new URL('../src/monitor/index.js', import.meta.url).href,
    NV_LOG: new URL('../src/log.js', import.meta.url).href,
    NV_WARMUP: String(WARMUP_MS),
    NV_MEASURE: String(MEASURE_MS),
  };
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const guard = setTimeout(() => p.kill('SIGKILL'), MEASURE_MS + WARMUP_MS + 15_000);
    p.on('exit', (code) => {
      clearTimeout(guard);
      if (code !== 0) return reject(new Error(`bench child ${mode} exited ${code}: ${err}`));
      resolve(JSON.parse(out.trim()) as ChildResult);
    });
  });
}

function verdictForCost(): { fast: number; old: number; call: number } {
  const m = createMonitor(monitorConfigSchema.parse({ recover_after: 0 }), { emit: () => {}, log: createLogger('silent') });
  const now = Date.now();
  const N = 2_000_000;
  const time = (f: (i: number) => unknown): number => {
    let sink = 0;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) if (f(i)) sink++;
    const ns = ((performance.now() - t0) * 1e6) / N;
    if (sink < 0) throw new Error('unreachable');
    return ns;
  };
  const noop = (i: number): { verdict: string } => ({ verdict: i >= 0 ? 'ok' : 'x' });
  const call = time((i) => noop(i).verdict);
  const fast = time((i) => m.verdictFor(now + (i & 1023), now + (i & 1023) + 10).verdict);
  // Windows reaching before the monitor started: the slow path (cached per repeated window).
  const old = time((i) => m.verdictFor(now - 60_000 - (i & 1023), now).verdict);
  return { fast, old, call };
}

export default async function (): Promise<BenchResult[]> {
  const [idle, fixed, fast] = await Promise.all([runChild('idle'), runChild('fixed'), runChild('fast')]);
  const perMin = (r: ChildResult): number => (r.cpuMs / r.wallMs) * 60_000;
  const fixedPerMin = Math.max(0, perMin(fixed) - perMin(idle));
  const perSampleMs = fast.samples > 0 ? Math.max(0, fast.cpuMs - fixed.cpuMs * (fast.wallMs / fixed.wallMs)) / fast.samples : NaN;
  const at5s = fixedPerMin + 12 * perSampleMs;
  const v = verdictForCost();
  return [
    {
      name: 'monitor CPU per minute at 5 s interval',
      value: at5s,
      unit: 'ms CPU/min',
      baseline: { name: 'idle node process', value: perMin(idle) },
      note: `${((at5s / 60_000) * 100).toFixed(3)} % of a core (aim < 0.5 %); fixed ${fixedPerMin.toFixed(1)} ms/min + 12 x ${perSampleMs.toFixed(3)} ms/sample`,
    },
    {
      name: 'monitor CPU per sample',
      value: perSampleMs,
      unit: 'ms',
      note: `${fast.samples} samples at ${FAST_INTERVAL_MS} ms over ${(fast.wallMs / 1000).toFixed(1)} s, 3 watched sockets`,
    },
    { name: 'verdictFor, window in current verdict', value: v.fast, unit: 'ns/call', baseline: { name: 'allocating no-op call', value: v.call } },
    { name: 'verdictFor, window older than history', value: v.old, unit: 'ns/call', baseline: { name: 'allocating no-op call', value: v.call } },
  ];
}
