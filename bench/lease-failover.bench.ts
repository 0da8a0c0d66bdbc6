/**
 * How long the loss of one node of a 3-node NATS cluster stops lease renewals, and which `lease_ttl`
 * rides it out (README config table, `bus.nats.lease_ttl`, and its default in src/bus/config.ts).
 *
 * Per run, on a fresh set of connections: for every TTL in LEASE_BENCH_TTLS and every node, one
 * holder connected to that node holds one lease as a processor does (LeaseTable renewing every
 * sixth of the TTL, a refused renewal sent again until the next is due; LeaseProof on the monotonic
 * clock, fence.ts), and one probe per node puts
 * a key every 100 ms (each put on its own, so one that hangs does not hold the next back). Once all
 * renew, the leader of the leases bucket (R3) is SIGKILLed. Measured:
 * - outage: from the kill to the send of the first put that then succeeded, per node's probe;
 * - proof age: the oldest a holder's proof got before a renewal was accepted again; a holder fences
 *   itself (a processor would drop its open interval, fence.ts) once it reaches two thirds of the TTL.
 * The node is then started again and the next run waits for the bucket to have 3 current replicas.
 *
 * `npm run bench -- lease-failover` (~1 min a run). Environment: LEASE_BENCH_RUNS (5),
 * LEASE_BENCH_TTLS (6000,10000,16000). Prints the load average at each kill: the outage is nats-
 * server's election timing plus what a loaded machine adds to it.
 */
import { loadavg } from 'node:os';
import { connect, type NatsConnection } from 'nats';
import { LeaseProof } from '../src/bus/fence.js';
import { busSchema } from '../src/bus/config.js';
import { LeaseTable } from '../src/bus/leases.js';
import { NatsBus } from '../src/bus/nats.js';
import { createLogger } from '../src/log.js';
import { startNats, type NatsCluster } from '../test/helpers/nats.js';
import { makeTmpDir, waitFor } from '../test/helpers/net.js';
import type { BenchResult } from './types.js';

const RUNS = Number(process.env['LEASE_BENCH_RUNS'] ?? 5) || 5;
const TTLS = (process.env['LEASE_BENCH_TTLS'] ?? '6000,10000,16000').split(',').map(Number).filter((n) => n >= 600);
const STREAM = 'NVLEASE';
const BUCKET = `${STREAM}_leases`;
const PROBE_EVERY_MS = 100;
/** Longest wait after a kill for every probe and holder to have written again (the 16 s TTL renews every 5.3 s). */
const WATCH_MS = 45_000;
const log = createLogger('silent');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cfg = (url: string) => busSchema.parse({ nats: { servers: [url], stream: STREAM, replicas: 3, partitions: 1 } }).nats;

/** The proof lapsed before this renewal was accepted (fence.ts LeaseProof.holds). */
const lapsed = (ttl: number, age: number): boolean => Number.isFinite(age) && age >= ttl - new LeaseProof(ttl).marginMs;

interface Holder {
  ttl: number;
  node: number;
  bus: NatsBus;
  table: LeaseTable;
  proof: LeaseProof;
  /** Monotonic send times of the accepted writes, and the proof's age when each was accepted. */
  accepted: { sent: number; age: number }[];
  fencedAt?: number;
  stop(): Promise<void>;
}

