/**
 * The node-kill run of scale-out over NATS JetStream (test/bus-nats.test.ts, test/bus-nats-shortttl.test.ts),
 * for real: a 3-node nats-server cluster on loopback (R3 stream and buckets), 2 receivers and 3
 * processors as `netvigil run` processes from one binary and one config shape, writing to a real
 * influxd and to line-protocol files. softflowd exports NetFlow v9 for a generated pcap once; its
 * datagrams are replayed (real exporter output, replayed) from 8 loopback source addresses, so
 * exporters hash to different partitions, in rounds. One processor is killed with SIGKILL
 * mid-stream, then the NATS node leading the stream: the processor's partitions must move within
 * seconds of the lease TTL, and the flows in InfluxDB and in every processor's line-protocol files
 * must add up to the flows sent, exactly (none lost with the node, none read twice); no point may
 * replace another. With `pollers`, two SNMP pollers share 4 devices on a real snmpd through the
 * same cluster, and every interface's rate series must go on through the processor's and the
 * node's death without missing a poll (issue 15 item 4).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSocket, type Socket } from 'node:dgram';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusRig, dataOnly, owned, startBusCluster, stopBusCluster, v9DataRecords } from './busrig.js';
import type { Influxd } from './influxd.js';
import type { NatsCluster } from './nats.js';
import { freeUdpPort, waitFor } from './net.js';
import type { Daemon } from './proc.js';
import { startSnmpd, type Snmpd } from './snmpd.js';

const PARTITIONS = 8;
const SOURCES = 8;
const ROUNDS = 10;
const ROUND_MS = 700;
const CONVERSATIONS = 60;
let LEASE_TTL_MS = 0;
const DEVICES = ['sw-1', 'sw-2', 'sw-3', 'sw-4'];
const POLL_MS = 4000;
/**
 * A missed poll makes a gap of two intervals (8 s); a poll on time, one (4 s). Polls run on a grid
 * and are timed at their scheduled start, so the slack is for a timer firing late on a loaded
 * machine (1 s is ten times what was seen at load 10), not for a takeover: no poller dies here.
 */
const MAX_POLL_GAP_MS = POLL_MS + 3000;
let agent: Snmpd | undefined;

let tmp: { dir: string; cleanup: () => Promise<void> };
let nats: NatsCluster;
let influx: Influxd;
let capture: Buffer[] = [];

let rig: BusRig;
const run = (name: string, roles: string, extra: string[]): Promise<Daemon> => rig.run(name, roles, extra);
const points = (name: string): Promise<{ key: string; flows: number }[]> => rig.points(name);

/** Index in `nats.nodes` of the node leading the test stream (nodes are named n0, n1, ...). */
async function streamLeader(): Promise<number> {
  const nc = await connect({ servers: nats.urls });
  try {
    const leader = (await (await nc.jetstreamManager()).streams.info('NVTEST')).cluster?.leader ?? '';
    const i = Number(/^n(\d+)$/.exec(leader)?.[1] ?? NaN);
    if (!(i >= 0 && i < nats.nodes.length)) throw new Error(`stream leader ${leader} is none of our nodes`);
    return i;
  } finally {
    await nc.close();
  }
}

/**
 * True once every receiver's last `netvigil_bus` telemetry, taken after `since`, says each batch it
 * sealed was acknowledged by the stream (published = batches, nothing queued).
 */
async function receiversPublished(names: string[], since: number): Promise<boolean> {
  const q = `SELECT last("batches"), last("published"), last("queued_bytes") FROM "netvigil_bus" WHERE "role" = 'receiver' AND time > ${since}ms GROUP BY "instance"`;
  const series = await influx.query('nvbus', q);
  return names.every((n) => {
    const v = series.find((s) => s.tags?.['instance'] === n)?.values[0];
    return v !== undefined && Number(v[1]) > 0 && v[1] === v[2] && v[3] === 0;
  });
}

/** The snmp block of the pollers: DEVICES, all on the one snmpd (leases go by name). */
async function inventory(port: number): Promise<string> {
  const file = join(tmp.dir, 'devices.yaml');
  const lines = [`defaults: { port: ${port}, version: v2c, credentials: { community: public }, profiles: [interfaces], interval: ${POLL_MS}ms, timeout: 2s, retries: 1 }`, 'devices:', ...DEVICES.map((n) => `  - { name: ${n}, address: 127.0.0.1 }`)];
  await writeFile(file, lines.join('\n') + '\n');
  return `collectors: { snmp: { devices: ${file} } }`;
}

/**
 * Registers the run with leases of `leaseTtlMs`; call once per test file (each starts its own
 * cluster). `pollers`: SNMP pollers too, which only a TTL above a leader election lets through a
 * node's death without fencing themselves (a 3 s TTL would stop their polls for a while).
 */
