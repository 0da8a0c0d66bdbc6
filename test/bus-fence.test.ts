/**
 * Fencing on the bus, for real (README "Scale-out", How it holds together): a 3-node nats-server
 * cluster on loopback (R3 stream and buckets), `netvigil run` receivers and processors, a real
 * influxd, softflowd's NetFlow v9 export replayed from several loopback addresses.
 *
 * A processor stopped with SIGSTOP for longer than `lease_ttl` is a live processor cut off from
 * NATS: its partitions move to another processor, which decodes again everything not committed.
 * When it runs again it must not write what it had taken since its last commit: InfluxDB must hold
 * exactly the flows sent.
 *
 * A processor killed after an interval's points were written but before it committed the messages
 * they came from: the new owner must write those points again (idempotent: same tags and time)
 * rather than decode the messages again under its own `instance`. That window is a few milliseconds
 * wide, so the test opens it with a fault-injection hook that exists for tests only:
 * NETVIGIL_TEST_HOLD_COMMIT_MS holds the commit after the write (src/bus/outbox.ts).
 */
import type { Socket } from 'node:dgram';
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Influxd } from './helpers/influxd.js';
import type { NatsCluster } from './helpers/nats.js';
import { freeUdpPort, waitFor } from './helpers/net.js';
import type { Daemon } from './helpers/proc.js';
import { BusRig, dataOnly, logLines, owned, senders, startBusCluster, stopBusCluster, v9DataRecords } from './helpers/busrig.js';

const PARTITIONS = 4;
const SOURCES = 6;
const ROUND_MS = 500;
const LEASE_TTL_MS = 3000;
const INTERVAL_MS = 2000;
const CONVERSATIONS = 40;

let tmp: { dir: string; cleanup: () => Promise<void> };
let nats: NatsCluster;
let influx: Influxd;
let capture: Buffer[] = [];
const rigs: BusRig[] = [];

beforeAll(async () => void ({ tmp, nats, influx, capture } = await startBusCluster('netvigil-fence-', CONVERSATIONS)), 60_000);
afterAll(() => stopBusCluster({ tmp, nats, influx }, rigs));

const flowBlock = (port: number): string => `collectors: { flow: { listen: [{ address: 127.0.0.1, port: ${port} }], interval: ${INTERVAL_MS}ms, dimensions: [exporter, proto] } }`;

/** Receiver r1 and processors p1, p2 on a stream of their own; resolves once the partitions are shared. */
async function start(db: string, stream: string, env: Record<string, string> = {}): Promise<{ rig: BusRig; p1: Daemon; p2: Daemon; port: number }> {
  const rig = new BusRig({ dir: `${tmp.dir}/${db}`, nats, influx, database: db, stream, partitions: PARTITIONS, leaseTtlMs: LEASE_TTL_MS });
  rigs.push(rig);
  await mkdir(`${tmp.dir}/${db}`, { recursive: true });
  const p1 = await rig.run('p1', 'processor', [flowBlock(0)], env);
  const p2 = await rig.run('p2', 'processor', [flowBlock(0)]);
  const port = await freeUdpPort();
  await rig.run('r1', 'receiver', [flowBlock(port)]);
  await waitFor('partitions shared by 2 processors', () => {
    const a = owned(p1);
    const b = owned(p2);
    return a.size >= 1 && b.size >= 1 && new Set([...a, ...b]).size === PARTITIONS;
  }, 30_000, 200);
  return { rig, p1, p2, port };
}

/** Flows in the line-protocol files of p1 and p2, and in InfluxDB (sum, points). */
async function written(rig: BusRig, db: string): Promise<{ byProc: number[]; total: number; points: number; keys: number; unique: number; influx: unknown[] | undefined }> {
  const by = await Promise.all(['p1', 'p2'].map((n) => rig.points(n)));
  const all = by.flat();
  // a line written twice with the same key is one point (InfluxDB and `influx -import` keep the last)
  const byKey = new Map<string, number>();
  for (const p of all) {
    const prev = byKey.get(p.key);
    if (prev !== undefined && prev !== p.flows) throw new Error(`point ${p.key} written with ${prev} and ${p.flows} flows`);
    byKey.set(p.key, p.flows);
  }
  const [agg] = await influx.query(db, 'SELECT sum("flows"), count("flows") FROM "flow_agg"');
  return {
    byProc: by.map((ps) => ps.reduce((a, p) => a + p.flows, 0)),
    total: all.reduce((a, p) => a + p.flows, 0),
    points: all.length,
    keys: byKey.size,
    unique: [...byKey.values()].reduce((a, n) => a + n, 0),
    influx: agg?.values[0]?.slice(1),
  };
}

/** perLater: flows in one round of template-less datagrams. */
function perRound(): { later: Buffer[]; perLater: number } {
  const later = dataOnly(capture);
  const tpl = capture.filter((d) => !later.includes(d));
  return { later, perLater: v9DataRecords([...tpl, ...later]) - v9DataRecords(tpl) };
}

