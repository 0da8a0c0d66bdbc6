/**
 * Scale-out over NATS JetStream (README "Scale-out", issue 15 item 5) on REAL exporters' datagrams:
 * softflowd's NetFlow v9 and pmacct sfprobe's sFlow v5 exports of flow-real's synthesised traffic
 * mix (flow-e2e/exporters.ts, cached), replayed by flow-e2e's sender pinned to core 1, to
 * `netvigil run` processes with a 1-node (or BUS_BENCH_NODES=3: R3) nats-server on loopback:
 *
 * (a) receiver: its highest loss-free rate onto the stream, by flow-e2e's rate search; a trial is
 *     loss-free when the receiver forwarded every datagram sent (`netvigil_bus` self-telemetry),
 *     dropped none from its buffer and the kernel dropped none on its socket;
 * (b) processor: started once the receiver's trials have filled the stream, its datagrams/s and
 *     records/s draining it (from its first decoded datagram to the last, /status.json);
 * (c) end to end at a fixed rate: CPU µs per datagram of receiver + processor + nats-server, next
 *     to a single `netvigil run` without a bus on the same datagrams; and the nats-server nodes'
 *     messages and bytes per datagram, and which streams took them (bus/natsstats.ts).
 *
 * `npm run bench -- bus` (~3 min once the captures are cached). Environment: BUS_BENCH_EXPORTERS
 * (softflowd-v9,sfprobe-sflow), BUS_BENCH_NODES (1), BUS_BENCH_RATE (fixed rate, 5000 datagrams/s),
 * BUS_BENCH_SECONDS (5, at the fixed rate), BUS_BENCH_STEPS (4 trials of 2 s), BUS_BENCH_MAX_RATE
 * (100000), BUS_BENCH_LOADED (1: label the run as loaded; it is when the load average is above 1
 * before it starts), FLOW_REAL_CACHE.
 */
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNats, type NatsCluster } from '../test/helpers/nats.js';
import { freeUdpPort, makeTmpDir } from '../test/helpers/net.js';
import { busTelemetry, flowCounts, startInstance, type BusSetup, type Instance } from './bus/instance.js';
import { natsCounts, perDatagram } from './bus/natsstats.js';
import { buildCaptures, EXPORTERS, type BuiltCapture, type Exporter } from './flow-e2e/exporters.js';
import { PinnedChild, type SendDone, type SendRun } from './flow-e2e/ipc.js';
import { treeCpu, udpSocketStats, waitQuiet } from './flow-e2e/procnet.js';
import { searchAll, type TrialResult } from './flow-e2e/search.js';
import type { BenchResult } from './types.js';

const here = join(dirname(fileURLToPath(import.meta.url)), 'flow-e2e');
const num = (k: string, d: number): number => {
  const v = Number(process.env[k]);
  return process.env[k] && Number.isFinite(v) && v > 0 ? v : d;
};
const NODES = num('BUS_BENCH_NODES', 1);
const RATE = num('BUS_BENCH_RATE', 5000);
const FIXED_SECONDS = num('BUS_BENCH_SECONDS', 5);
const STEPS = num('BUS_BENCH_STEPS', 4);
const MAX_RATE = num('BUS_BENCH_MAX_RATE', 100_000);
const TRIAL_SECONDS = 2;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** CPU jiffies (USER_HZ 100) to µs per datagram. */
const usPer = (jiffies: number, n: number): number => (jiffies * 10_000) / Math.max(1, n);

type Send = (r: Omit<SendRun, 'type' | 'burst' | 'source' | 'resume'>) => Promise<SendDone>;

/**
 * Until `read` reaches `want` or stops moving for `stillMs` (longer than the 1 s self-telemetry
 * interval where it is read from), 10 s at most; the last value.
 */
