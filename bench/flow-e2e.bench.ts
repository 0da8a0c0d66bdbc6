/**
 * End to end (issue 3): the highest datagram rate the flow collector receives, decodes and
 * aggregates with no loss, kernel drops included, next to two receivers of the same replay in the
 * same run: Debian's C collectors (nfacctd for v9/IPFIX, sfacctd for sFlow) and a count-only Node
 * dgram socket. Exports are generated here (flow-e2e/datagrams.ts) and sent by a child process
 * pinned to core 1; every receiver is pinned to core 0, so each has one core, as in production on a
 * 2-core VM. All traffic is 127.0.0.1, bounded by count and time.
 *
 * The collector runs twice: with its default config (exporter/in_if/out_if/proto aggregates plus
 * top talkers by source and destination) and with `top_by: []`, which aggregates exactly what the
 * pmacct config does (peer_src_ip, in_iface, out_iface, proto): the like-for-like comparison.
 *
 * Environment (all optional): FLOW_E2E_STEPS trials per receiver and protocol (7; ~1.5-2 min for all),
 * FLOW_E2E_SECONDS per trial (1), FLOW_E2E_MAX_RATE / FLOW_E2E_MIN_RATE search range in
 * datagrams/s (400000 / 2000), FLOW_E2E_BURST datagrams per send burst (32),
 * FLOW_E2E_PROTOCOLS (v9,ipfix,sflow), FLOW_E2E_NICE niceness of sender and receivers (0),
 * FLOW_E2E_COLLECTOR JSON merged over the flow collector's default config, FLOW_E2E_VERBOSE=1
 * prints every trial.
 */
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRmemMax } from '../collectors/flow/listener.js';
import { PROTOCOLS, buildReplay, runTotals, type Protocol } from './flow-e2e/datagrams.js';
import { PinnedChild, type Counts, type SendDone } from './flow-e2e/ipc.js';
import { FLUSH_DATAGRAMS, Pmacct } from './flow-e2e/pmacct.js';
import { udpSocketStats, waitQuiet } from './flow-e2e/procnet.js';
import { searchAll, type SearchResult, type TrialResult } from './flow-e2e/search.js';
import type { BenchResult } from './types.js';

const here = join(dirname(fileURLToPath(import.meta.url)), 'flow-e2e');
const env = (k: string, d: number): number => {
  const v = Number(process.env[k]);
  return Number.isFinite(v) && v > 0 ? v : d;
};
const STEPS = env('FLOW_E2E_STEPS', 7);
const SECONDS = env('FLOW_E2E_SECONDS', 1);
const MAX_RATE = env('FLOW_E2E_MAX_RATE', 400_000);
const MIN_RATE = env('FLOW_E2E_MIN_RATE', 2000);
const BURST = env('FLOW_E2E_BURST', 32);
const RCVBUF = 32 * 1024 * 1024;
const WARMUP = 15_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A receiver as the trial sees it: where to send, and a cumulative count of what it took in. */
interface Target {
  name: string;
  port: number;
  /** Cumulative units taken in (records for Node receivers, packets for pmacct) and decode errors. */
  taken(): Promise<{ units: number; errors: number }>;
  /** Units a run of `count` datagrams carries. */
  expected(count: number): number;
  /** Pushes what a receiver holds back out (pmacct's partly filled hand-over buffer). */
  afterRun?(): Promise<void>;
}

/** Polls until the receiver has everything or has stopped moving and its socket queue is empty. */
async function settle(t: Target, want: number): Promise<{ units: number; errors: number }> {
  let last = await t.taken();
  let still = 0;
  for (let i = 0; i < 40 && last.units < want; i++) {
    await sleep(100);
    const now = await t.taken();
    const queued = udpSocketStats(t.port)?.rxQueue ?? 0;
    still = now.units === last.units && queued === 0 ? still + 1 : 0;
    last = now;
    if (still >= 3) break;
  }
  return last;
}