export function nodeKillSuite(leaseTtlMs: number, opts: { pollers?: boolean } = {}): void {
LEASE_TTL_MS = leaseTtlMs;
beforeAll(async () => {
  // softflowd's real NetFlow v9 export of CONVERSATIONS generated conversations, captured once
  ({ tmp, nats, influx, capture } = await startBusCluster('netvigil-bus-', CONVERSATIONS));
  rig = new BusRig({ dir: tmp.dir, nats, influx, database: 'nvbus', stream: 'NVTEST', partitions: PARTITIONS, leaseTtlMs: LEASE_TTL_MS });
  if (opts.pollers) agent = await startSnmpd();
}, 60_000);

afterAll(async () => {
  await stopBusCluster({ tmp, nats, influx }, rig ? [rig] : []);
  await agent?.stop();
});

describe(`scale-out on NATS JetStream (3-node cluster, R3), lease_ttl ${leaseTtlMs} ms`, () => {
  it('shares partitions among processors, moves a killed one\'s within seconds, and counts every flow exactly once', async () => {
    const perCapture = v9DataRecords(capture);
    expect(perCapture).toBe(CONVERSATIONS); // softflowd: one record per generated conversation
    // templates go out in the first round only: a processor that takes a partition over decodes the
    // rest with the templates its predecessor shared in the KV bucket, or parks and loses them
    const later = dataOnly(capture);
    expect(later.length).toBeGreaterThan(0);
    const tpl = capture.filter((d) => !later.includes(d));
    const perLater = v9DataRecords([...tpl, ...later]) - v9DataRecords(tpl);
    expect(perLater).toBeGreaterThan(0);
    const flowPorts = [await freeUdpPort(), await freeUdpPort()];
    const flow = (port: number): string => `collectors: { flow: { listen: [{ address: 127.0.0.1, port: ${port} }], interval: 2s, dimensions: [exporter, proto] } }`;
    const procs: Daemon[] = [];
    for (const name of ['p1', 'p2', 'p3']) procs.push(await run(name, 'processor', [flow(0)]));
    await run('r1', 'receiver', [flow(flowPorts[0] as number)]);
    await run('r2', 'receiver', [flow(flowPorts[1] as number)]);
    const pollers = agent ? [await run('q1', 'poller', [await inventory(agent.port)]), await run('q2', 'poller', [await inventory(agent.port)])] : [];
    // every partition owned, shared out: 3 + 3 + 2
    await waitFor('partitions shared by 3 processors', () => {
      const sets = procs.map(owned);
      return sets.every((s) => s.size >= 2) && new Set(sets.flatMap((s) => [...s])).size === PARTITIONS;
    }, 30_000, 200);

    const senders: Socket[] = [];
    for (let i = 0; i < SOURCES; i++) {
      const s = createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, `127.0.0.${10 + i}`, () => r()));
      senders.push(s);
    }
    const send = (s: Socket, d: Buffer, port: number): Promise<void> => new Promise((r, j) => s.send(d, port, '127.0.0.1', (e) => (e ? j(e) : r())));
    const victim = procs[0] as Daemon;
    const victimHad = owned(victim);
    let killedAt = 0;
    let nodeKilled = -1;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, s] of senders.entries()) for (const d of round ? later : capture) await send(s, d, flowPorts[i % 2] as number);
      if (round === 4) {
        // Mid-interval (the 2 s grid's middle), away from the flush: a kill between a flush's write
        // and its commit is what test/bus-fence.test.ts causes on purpose (the outbox, README Scale-out).
        await new Promise((r) => setTimeout(r, (3000 - (Date.now() % 2000)) % 2000));
        victim.proc.kill('SIGKILL');
        killedAt = Date.now();
      }
      if (round === 7) {
        // the stream's leader, so that its leadership moves, and the clients connected to it reconnect
        // (R3: the stream and buckets go on with 2 of 3)
        const leader = await streamLeader();
        nodeKilled = leader;
        (nats.nodes[leader] as Daemon).proc.kill('SIGKILL');
      }
      await new Promise((r) => setTimeout(r, ROUND_MS));
    }
    for (const s of senders) s.close();
    const sentAt = Date.now();
    // the victim's partitions are taken by the survivors
    await waitFor('the killed processor\'s partitions taken over', () => {
      const now = new Set([...owned(procs[1] as Daemon), ...owned(procs[2] as Daemon)]);
      return [...victimHad].every((p) => now.has(p)) && now.size === PARTITIONS;
    }, LEASE_TTL_MS + 30_000, 100).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${rig.running.map((d) => d.output().split('\n').filter((l) => !/"level":30,.*(flow listener|records)/.test(l)).join('\n')).join('\n----\n')}\n${nats.nodes.map((d) => d.output().split('\n').slice(-40).join('\n')).join('\n----\n')}`);
    });
    const movedMs = Date.now() - killedAt;
    console.log(`partitions ${[...victimHad].join(',')} moved ${movedMs} ms after SIGKILL (lease_ttl ${LEASE_TTL_MS} ms); NATS node n${nodeKilled} (stream leader) killed`);
    expect(movedMs).toBeLessThan(LEASE_TTL_MS + 10_000);
    // Every batch on the stream before the receivers stop. The stream may have no leader yet (a
    // node's loss: 4-9 s of election, 6.7 and 7.7 s measured): a receiver stopped then waits half of
    // shutdown_timeout for its acknowledgements and spools the rest, published only when it starts
    // again, which this run does not do (README, Scale-out, "Stop spool"; test/bus-spool.test.ts).
    // A long lease_ttl made the takeover wait above outlast the election; without this wait (and
    // before the spool) the 3 s run failed 2 of 8 times, 8 and 12 batches of one receiver lost.
    await waitFor('every batch the receivers took acknowledged by the stream', () => receiversPublished(['r1', 'r2'], sentAt + 1000), 60_000, 250);
    console.log(`receivers' batches all on the stream ${Date.now() - sentAt} ms after the last datagram sent`);
    // receivers first (their last batches), then the processors, which write their open interval
    for (const d of rig.running.slice(3)) await d.stop('SIGTERM', 10_000);
    await new Promise((r) => setTimeout(r, 3000));
    for (const d of procs.slice(1)) await d.stop('SIGTERM', 15_000);

    const by = await Promise.all(['p1', 'p2', 'p3'].map(points));
    console.log(`flows written by p1 (killed), p2, p3: ${by.map((ps) => ps.reduce((a, p) => a + p.flows, 0)).join(', ')} of ${SOURCES * (perCapture + (ROUNDS - 1) * perLater)}`);
    const fences = procs.slice(1).map((d) => d.output().split('\n').filter((l) => l.includes('"msg":"bus fence:')).length);
    console.log(`fences of p2, p3 (lease not provable, e.g. a bucket without a leader): ${fences.join(', ')}`);
    const all = by.flat();
    const keys = new Set(all.map((p) => p.key));
    expect(keys.size).toBe(all.length); // no point overwrites another in InfluxDB
    const total = all.reduce((a, p) => a + p.flows, 0);
    expect(total).toBe(SOURCES * (perCapture + (ROUNDS - 1) * perLater));
    // InfluxDB holds every point (none replaced another) and the same exact sum
    const [agg] = await influx.query('nvbus', 'SELECT sum("flows"), count("flows") FROM "flow_agg"');
    expect(agg?.values[0]?.slice(1)).toEqual([total, all.length]);
    // self-telemetry says what moved when: after the kill, the survivors hold the victim's partitions
    const bus = await influx.query('nvbus', `SELECT "held" FROM "netvigil_bus" WHERE "role" = 'processor' AND time > ${killedAt}ms`);
    const heldAfter = new Set((bus[0]?.values ?? []).flatMap((v) => String(v[1]).split(',').filter(Boolean).map(Number)));
    for (const p of victimHad) expect(heldAfter.has(p)).toBe(true);
    // the survivors wrote flows of the killed processor's partitions too
    expect((await points('p2')).length + (await points('p3')).length).toBeGreaterThan(0);
    if (pollers.length) await checkRates(sentAt, nodeKilled);
  }, 180_000);
});
}