async function until(read: () => Promise<number>, want: number, maxMs = 10_000, stillMs = 2500): Promise<number> {
  const t0 = Date.now();
  let last = -1;
  let still = 0;
  for (;;) {
    const v = await read();
    if (v >= want || Date.now() - t0 > maxMs) return v;
    still = v === last ? still + 1 : 0;
    if (still * 200 >= stillMs) return v;
    last = v;
    await sleep(200);
  }
}

/** (a) One trial: `count` at `rate` to the receiver, judged by what it put on the bus. */
async function receiverTrial(r: Instance, send: Send, capture: BuiltCapture, rate: number): Promise<TrialResult & { cpu: number; sent: number }> {
  await waitQuiet([r.pid], 5000);
  // a second of telemetry after idle: the counters are those of every datagram so far
  await sleep(1100);
  const t0 = await busTelemetry(r, 'receiver');
  const drops0 = udpSocketStats(r.flowPort)?.drops ?? 0;
  const cpu0 = treeCpu([r.pid]);
  const done = await send({ protocol: capture.stats.protocol === 'sflow' ? 'sflow' : 'v9', capture: capture.file, port: r.flowPort, rate, count: Math.max(200, Math.round(rate * TRIAL_SECONDS)) });
  const got = await until(async () => ((await busTelemetry(r, 'receiver'))['datagrams'] ?? 0) - (t0['datagrams'] ?? 0), done.sent);
  await until(async () => ((await busTelemetry(r, 'receiver'))['queued_bytes'] ?? 1) === 0 ? 1 : 0, 1);
  const t1 = await busTelemetry(r, 'receiver');
  const cpu = treeCpu([r.pid]) - cpu0;
  const drops = (udpSocketStats(r.flowPort)?.drops ?? 0) - drops0;
  const dropped = (t1['dropped_datagrams'] ?? 0) - (t0['dropped_datagrams'] ?? 0);
  const ok = got === done.sent && drops === 0 && dropped === 0;
  return { ok, achieved: done.rate, detail: `forwarded ${got} of ${done.sent}, kernel drops ${drops}, dropped from the buffer ${dropped}`, cpu, sent: done.sent };
}

