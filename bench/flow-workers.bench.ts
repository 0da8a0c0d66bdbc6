/**
 * How the flow collector's loss-free rate scales with `workers` (collectors/flow/workers.ts) on
 * REAL exporters' datagrams: the flow-real bench's captures of softflowd 1.1 (NetFlow v9) and
 * pmacctd's sfprobe (sFlow v5) metering its 20,000-conversation mix (flow-e2e/exporters.ts, built
 * into the cache when missing), replayed in a ring at searched rates to one receiver per setting
 * (`workers: 0`, 1, 2), searched in lockstep so a noisy moment hits all of them. The capture is
 * sent by two exporters at once (127.0.0.1 and 127.0.0.2, two sender processes, half the rate
 * each), which the collector's hash gives to different workers (shard.ts): with one exporter all
 * its state, and so all its work, is in one worker.
 *
 * Every receiver may run on cores 0-1 (a worker needs a core the main thread is not on), the sender
 * on core 1: on a 2-vCPU machine the sender competes with the workers, so the figures are a floor.
 *
 * `npm run bench -- flow-workers` (~10 min), `-- flow-workers --quick` (smoke test). Environment:
 * FLOW_WORKERS (0,1,2), FLOW_WORKERS_EXPORTERS (softflowd-v9,sfprobe-sflow), FLOW_REAL_CONVERSATIONS
 * (20000), FLOW_REAL_SEED (1), FLOW_REAL_CACHE, FLOW_E2E_STEPS / SECONDS / MIN_RATE / MAX_RATE / BURST.
 */
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCaptures, EXPORTERS, type Exporter, type Mix } from './flow-e2e/exporters.js';
import { PinnedChild, type SendDone, type SendRun } from './flow-e2e/ipc.js';
import { searchAll, type SearchResult } from './flow-e2e/search.js';
import { netvigilTarget, trial, type Target } from './flow-e2e/targets.js';
import type { BenchResult } from './types.js';

const here = join(dirname(fileURLToPath(import.meta.url)), 'flow-e2e');
const QUICK = process.argv.includes('--quick');
const num = (k: string, d: number, quick: number): number => {
  const v = Number(process.env[k]);
  return process.env[k] !== undefined && process.env[k] !== '' && Number.isFinite(v) && v >= 0 ? v : QUICK ? quick : d;
};
const STEPS = num('FLOW_E2E_STEPS', 7, 2);
const SECONDS = num('FLOW_E2E_SECONDS', 1, 0.5);
const MIN_RATE = num('FLOW_E2E_MIN_RATE', 2000, 2000);
const MAX_RATE = num('FLOW_E2E_MAX_RATE', 400_000, 400_000);
const BURST = num('FLOW_E2E_BURST', 32, 32);
const WARMUP = QUICK ? 3000 : 15_000;
const RECEIVER_CORES = '0-1';
const SENDER_CORE = 1;
const SOURCES = ['127.0.0.1', '127.0.0.2'];

const fmt = (r: SearchResult): string => (r.rate === 0 ? 'no loss-free rate' : r.senderBound ? `>= ${Math.round(r.rate)} (sender-bound)` : `${Math.round(r.rate)}, lost at ${Math.round(r.failedAt)}`);

export default async function run(): Promise<BenchResult[]> {
  const log = (s: string): void => void process.stdout.write(`  ${s}\n`);
  const load0 = loadavg()[0]?.toFixed(2) ?? '?';
  const counts = (process.env['FLOW_WORKERS'] ?? '0,1,2').split(',').map(Number);
  const wanted = (process.env['FLOW_WORKERS_EXPORTERS'] ?? 'softflowd-v9,sfprobe-sflow').split(',').filter(Boolean);
  const bad = wanted.filter((e) => !(EXPORTERS as readonly string[]).includes(e));
  if (bad.length) throw new Error(`FLOW_WORKERS_EXPORTERS: unknown ${bad.join(', ')}`);
  const mix: Mix = { kind: 'mix', conversations: num('FLOW_REAL_CONVERSATIONS', 20_000, 2000), seed: num('FLOW_REAL_SEED', 1, 1) };
  const caps = await buildCaptures(mix, wanted as Exporter[], log);
  const senders: PinnedChild[] = [];
  const out: BenchResult[] = [];
  const targets: Target[] = [];
  try {
    // one at a time: a child's `ready` that comes before anyone waits for it is not kept
    for (const _ of SOURCES) {
      const sender = new PinnedChild(SENDER_CORE, join(here, 'sender.js'), []);
      senders.push(sender);
      const ready = await sender.next();
      if (ready.type !== 'ready') throw new Error(`sender did not start: ${JSON.stringify(ready)}`);
    }
    // one run of the trial: each exporter sends its half at half the rate, both at once
    const send = async (r: Omit<SendRun, 'type' | 'burst'>): Promise<SendDone> => {
      const half = (i: number): Promise<SendDone> =>
        senders[i]?.request({ type: 'send', burst: BURST, ...r, source: SOURCES[i] as string, rate: r.rate / 2, count: i === 0 ? Math.ceil(r.count / 2) : Math.floor(r.count / 2) }, 120_000) as Promise<SendDone>;
      const done = await Promise.all(SOURCES.map((_, i) => half(i)));
      const sum = (k: 'sent' | 'records' | 'packets' | 'rate'): number => done.reduce((n, d) => n + d[k], 0);
      return { type: 'sent', sent: sum('sent'), records: sum('records'), packets: sum('packets'), rate: sum('rate'), seconds: Math.max(...done.map((d) => d.seconds)) };
    };
    for (const cap of caps) {
      const protocol: SendRun['protocol'] = cap.stats.protocol === 'sflow' ? 'sflow' : 'v9';
      log(`${cap.exporter}: ${cap.stats.datagrams} datagrams, ${cap.stats.records} records`);
      try {
        for (const w of counts) targets.push(await netvigilTarget(here, JSON.stringify({ workers: w }), [], RECEIVER_CORES));
        const everyone = (): number[] => targets.flatMap((t) => t.pids());
        for (const t of targets) await send({ protocol, capture: cap.file, port: t.port(), source: '127.0.0.1', count: WARMUP, rate: 10_000, resume: true });
        const one = (t: Target) => (rate: number) => trial(t, send, { capture: cap.file, protocol, rate, count: Math.max(100, Math.round(rate * SECONDS)) }, everyone);
        const found = await searchAll(targets.map(one), { lo: MIN_RATE, hi: MAX_RATE, steps: STEPS });
        const base = found[0] as SearchResult;
        found.forEach((r, i) => {
          const res: BenchResult = { name: `${cap.exporter} workers: ${counts[i]}`, value: r.rate, unit: 'datagrams/s loss-free', note: fmt(r) };
          if (i > 0) res.baseline = { name: 'workers: 0', value: base.rate };
          out.push(res);
          if (process.env['FLOW_E2E_VERBOSE']) for (const t of r.trials) log(`${cap.exporter} workers ${counts[i]}: ${t}`);
        });
      } finally {
        for (const t of targets.splice(0)) await t.close();
      }
    }
  } finally {
    for (const sender of senders) await sender.close();
  }
  const load = loadavg()[0]?.toFixed(2) ?? '?';
  out.push({ name: 'setup', value: STEPS, unit: 'trials per receiver', note: `${SECONDS}s each, receivers on cores ${RECEIVER_CORES}, two senders (${SOURCES.join(', ')}) on core ${SENDER_CORE}, mix of ${mix.conversations} conversations seed ${mix.seed}, load average ${load0} before / ${load} after` });
  return out;
}
