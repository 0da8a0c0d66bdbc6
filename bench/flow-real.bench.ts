/**
 * End to end on REAL exporters' datagrams (issue 12): softflowd 1.1 (NetFlow v5/v9/IPFIX) and
 * pmacctd (nfprobe v9/IPFIX, sfprobe sFlow v5) meter a synthesised traffic mix (flow-e2e/traffic.ts:
 * 20,000 conversations, TCP/UDP/ICMP, 1 in 16 over IPv6, seeded) and their exports are captured on
 * loopback (flow-e2e/exporters.ts; built into a cache directory, never committed). Each capture is
 * replayed in a ring, at fixed rates, to netvigil, pmacct (nfacctd/sfacctd) and nfdump
 * (nfcapd/sfcapd) in the same run, sender pinned to core 1, receivers to core 0, one SO_RCVBUF for
 * all. Per receiver: the highest loss-free rate (search.ts), then CPU µs per datagram at a fixed
 * rate, resident memory, and netvigil's event-loop delay (p99, max). A second mix gives every
 * conversation its own client (1 M distinct hosts), and the generated datagrams of flow-e2e
 * run through the same receivers as the last, secondary row.
 *
 * `npm run bench -- flow-real` (~20 min); `npm run bench -- flow-real --quick` (a smoke test, < 1 min
 * once the captures are cached). Environment: FLOW_REAL_EXPORTERS (all of exporters.ts),
 * FLOW_REAL_CONVERSATIONS (20000), FLOW_REAL_SEED (1), FLOW_REAL_HOSTS (1000000; 0 skips that mix),
 * FLOW_REAL_HOSTS_EXPORTERS (softflowd-v9), FLOW_REAL_GENERATED (v9; empty skips), FLOW_REAL_RATE
 * (fixed rate, 20000 datagrams/s), FLOW_REAL_CACHE (capture directory), and flow-e2e's
 * FLOW_E2E_STEPS / SECONDS / MIN_RATE / MAX_RATE / BURST / NICE / COLLECTOR / VERBOSE, and FLOW_E2E_STALLS
 * (ms: each event-loop pause over it attributed to the host or to a task of ours, flow-e2e/stalls.ts).
 */
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flowConfigSchema } from '../collectors/flow/config.js';
import { readRmemMax } from '../collectors/flow/listener.js';
import { memoryBound } from '../collectors/flow/membound.js';
import { buildCaptures, EXPORTERS, type BuiltCapture, type Exporter, type Mix } from './flow-e2e/exporters.js';
import { PinnedChild, type LoopDelay, type SendDone, type SendRun } from './flow-e2e/ipc.js';
import { searchAll, type SearchResult } from './flow-e2e/search.js';
import { netvigilTarget, nfdumpTarget, pmacctTarget, trial, type Measured, type Target } from './flow-e2e/targets.js';
import { stallSummary } from './flow-e2e/stalls.js';
import type { BenchResult } from './types.js';

const here = join(dirname(fileURLToPath(import.meta.url)), 'flow-e2e');
const QUICK = process.argv.includes('--quick');
const env = (k: string, d: number, quick: number): number => {
  const v = Number(process.env[k]);
  return Number.isFinite(v) && v >= 0 && process.env[k] !== undefined && process.env[k] !== '' ? v : QUICK ? quick : d;
};
const list = (k: string, d: string, quick: string): string[] => (process.env[k] ?? (QUICK ? quick : d)).split(',').filter(Boolean);
const STEPS = env('FLOW_E2E_STEPS', 7, 2);
const SECONDS = env('FLOW_E2E_SECONDS', 1, 0.5);
const MAX_RATE = env('FLOW_E2E_MAX_RATE', 400_000, 400_000);
const MIN_RATE = env('FLOW_E2E_MIN_RATE', 2000, 2000);
const BURST = env('FLOW_E2E_BURST', 32, 32);
const RATE = env('FLOW_REAL_RATE', 20_000, 5000);
const FIXED_SECONDS = QUICK ? 0.5 : 3;
const WARMUP = QUICK ? 3000 : 15_000;
const RCVBUF = 32 * 1024 * 1024;
const SEED = env('FLOW_REAL_SEED', 1, 1);

interface Input {
  label: string;
  protocol: SendRun['protocol'];
  capture?: string;
  nfdump: 'nfcapd' | 'sfcapd';
  pmacct: 'nfacctd' | 'sfacctd';
  describe: string;
  /** Flow records (or samples) per datagram, over the whole ring. */
  perDatagram: number;
}