async function runCapture(base: string, sender: PinnedChild, capture: BuiltCapture, log: (s: string) => void): Promise<BenchResult[]> {
  const label = capture.exporter;
  const per = capture.stats.records / capture.stats.datagrams;
  const protocol = capture.stats.protocol === 'sflow' ? 'sflow' : 'v9';
  let nats: NatsCluster | undefined;
  const live: Instance[] = [];
  const start = async (name: string, roles: string[] | undefined, bus: BusSetup | undefined, port: number): Promise<Instance> => {
    const i = await startInstance(base, `${label}-${name}`, roles, bus, port);
    live.push(i);
    return i;
  };
  try {
    nats = await startNats(join(base, `nats-${label}`), NODES, { monitor: true });
    const natsPids = nats.nodes.map((d) => d.pid);
    const bus: BusSetup = { servers: nats.urls, stream: 'NVBENCH', replicas: NODES >= 3 ? 3 : 1 };
    const r = await start('receiver', ['receiver'], bus, await freeUdpPort());
    const send: Send = async (x) => (await sender.request({ type: 'send', burst: 32, source: '127.0.0.1', resume: true, ...x }, 120_000)) as SendDone;
    // (a) the receiver's loss-free rate; its trials fill the stream for (b)
    const [found] = await searchAll([async (rate) => receiverTrial(r, send, capture, rate)], { lo: 2000, hi: MAX_RATE, steps: STEPS });
    if (!found) throw new Error('no search result');
    const onStream = (await busTelemetry(r, 'receiver'))['datagrams'] ?? 0;
    log(`${label} receiver: ${found.trials.join('; ')}`);
    // (b) a processor started on the filled stream
    const p = await start('processor', ['processor'], bus, 0);
    const cpuP0 = treeCpu([p.pid]);
    let first: { t: number; n: number; rec: number } | undefined;
    let last = { t: Date.now(), n: 0, rec: 0 };
    // until it has all, and then nothing more for 2 s (the rate is over first to last change);
    // taking the partition can take seconds (an R3 consumer on a busy machine): not counted
    for (let still = 0, t0 = Date.now(); Date.now() - t0 < 120_000 && still < 20 && (still < 5 || last.n < onStream); ) {
      const c = await flowCounts(p);
      const now = Date.now();
      if (c.datagrams > 0 && !first) first = { t: now, n: c.datagrams, rec: c.records };
      still = first && c.datagrams === last.n ? still + 1 : 0;
      if (c.datagrams !== last.n) last = { t: now, n: c.datagrams, rec: c.records };
      await sleep(100);
    }
    const cpuDrain = treeCpu([p.pid]) - cpuP0;
    if (!first) throw new Error(`${label}: the processor decoded nothing from the stream in 120 s\n${p.daemon.output().slice(-3000)}`);
    const drained = first && last.t > first.t ? (last.n - first.n) / ((last.t - first.t) / 1000) : 0;
    const drainedRec = first && last.t > first.t ? (last.rec - first.rec) / ((last.t - first.t) / 1000) : 0;
    // (c) fixed rate through receiver, NATS and processor; then a single process on the same
    const pids = [r.pid, p.pid, ...natsPids];
    // counted outside the CPU window: the count itself is a connection and API calls to the nodes
    const counts0 = await natsCounts(nats.urls, nats.monitorUrls);
    await waitQuiet(pids, 8000);
    // the nodes' CPU with no traffic (raft heartbeats, timers), per second: (c) runs over windows of
    // different lengths (the waits below end when work ends), so the idle part is said apart
    const idle0 = treeCpu(natsPids);
    const idleT0 = performance.now();
    await sleep(3000);
    const idlePerMs = (treeCpu(natsPids) - idle0) / (performance.now() - idleT0);
    const before = await flowCounts(p);
    const cpu0 = pids.map((x) => treeCpu([x]));
    const windowT0 = performance.now();
    const drops0 = udpSocketStats(r.flowPort)?.drops ?? 0;
    const done = await send({ protocol, capture: capture.file, port: r.flowPort, rate: RATE, count: RATE * FIXED_SECONDS });
    const after = await until(async () => (await flowCounts(p)).datagrams - before.datagrams, done.sent, 30_000, 1000);
    await waitQuiet(pids, 5000);
    const cpu = pids.map((x, k) => treeCpu([x]) - (cpu0[k] ?? 0));
    const windowMs = performance.now() - windowT0;
    const natsIdle = idlePerMs * windowMs;
    const natsNote = `${perDatagram(counts0, await natsCounts(nats.urls, nats.monitorUrls), done.sent)}; nodes idle ${(idlePerMs * 10_000).toFixed(1)} ms CPU/s, ${usPer(natsIdle, done.sent).toFixed(1)} µs/datagram of the ${(windowMs / 1000).toFixed(1)} s window`;
    log(`${label} ${natsNote}`);
    const drops = (udpSocketStats(r.flowPort)?.drops ?? 0) - drops0;
    const [cr = 0, cp = 0, ...cn] = cpu;
    const cnats = cn.reduce((a, b) => a + b, 0);
    const single = await start('single', undefined, undefined, await freeUdpPort());
    const s0 = await flowCounts(single);
    const sc0 = treeCpu([single.pid]);
    const sdone = await send({ protocol, capture: capture.file, port: single.flowPort, rate: RATE, count: RATE * FIXED_SECONDS });
    const sgot = await until(async () => (await flowCounts(single)).datagrams - s0.datagrams, sdone.sent, 10_000, 1000);
    await waitQuiet([single.pid], 5000);
    const sc = treeCpu([single.pid]) - sc0;
    const n = done.sent;
    const busTotal = usPer(cr + cp + cnats, n);
    const lossNote = (got: number, sent: number, kernel?: number): string => (got === sent ? 'every datagram decoded' : `LOSSY: ${got} of ${sent} decoded${kernel ? `, ${kernel} dropped by the kernel on the receiver's socket` : ''}`);
    const unitA = 'datagrams/s loss-free onto the stream';
    return [
      { name: `${label} receiver`, value: found.rate, unit: unitA, note: `${((found.rate * per) / 1e3).toFixed(0)} k records/s; ${found.rate === 0 ? 'none loss-free' : found.senderBound ? 'sender-bound' : found.failedAt === Infinity ? 'no loss at a rate the sender reached' : `lost at ${Math.round(found.failedAt)}`}` },
      { name: `${label} processor draining`, value: drained, unit: 'datagrams/s', note: `${(drainedRec / 1e3).toFixed(0)} k records/s; ${last.n} of ${onStream} datagrams on the stream, ${usPer(cpuDrain, last.n).toFixed(1)} µs CPU/datagram` },
      { name: `${label} bus end to end`, value: busTotal, unit: `µs CPU/datagram at ${RATE}/s`, baseline: { name: 'single netvigil run', value: usPer(sc, sdone.sent) }, note: `receiver ${usPer(cr, n).toFixed(1)} + processor ${usPer(cp, n).toFixed(1)} + nats-server ${usPer(cnats, n).toFixed(1)}; bus ${lossNote(after, n, drops)}, single ${lossNote(sgot, sdone.sent)}` },
      { name: `${label} nats-server work`, value: 0, unit: '', note: natsNote },
      { name: `${label} input`, value: 0, unit: '', note: `${capture.stats.datagrams} datagrams, ${capture.stats.records} ${protocol === 'sflow' ? 'samples' : 'records'} (${per.toFixed(1)}/datagram), replayed in a ring from 127.0.0.1 (one exporter: one partition)` },
    ];
  } finally {
    for (const i of live) await i.stop();
    await nats?.stop();
  }
}

export default async function run(): Promise<BenchResult[]> {
  const log = (s: string): void => void process.stdout.write(`  ${s}\n`);
  const load0 = loadavg()[0] ?? 0;
  // a 1-minute load above 1 before the bench starts is other work sharing these 2 cores
  const loaded = process.env['BUS_BENCH_LOADED'] === '1' || load0 > 1;
  const names = (process.env['BUS_BENCH_EXPORTERS'] ?? 'softflowd-v9,sfprobe-sflow').split(',').filter(Boolean);
  const bad = names.filter((n) => !(EXPORTERS as readonly string[]).includes(n));
  if (bad.length) throw new Error(`BUS_BENCH_EXPORTERS: unknown exporter ${bad.join(', ')}`);
  // flow-real's default mix: its cached captures are reused
  const captures = await buildCaptures({ kind: 'mix', conversations: 20_000, seed: 1 }, names as Exporter[], log);
  const tmp = await makeTmpDir('netvigil-bus-bench-');
  const sender = new PinnedChild(1, join(here, 'sender.js'), []);
  const out: BenchResult[] = [];
  try {
    const ready = await sender.next();
    if (ready.type !== 'ready') throw new Error(`sender did not start: ${JSON.stringify(ready)}`);
    for (const c of captures) out.push(...(await runCapture(tmp.dir, sender, c, log)));
  } finally {
    await sender.close();
    await tmp.cleanup();
  }
  const load = loadavg()[0]?.toFixed(2) ?? '?';
  out.push({
    name: 'setup',
    value: NODES,
    unit: `nats-server node(s) ${NODES >= 3 ? '(R3)' : '(R1)'}`,
    note: `${loaded ? 'LOADED MACHINE (other work running): the figures only show the bench works; ' : ''}one run; receiver search ${STEPS} trials of ${TRIAL_SECONDS}s, fixed rate ${RATE}/s for ${FIXED_SECONDS}s; sender on core 1, netvigil and nats-server unpinned; load average ${load0.toFixed(2)} before / ${load} after`,
  });
  return out;
}