function trialFor(sender: PinnedChild, protocol: Protocol, t: Target, receivers: () => number[]): (rate: number) => Promise<TrialResult> {
  return async (rate) => {
    const count = Math.max(100, Math.round(rate * SECONDS));
    // no receiver may still be busy with an earlier trial's backlog
    const waited = await waitQuiet(receivers(), 8000);
    const before = await t.taken();
    const drops0 = udpSocketStats(t.port)?.drops ?? 0;
    const done = (await sender.request({ type: 'send', protocol, port: t.port, source: '127.0.0.1', count, rate, burst: BURST }, 60_000)) as SendDone;
    await t.afterRun?.();
    const want = before.units + t.expected(count);
    const after = await settle(t, want);
    const drops = (udpSocketStats(t.port)?.drops ?? 0) - drops0;
    const missing = want - after.units;
    const errors = after.errors - before.errors;
    const ok = missing === 0 && drops === 0 && errors === 0;
    let detail = `missing ${missing} of ${t.expected(count)}, kernel drops ${drops}, decode errors ${errors}`;
    if (waited > 1000) detail += `; receivers were busy ${waited} ms before it`;
    return { ok, achieved: done.rate, detail };
  };
}

/** `config`: JSON merged over the flow collector's defaults (netvigil only). */
async function nodeReceiver(mode: 'netvigil' | 'count', recordsPer: number, config = '{}'): Promise<{ child: PinnedChild; target: Target }> {
  const child = new PinnedChild(0, join(here, 'receiver.js'), [mode, String(recordsPer), config]);
  const ready = await child.next();
  if (ready.type !== 'ready' || !ready.port) throw new Error(`${mode} receiver did not start: ${JSON.stringify(ready)}`);
  const target: Target = {
    name: mode,
    port: ready.port,
    taken: async () => {
      const c = (await child.request({ type: 'counts' })) as Counts;
      return { units: c.records, errors: c.errors };
    },
    expected: () => 0,
  };
  return { child, target };
}

interface Found {
  netvigil: SearchResult;
  /** The collector aggregating like the pmacct config does: no top-talker tables. */
  lean: SearchResult;
  pmacct: SearchResult;
  count: SearchResult;
}

function rows(protocol: Protocol, recordsPer: number, res: Found, daemon: string, note: string): BenchResult[] {
  const fmt = (r: SearchResult): string => (r.senderBound ? `>= ${Math.round(r.rate)} (sender-bound)` : `${Math.round(r.rate)}, lost at ${Math.round(r.failedAt)}`);
  const recs = (r: SearchResult): string => `${(r.rate * recordsPer / 1e6).toFixed(2)} M records/s`;
  const unit = 'datagrams/s loss-free';
  const pm = { name: daemon, value: res.pmacct.rate };
  const co = { name: 'count-only node socket', value: res.count.rate };
  const out: BenchResult[] = [
    { name: `${protocol} netvigil (default: + top talkers)`, value: res.netvigil.rate, unit, baseline: pm, note: `${recs(res.netvigil)}; ${fmt(res.netvigil)}; ${note}` },
    { name: `${protocol} netvigil (default) vs count-only`, value: res.netvigil.rate, unit, baseline: co },
    { name: `${protocol} netvigil (top_by: [], as pmacct aggregates)`, value: res.lean.rate, unit, baseline: pm, note: `${recs(res.lean)}; ${fmt(res.lean)}` },
    { name: `${protocol} netvigil (top_by: []) vs count-only`, value: res.lean.rate, unit, baseline: co },
    { name: `${protocol} ${daemon}`, value: res.pmacct.rate, unit, note: `${recs(res.pmacct)}; ${fmt(res.pmacct)}` },
    { name: `${protocol} count-only node socket`, value: res.count.rate, unit, note: fmt(res.count) },
  ];
  if (process.env['FLOW_E2E_VERBOSE']) {
    for (const [k, r] of Object.entries(res)) for (const t of r.trials) process.stdout.write(`  ${protocol} ${k}: ${t}\n`);
  }
  return out;
}