async function holder(url: string, ttl: number, node: number, run: number): Promise<Holder> {
  const bus = await NatsBus.open(cfg(url), `lease-bench-${ttl}-n${node}`, log);
  const proof = new LeaseProof(ttl);
  // a unit of its own per run: the last run's holder on the killed node may not have deleted its key
  const unit = `r${run}t${ttl}n${node}`;
  const accepted: Holder['accepted'] = [];
  const table = await LeaseTable.open(bus, BUCKET, {
    owner: unit,
    ttlMs: ttl,
    unit: 'part',
    member: 'member',
    expireMs: 0,
    renewEveryMs: Math.max(200, Math.floor(ttl / 6)), // as processor.ts
    log,
    proof: {
      now: () => proof.now(),
      renewed: (_u, sent) => {
        accepted.push({ sent, age: proof.age(0) });
        proof.renewed(0, sent);
      },
    },
  });
  await table.acquire([unit], 1, Date.now() + 10_000, async () => {}, () => false);
  if (!table.has(unit)) throw new Error(`lease ${unit} not taken`);
  const h: Holder = { ttl, node, bus, table, proof, accepted, stop: async () => {} };
  let renewing: Promise<void> = Promise.resolve();
  // as processor.ts: renewals chained; the fence checked as often as a busy processor does
  const renew = setInterval(() => (renewing = renewing.then(() => table.renew(async () => {})).catch(() => {})), table.renewEvery);
  // a lapse shorter than this check's period is caught by the age at the next accepted renewal (lapsed)
  const check = setInterval(() => {
    if (h.fencedAt === undefined && !proof.holds(0)) h.fencedAt = proof.now();
  }, 20);
  h.stop = async () => {
    clearInterval(renew);
    clearInterval(check);
    await renewing;
    await table.close().catch(() => {});
    await bus.close(2000);
  };
  return h;
}

interface Probe {
  node: number;
  /** Wall-clock send times of the puts that succeeded. */
  ok: number[];
  stop(): Promise<void>;
}

const fenced = (h: Holder): boolean => h.fencedAt !== undefined || h.accepted.some((a) => lapsed(h.ttl, a.age));

async function probe(url: string, node: number): Promise<Probe> {
  const bus = await NatsBus.open(cfg(url), `lease-probe-n${node}`, log);
  const kv = await bus.kv(BUCKET, 0);
  const p: Probe = { node, ok: [], stop: async () => {} };
  const inflight = new Set<Promise<void>>();
  const t = setInterval(() => {
    const sent = Date.now();
    const put = kv.put(`probe.n${node}`, new TextEncoder().encode(String(sent))).then(
      () => void p.ok.push(sent),
      () => {},
    );
    inflight.add(put);
    void put.finally(() => inflight.delete(put));
  }, PROBE_EVERY_MS);
  p.stop = async () => {
    clearInterval(t);
    await Promise.all(inflight);
    await bus.close(2000);
  };
  return p;
}

async function bucketLeader(nc: NatsConnection): Promise<{ leader: number; current: number }> {
  const info = await (await nc.jetstreamManager()).streams.info(`KV_${BUCKET}`);
  const leader = Number(/^n(\d+)$/.exec(info.cluster?.leader ?? '')?.[1] ?? NaN);
  return { leader, current: (info.cluster?.replicas ?? []).filter((r) => r.current && !r.offline).length + (Number.isNaN(leader) ? 0 : 1) };
}