/**
 * The pollers' rates through the processor's and the NATS node's death: every device polled, every
 * interface's `in_bps` series without a missed poll, from the pollers' balance to the end of the run.
 */
async function checkRates(sentAt: number, nodeKilled: number): Promise<void> {
  const rates = await influx.query('nvbus', 'SELECT "in_bps", "instance" FROM "interface" WHERE "source" = \'snmp\' GROUP BY "device", "if_index"');
  expect([...new Set(rates.map((s) => s.tags?.['device']))].sort()).toEqual(DEVICES);
  let worst = 0;
  let points = 0;
  for (const s of rates) {
    const rows = (s.values as [number, number | null, string][]).filter((r) => r[1] !== null);
    // from the last change of poller (q2's start takes half the devices from q1) to the end
    let from = 0;
    for (let k = 1; k < rows.length; k++) if (rows[k]![2] !== rows[k - 1]![2]) from = k;
    const tail = rows.slice(from);
    expect(tail.at(-1)![0], `${JSON.stringify(s.tags)}: polled until the end of the run`).toBeGreaterThan(sentAt);
    for (let k = 1; k < tail.length; k++) {
      const gap = tail[k]![0] - tail[k - 1]![0];
      worst = Math.max(worst, gap);
      expect(gap, `${JSON.stringify(s.tags)} rate gap ${gap} ms at ${new Date(tail[k]![0]).toISOString()}`).toBeLessThanOrEqual(MAX_POLL_GAP_MS);
    }
    points += tail.length;
  }
  const lost = await influx.query('nvbus', 'SELECT last("lost") FROM "netvigil_bus" WHERE "role" = \'poller\' GROUP BY "instance"');
  console.log(`pollers: ${points} rate points of ${rates.length} interfaces, worst gap ${worst} ms (bound ${MAX_POLL_GAP_MS} ms, interval ${POLL_MS} ms) through NATS node n${nodeKilled}'s death; leases lost ${lost.map((x) => `${x.tags?.['instance']} ${x.values[0]?.[1]}`).join(', ')}`);
}