async function protocolRun(sender: PinnedChild, protocol: Protocol): Promise<BenchResult[]> {
  const replay = buildReplay(protocol);
  const daemon = protocol === 'sflow' ? 'sfacctd' : 'nfacctd';
  const started: PinnedChild[] = [];
  let pm: Pmacct | undefined;
  try {
    const nv = await nodeReceiver('netvigil', replay.recordsPer);
    started.push(nv.child);
    const lean = await nodeReceiver('netvigil', replay.recordsPer, JSON.stringify({ top_by: [] }));
    started.push(lean.child);
    const co = await nodeReceiver('count', replay.recordsPer);
    started.push(co.child);
    const p = (pm = await Pmacct.start(daemon, RCVBUF));
    nv.target.expected = lean.target.expected = (n) => runTotals(replay, n).records;
    co.target.expected = (n) => n * replay.recordsPer;
    const pmTarget: Target = {
      name: daemon,
      port: p.port,
      taken: async () => ({ units: await p.packets('127.0.0.1'), errors: p.missing }),
      expected: (n) => runTotals(replay, n).packets,
      // slowly, from the second exporter, whose packets are not counted
      afterRun: async () => void (await sender.request({ type: 'send', protocol, port: p.port, source: '127.0.0.2', count: FLUSH_DATAGRAMS, rate: 20_000, burst: BURST })),
    };
    const pids = (): number[] => [...started.map((c) => c.proc.pid), p.pid].filter((x): x is number => x !== undefined);
    const targets = [nv.target, lean.target, pmTarget, co.target];
    // warm-up, not counted: a fresh Node receiver runs its first thousands of datagrams through
    // the interpreter and the compiler, and the stall of that first trial (hundreds of kernel drops
    // at any rate) would otherwise be taken for its limit
    for (const t of targets) {
      await sender.request({ type: 'send', protocol, port: t.port, source: '127.0.0.1', count: WARMUP, rate: 10_000, burst: BURST }, 60_000);
      // pmacct: push the warm-up's tail through now, or it would count in the first trial
      await t.afterRun?.();
    }
    const found = await searchAll(targets.map((t) => trialFor(sender, protocol, t, pids)), { lo: MIN_RATE, hi: MAX_RATE, steps: STEPS });
    // stopping flushes the open interval: its flow_agg flows must add up to every record counted
    const notes: string[] = [];
    for (const c of [nv.child, lean.child]) {
      const fin = (await c.request({ type: 'stop' })) as Counts;
      if (fin.aggregated !== fin.records) notes.push(`AGGREGATE MISMATCH: ${fin.aggregated ?? 0} flows in flow_agg vs ${fin.records} records`);
    }
    const [a, b, c, d] = found as [SearchResult, SearchResult, SearchResult, SearchResult];
    return rows(protocol, replay.recordsPer, { netvigil: a, lean: b, pmacct: c, count: d }, daemon, notes.join('; ') || 'flow_agg flows == records decoded');
  } finally {
    await Promise.all([...started.map((c) => c.close()), pm?.stop()]);
  }
}

export default async function run(): Promise<BenchResult[]> {
  const wanted = (process.env['FLOW_E2E_PROTOCOLS'] ?? PROTOCOLS.join(',')).split(',');
  const protocols = PROTOCOLS.filter((p) => wanted.includes(p));
  // how busy the machine was with other work: the numbers are only comparable within one run
  const load0 = loadavg()[0]?.toFixed(2) ?? '?';
  const sender = new PinnedChild(1, join(here, 'sender.js'), []);
  const out: BenchResult[] = [];
  try {
    const ready = await sender.next();
    if (ready.type !== 'ready') throw new Error(`sender did not start: ${JSON.stringify(ready)}`);
    for (const p of protocols) out.push(...(await protocolRun(sender, p)));
  } finally {
    await sender.close();
  }
  const rmem = readRmemMax();
  const load = loadavg()[0]?.toFixed(2) ?? '?';
  out.push({ name: 'setup', value: STEPS, unit: 'trials per receiver', note: `${SECONDS}s each, sender on core 1, receivers on core 0, SO_RCVBUF asked ${RCVBUF >> 20} MiB, rmem_max ${rmem ?? '?'} B, load average ${load0} before / ${load} after` });
  return out;
}