async function oneRun(nats: NatsCluster, admin: NatsConnection, run: number): Promise<{ outage: number; holders: Holder[] }> {
  const probes = await Promise.all(nats.urls.map((u, i) => probe(u, i)));
  const holders: Holder[] = [];
  try {
    for (const ttl of TTLS) for (const [i, u] of nats.urls.entries()) holders.push(await holder(u, ttl, i, run));
  } catch (e) {
    // their connections and timers would keep the process alive
    await Promise.all([...probes, ...holders].map((x) => x.stop().catch(() => {})));
    throw e;
  }
  // every holder renewed at least twice: its proof is as fresh as in steady state
  await waitFor('holders renewing', () => holders.every((h) => h.accepted.length >= 3), 60_000, 100);
  const { leader } = await bucketLeader(admin);
  if (Number.isNaN(leader)) throw new Error('leases bucket without a leader before the kill');
  const load = loadavg()[0]?.toFixed(1);
  const killedAt = Date.now();
  const killedMono = holders[0]?.proof.now() ?? 0;
  (nats.nodes[leader] as NatsCluster['nodes'][number]).proc.kill('SIGKILL');
  const recovered = (): boolean =>
    probes.filter((p) => p.node !== leader).every((p) => p.ok.some((t) => t > killedAt)) && holders.every((h) => h.accepted.filter((a) => a.sent > killedMono).length >= 2);
  await waitFor('renewals after the kill', recovered, WATCH_MS, 100).catch(() => {});
  await sleep(500);
  const outages = probes.map((p) => {
    const first = p.ok.find((t) => t > killedAt);
    return first === undefined ? Infinity : first - killedAt;
  });
  const outage = Math.max(...outages.filter((_, i) => i !== leader));
  const line = holders
    .map((h) => {
      const after = h.accepted.filter((a) => a.sent > killedMono - h.ttl);
      const age = Math.max(0, ...after.map((a) => a.age).filter(Number.isFinite));
      return `t${h.ttl / 1000}s@n${h.node}${h.node === leader ? '(killed)' : ''}: age ${age}${fenced(h) ? ' FENCED' : ''}`;
    })
    .join(', ');
  console.log(`run ${run}: leader n${leader} SIGKILLed at load ${load}; renewals failed for ${outages.map((o, i) => `n${i} ${o === Infinity ? '-' : o}${i === leader ? '(killed, clients reconnect)' : ''}`).join(', ')} ms; proof ages (ms): ${line}`);
  await Promise.all([...probes, ...holders].map((x) => x.stop()));
  await nats.restart(leader);
  await waitFor('bucket with 3 current replicas again', async () => (await bucketLeader(admin).catch(() => ({ current: 0 }))).current === 3, 60_000, 250);
  // the outage of the probe on the killed node (clients move to another node) counts too
  return { outage: Math.max(outage, outages[leader] ?? 0), holders };
}

export default async function leaseFailover(): Promise<BenchResult[]> {
  const tmp = await makeTmpDir('netvigil-lease-bench-');
  const nats = await startNats(tmp.dir, 3);
  const admin = await connect({ servers: nats.urls });
  const outages: number[] = [];
  const byTtl = new Map<number, { fenced: number; holders: number; maxAge: number }>(TTLS.map((t) => [t, { fenced: 0, holders: 0, maxAge: 0 }]));
  try {
    // the bucket made once, R3, before the first holder binds to it
    const first = await NatsBus.open(cfg(nats.urls[0] as string), 'lease-bench-setup', log);
    await first.kv(BUCKET, 0);
    await first.close();
    for (let run = 1; run <= RUNS; run++) {
      const r = await oneRun(nats, admin, run);
      outages.push(r.outage);
      for (const h of r.holders) {
        const s = byTtl.get(h.ttl) as { fenced: number; holders: number; maxAge: number };
        s.holders++;
        if (fenced(h)) s.fenced++;
        s.maxAge = Math.max(s.maxAge, ...h.accepted.map((a) => a.age).filter(Number.isFinite));
      }
    }
  } finally {
    await admin.close();
    await nats.stop();
    await tmp.cleanup();
  }
  const sorted = [...outages].sort((a, b) => a - b);
  const out: BenchResult[] = [
    { name: 'renewals failing after the bucket leader\'s SIGKILL, min', value: sorted[0] ?? NaN, unit: 'ms', note: `${RUNS} runs` },
    { name: '  median', value: sorted[Math.floor(sorted.length / 2)] ?? NaN, unit: 'ms' },
    { name: '  max', value: sorted[sorted.length - 1] ?? NaN, unit: 'ms' },
  ];
  for (const [ttl, s] of byTtl) {
    out.push({ name: `lease_ttl ${ttl / 1000}s: holders fenced`, value: s.fenced, unit: `of ${s.holders}`, note: `oldest proof ${s.maxAge} ms, fence at ${Math.round((ttl * 2) / 3)} ms` });
  }
  return out;
}