function input(c: BuiltCapture, mix: Mix): Input {
  const s = c.stats;
  const sflow = s.protocol === 'sflow';
  const v6 = ((100 * s.ipv6Records) / Math.max(1, s.records)).toFixed(1);
  const what = `${mix.kind === 'hosts' ? `${mix.conversations} hosts` : `${mix.conversations} conversations`}, seed ${mix.seed}: ${s.datagrams} datagrams, ${s.records} ${sflow ? 'samples' : 'records'} (${v6}% IPv6${s.optionRecords ? `, ${s.optionRecords} options records` : ''}), ${(s.records / s.datagrams).toFixed(1)}/datagram`;
  return { label: `${c.exporter}${mix.kind === 'hosts' ? ` (${mix.conversations / 1e6} M hosts)` : ''}`, protocol: sflow ? 'sflow' : 'v9', capture: c.file, nfdump: sflow ? 'sfcapd' : 'nfcapd', pmacct: sflow ? 'sfacctd' : 'nfacctd', describe: what, perDatagram: s.records / s.datagrams };
}

function exporters(k: string, d: string, quick: string): Exporter[] {
  const names = list(k, d, quick);
  const bad = names.filter((n) => !(EXPORTERS as readonly string[]).includes(n));
  if (bad.length) throw new Error(`${k}: unknown exporter ${bad.join(', ')} (known: ${EXPORTERS.join(', ')})`);
  return names as Exporter[];
}

const fmtRate = (r: SearchResult): string => (r.rate === 0 ? 'no loss-free rate' : r.senderBound ? `>= ${Math.round(r.rate)} (sender-bound)` : `${Math.round(r.rate)}, lost at ${Math.round(r.failedAt)}`);

/** Receivers alive now: stopped by PID on SIGINT/SIGTERM, so no pmacct or nfcapd outlives the bench. */
const live = new Set<Target>();
const onSignal = (): void => {
  void Promise.all([...live].map((t) => t.close())).finally(() => process.exit(130));
};

async function runInput(sender: PinnedChild, inp: Input): Promise<BenchResult[]> {
  const send = async (r: Omit<SendRun, 'type' | 'burst'>): Promise<SendDone> => (await sender.request({ type: 'send', burst: BURST, ...r }, 120_000)) as SendDone;
  const targets: Target[] = [];
  const add = (t: Target): void => void (targets.push(t), live.add(t));
  try {
    add(await netvigilTarget(here, process.env['FLOW_E2E_COLLECTOR'] ?? '{}'));
    add(await pmacctTarget(inp.pmacct, RCVBUF, send, inp.capture, inp.protocol));
    add(nfdumpTarget(inp.nfdump, RCVBUF));
    const everyone = (): number[] => targets.flatMap((t) => t.pids());
    // warm-up, not counted: a fresh Node receiver compiles its hot path during its first thousands
    // of datagrams; pmacct's tail is pushed through so it does not count in the first trial
    for (const t of targets.filter((x) => x.resume)) {
      await send({ protocol: inp.protocol, capture: inp.capture, port: t.port(), source: '127.0.0.1', count: WARMUP, rate: 10_000, resume: true });
      await t.afterRun?.();
    }
    await targets[0]?.loop?.();
    const runOne = (t: Target) => async (rate: number) => trial(t, send, { capture: inp.capture, protocol: inp.protocol, rate, count: Math.max(100, Math.round(rate * SECONDS)) }, everyone);
    const found = await searchAll(targets.map(runOne), { lo: MIN_RATE, hi: MAX_RATE, steps: STEPS });
    const searchLoop = await targets[0]?.loop?.();
    // fixed rate: CPU per datagram, memory, loop delay
    const fixed: Measured[] = [];
    for (const t of targets) fixed.push(await trial(t, send, { capture: inp.capture, protocol: inp.protocol, rate: RATE, count: RATE * FIXED_SECONDS }, everyone));
    const fixedLoop = await targets[0]?.loop?.();
    return rows(inp, found, fixed, searchLoop, fixedLoop);
  } finally {
    for (const t of targets) {
      await t.close();
      live.delete(t);
    }
  }
}