describe('bus fencing (3-node NATS cluster, R3)', () => {
  it('a processor stopped past its lease writes nothing it took since its last commit; every flow is counted once', async () => {
    expect(v9DataRecords(capture)).toBe(CONVERSATIONS); // softflowd: one record per generated conversation
    const { later, perLater } = perRound();
    expect(perLater).toBeGreaterThan(0);
    const { rig, p1, p2, port } = await start('fence_stop', 'NVFENCEA');
    const out = await senders(SOURCES);
    const sendRound = async (first: boolean): Promise<void> => {
      for (const s of out.socks as Socket[]) for (const d of first ? capture : later) await out.send(s, d, port);
    };
    let rounds = 0;
    // stopped well inside an interval, a moment after a round: it holds flows it has taken but not
    // yet written nor committed
    for (; rounds < 4 || !(Date.now() % INTERVAL_MS > 600 && Date.now() % INTERVAL_MS < 1600); rounds++) {
      await sendRound(rounds === 0);
      await new Promise((r) => setTimeout(r, rounds < 3 ? ROUND_MS : 300));
    }
    const had = owned(p1);
    p1.proc.kill('SIGSTOP');
    const stoppedAt = Date.now();
    // flows keep coming while it is stopped; p2 takes its partitions once their leases are a TTL old
    while (!(owned(p2).size === PARTITIONS && Date.now() - stoppedAt > LEASE_TTL_MS) && Date.now() - stoppedAt < 30_000) {
      await sendRound(false);
      rounds++;
      await new Promise((r) => setTimeout(r, ROUND_MS));
    }
    expect(owned(p2).size).toBe(PARTITIONS);
    console.log(`p1 (held ${[...had].join(',')}) stopped ${Date.now() - stoppedAt} ms; p2 holds all ${PARTITIONS} partitions`);
    p1.proc.kill('SIGCONT');
    for (let i = 0; i < 6; i++, rounds++) {
      await sendRound(false);
      await new Promise((r) => setTimeout(r, ROUND_MS));
    }
    out.close();
    const sent = SOURCES * (CONVERSATIONS + (rounds - 1) * perLater);
    // the receiver first (its last batches), then the processors, which write their open interval
    await (rig.running[2] as Daemon).stop('SIGTERM', 10_000);
    await new Promise((r) => setTimeout(r, 3000));
    await Promise.all([p1.stop('SIGTERM', 15_000), p2.stop('SIGTERM', 15_000)]);

    const w = await written(rig, 'fence_stop');
    const fences = logLines(p1, 'bus fence: a lease is no longer provable; the open interval is dropped, its messages go to the next owner');
    console.log(`flows written by p1 (stopped), p2: ${w.byProc.join(', ')}; total ${w.total} of ${sent} sent; p1 fences: ${JSON.stringify(fences.map((f) => ({ why: f['why'], flows: f['flows'], frames: f['frames'] })))}`);
    expect(w.keys).toBe(w.points); // no point overwrites another
    expect(w.total).toBe(sent);
    expect(w.influx).toEqual([sent, w.points]);
    // the fence really dropped flows it had taken: the case was hit, not avoided by timing
    expect(fences.reduce((a, f) => a + Number(f['flows']), 0)).toBeGreaterThan(0);
  }, 180_000);

  it('a processor killed between a write and its commit: the new owner writes the same points again, counting every flow once', async () => {
    const { later, perLater } = perRound();
    const HOLD_MS = 8000;
    const { rig, p1, p2, port } = await start('fence_kill', 'NVFENCEB', { NETVIGIL_TEST_HOLD_COMMIT_MS: String(HOLD_MS) });
    const out = await senders(SOURCES);
    const sendRound = async (first: boolean): Promise<void> => {
      for (const s of out.socks as Socket[]) for (const d of first ? capture : later) await out.send(s, d, port);
    };
    const held = (): Record<string, unknown>[] => logLines(p1, 'bus test hook: interval written, holding its commit');
    let rounds = 0;
    const started = Date.now();
    // p1 holds the commit of its first interval with flows: killed there, its points are written
    while (!held().length && Date.now() - started < 30_000) {
      await sendRound(rounds === 0);
      rounds++;
      await new Promise((r) => setTimeout(r, ROUND_MS));
    }
    expect(held().length).toBeGreaterThan(0);
    const had = owned(p1);
    p1.proc.kill('SIGKILL');
    const killedAt = Date.now();
    while (!(owned(p2).size === PARTITIONS) && Date.now() - killedAt < 30_000) {
      await sendRound(false);
      rounds++;
      await new Promise((r) => setTimeout(r, ROUND_MS));
    }
    expect(owned(p2).size).toBe(PARTITIONS);
    for (let i = 0; i < 4; i++, rounds++) {
      await sendRound(false);
      await new Promise((r) => setTimeout(r, ROUND_MS));
    }
    out.close();
    const sent = SOURCES * (CONVERSATIONS + (rounds - 1) * perLater);
    await (rig.running[2] as Daemon).stop('SIGTERM', 10_000);
    await new Promise((r) => setTimeout(r, 3000));
    await p2.stop('SIGTERM', 15_000);

    const w = await written(rig, 'fence_kill');
    const replays = logLines(p2, 'bus partition taken with records its last holder may have written: written again, their messages skipped');
    console.log(`p1 (held ${[...had].join(',')}) killed holding commit ${String(held()[0]?.['outbox'])}; lines written by p1, p2: ${w.byProc.join(', ')} flows; ${w.points} lines, ${w.keys} distinct points holding ${w.unique} flows of ${sent} sent; InfluxDB ${JSON.stringify(w.influx)}; p2 replays: ${replays.length}`);
    expect(w.unique).toBe(sent);
    expect(w.influx).toEqual([sent, w.keys]);
    // the window was hit: p1 wrote points it never committed, and p2 wrote them again
    expect(w.byProc[0]).toBeGreaterThan(0);
    expect(replays.length).toBeGreaterThan(0);
    expect(w.points).toBeGreaterThan(w.keys);
  }, 180_000);
});