function rows(inp: Input, found: SearchResult[], fixed: Measured[], searchLoop: LoopDelay | undefined, fixedLoop: LoopDelay | undefined): BenchResult[] {
  const [nv, pm, nf] = found as [SearchResult, SearchResult, SearchResult];
  const perDgram = (r: SearchResult): string => `${((r.rate * inp.perDatagram) / 1e3).toFixed(0)} k records/s`;
  const at = (m: Measured | undefined): string => (m ? `${m.cpuUsPerDatagram.toFixed(1)} µs CPU/datagram at ${RATE}/s${m.ok ? '' : ` (LOSSY: ${m.detail})`}, RSS ${(m.rss / 2 ** 20).toFixed(0)} MiB` : '');
  const unit = 'datagrams/s loss-free';
  // the receiver's config (defaults unless FLOW_E2E_COLLECTOR says otherwise) bounds its memory
  const bound = memoryBound(flowConfigSchema.parse(JSON.parse(process.env['FLOW_E2E_COLLECTOR'] ?? '{}')));
  const rss = (m: Measured | undefined): string => (m ? `memory bound of its config ${(bound.total / 2 ** 20).toFixed(0)} MiB (membound.ts)` : '');
  const loop = (l: LoopDelay | undefined, what: string): string => (l ? `event loop ${what} p99 ${l.p99.toFixed(1)} ms max ${l.max.toFixed(1)} ms (longest GC ${l.gcMax.toFixed(1)} ms ${l.gcMaxKind}, ${l.gcOver10} over 10 ms)${l.stalls ? `, ${stallSummary(l.stalls)}` : ''}` : '');
  const out: BenchResult[] = [
    { name: `${inp.label} netvigil`, value: nv.rate, unit, baseline: { name: inp.pmacct, value: pm.rate }, note: [perDgram(nv), fmtRate(nv), at(fixed[0]), rss(fixed[0]), loop(fixedLoop, `at ${RATE}/s`), loop(searchLoop, 'over the search')].join('; ') },
    { name: `${inp.label} netvigil vs ${inp.nfdump}`, value: nv.rate, unit, baseline: { name: inp.nfdump, value: nf.rate } },
    { name: `${inp.label} ${inp.pmacct}`, value: pm.rate, unit, note: [perDgram(pm), fmtRate(pm), at(fixed[1])].join('; ') },
    { name: `${inp.label} ${inp.nfdump}`, value: nf.rate, unit, note: [perDgram(nf), fmtRate(nf), at(fixed[2])].join('; ') },
    { name: `${inp.label} input`, value: 0, unit: '', note: inp.describe },
  ];
  if (process.env['FLOW_E2E_VERBOSE']) {
    found.forEach((r, i) => {
      for (const t of r.trials) process.stdout.write(`  ${inp.label} ${['netvigil', inp.pmacct, inp.nfdump][i]}: ${t}\n`);
    });
  }
  return out;
}

export default async function run(): Promise<BenchResult[]> {
  const log = (s: string): void => void process.stdout.write(`  ${s}\n`);
  const load0 = loadavg()[0]?.toFixed(2) ?? '?';
  const wanted = exporters('FLOW_REAL_EXPORTERS', EXPORTERS.join(','), 'softflowd-v9,sfprobe-sflow');
  const main: Mix = { kind: 'mix', conversations: env('FLOW_REAL_CONVERSATIONS', 20_000, 2000), seed: SEED };
  const inputs: Input[] = (await buildCaptures(main, wanted, log)).map((c) => input(c, main));
  const hosts = env('FLOW_REAL_HOSTS', 1_000_000, 0);
  if (hosts > 0) {
    const m: Mix = { kind: 'hosts', conversations: hosts, seed: SEED };
    for (const c of await buildCaptures(m, exporters('FLOW_REAL_HOSTS_EXPORTERS', 'softflowd-v9', ''), log)) inputs.push(input(c, m));
  }
  for (const g of list('FLOW_REAL_GENERATED', 'v9', '')) {
    const sflow = g === 'sflow';
    inputs.push({ label: `generated ${g} (flow-e2e/datagrams.ts)`, protocol: g as SendRun['protocol'], nfdump: sflow ? 'sfcapd' : 'nfcapd', pmacct: sflow ? 'sfacctd' : 'nfacctd', describe: `generated: a ring of 1024 datagrams of ${sflow ? '7 samples' : '30 records'}`, perDatagram: sflow ? 7 : 30 });
  }
  const sender = new PinnedChild(1, join(here, 'sender.js'), []);
  const out: BenchResult[] = [];
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    const ready = await sender.next();
    if (ready.type !== 'ready') throw new Error(`sender did not start: ${JSON.stringify(ready)}`);
    for (const inp of inputs) {
      log(`${inp.label}: ${inp.describe}`);
      out.push(...(await runInput(sender, inp)));
    }
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await sender.close();
  }
  const load = loadavg()[0]?.toFixed(2) ?? '?';
  out.push({ name: 'setup', value: STEPS, unit: 'trials per receiver', note: `${SECONDS}s each, fixed rate ${RATE}/s for ${FIXED_SECONDS}s, sender on core 1, receivers on core 0, SO_RCVBUF asked ${RCVBUF >> 20} MiB, rmem_max ${readRmemMax() ?? '?'} B, load average ${load0} before / ${load} after` });
  return out;
}
