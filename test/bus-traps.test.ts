/**
 * Traps over the bus, for real (README "Scale-out", src/bus/traps.ts): a 3-node nats-server cluster
 * on loopback (R3 stream), a real influxd, one receiver without any sink and two processors as
 * `netvigil run` processes, Debian's net-snmp `snmptrap` and `snmpinform` sending v2c traps, v2c
 * informs, v3 authPriv traps and v3 authPriv informs (engine discovery answered by the receiver).
 *
 * 1. With no processor running, the receiver still answers every inform (snmpinform exits 0) and
 *    the traps wait on the stream.
 * 2. p1 starts and writes them, but a test-only hook (NETVIGIL_TEST_HOLD_TRAP_ACK_MS) holds its
 *    acknowledgements, so p1 is killed with traps written and not acknowledged: the window between
 *    write and acknowledgement is a few milliseconds otherwise. p2 starts, more traps arrive and
 *    are shared; p1 gets SIGKILL; more traps arrive.
 * 3. p2 gets p1's unacknowledged traps again (after `lease_ttl`, the queue's ack_wait) and writes
 *    them again. InfluxDB holds every trap exactly once: the copies are the same points (receive
 *    time from the receiver, no `instance` tag), which the line-protocol files show line for line.
 * 4. (second case) The stream's leader and a follower are killed (no quorum): informs are still
 *    answered, the receiver spools the traps at SIGTERM and publishes them at its next start; then
 *    a SIGHUP that restarts the processor's trap collector: traps after it are written too, and its
 *    /metrics counts them.
 * 5. (third case) The node leading the trap consumer is SIGKILLed between two sends: every trap is
 *    still written, once (a pull request lost with the node costs delay, not traps).
 *
 * Informs are sent with a 10 s timeout and no retry: a retransmitted inform is a second datagram
 * with a later receive time, so a second point (as without a bus); 10 s is far above any stall of
 * a receiver at load average 10 on 2 cores (its event loop answers within milliseconds).
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusRig, logLines, stopBusCluster } from './helpers/busrig.js';
import { CLI } from './helpers/cli.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { startNats, type NatsCluster } from './helpers/nats.js';
import { freeTcpPort, freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { startDaemon, type Daemon } from './helpers/proc.js';
import { AUTH_KEY, PRIV_KEY, runTool } from './helpers/snmpd.js';

const DB = 'nvtraps';
/**
 * The queue's ack_wait: p1's unacknowledged traps go to p2 this long after p1's last sign of life
 * (p1 says it is still working on them every second). No assertion depends on it: should p1 stall
 * past it under load, p2 takes those traps before the kill and writes the same points.
 */
const LEASE_TTL_MS = 3000;
/** Generous: a condition that holds within seconds on a quiet machine, waited for under load. */
const WAIT_MS = 90_000;

let tmp: { dir: string; cleanup: () => Promise<void> };
let nats: NatsCluster;
let influx: Influxd;
let rig: BusRig;
let port = 0;

beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-bustraps-');
  [nats, influx] = await Promise.all([startNats(tmp.dir, 3), startInfluxd()]);
  rig = new BusRig({ dir: tmp.dir, nats, influx, database: DB, stream: 'NVTRAP', partitions: 4, leaseTtlMs: LEASE_TTL_MS });
  port = await freeUdpPort();
}, 60_000);

afterAll(() => stopBusCluster({ tmp, nats, influx }, rig ? [rig] : []));

/** The same block on every instance: processors bind no port (a second bind of it would fail their start). */
const trapBlock = (at = port): string =>
  `collectors: { snmptrap: { address: 127.0.0.1, port: ${at}, allow: [127.0.0.0/8], communities: [public], report_interval: 1s, ` +
  `users: [{ user: trapuser, auth_protocol: sha, auth_key: ${AUTH_KEY}, priv_protocol: aes, priv_key: ${PRIV_KEY} }] } }`;

/** A receiver, from the rig's config without its `sinks` line: a receiver on a bus needs none. */
async function runReceiver(on: BusRig, dir: string, name: string, at = port, extra: string[] = []): Promise<Daemon> {
  const file = join(dir, `${name}.yaml`);
  const cfg = on.config(name, 'receiver', [trapBlock(at), ...extra]).split('\n').filter((l) => !l.startsWith('sinks:'));
  await writeFile(file, cfg.join('\n') + '\n');
  const d = startDaemon(process.execPath, [CLI, 'run', '-c', file]);
  on.running.push(d);
  await waitFor(`${name} started`, () => d.output().includes('netvigil started'), 30_000).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n${d.output()}`);
  });
  return d;
}

const KINDS = ['v2c trap', 'v2c inform', 'v3 trap', 'v3 inform'] as const;
const V3 = ['-v3', '-u', 'trapuser', '-l', 'authPriv', '-a', 'SHA', '-A', AUTH_KEY, '-x', 'AES', '-X', PRIV_KEY];
const kindOf = (n: number): (typeof KINDS)[number] => KINDS[n % KINDS.length] as (typeof KINDS)[number];

/** Trap n: IF-MIB::linkDown with ifIndex.n = n, so each trap is told apart by its ifIndex field. */
async function send(n: number, at = port): Promise<void> {
  const body = [`127.0.0.1:${at}`, '', '1.3.6.1.6.3.1.1.5.3', `1.3.6.1.2.1.2.2.1.1.${n}`, 'i', String(n)];
  const kind = kindOf(n);
  const inform = ['-t', '10', '-r', '0'];
  if (kind === 'v2c trap') await runTool('snmptrap', ['-v2c', '-c', 'public', ...body], tmp.dir);
  if (kind === 'v2c inform') await runTool('snmpinform', ['-v2c', '-c', 'public', ...inform, ...body], tmp.dir);
  if (kind === 'v3 trap') await runTool('snmptrap', [...V3, '-e', '0x8000000001020399', ...body], tmp.dir);
  if (kind === 'v3 inform') await runTool('snmpinform', [...V3, ...inform, ...body], tmp.dir);
}

async function sendRange(from: number, to: number, at = port): Promise<void> {
  for (let n = from; n < to; n++) await send(n, at);
}

interface TrapPoint {
  ifIndex: number;
  version: string;
  pdu: string;
}

async function inInflux(db = DB): Promise<TrapPoint[]> {
  const s = await influx.query(db, 'SELECT "ifIndex", "version", "pdu", "trap" FROM "snmp_trap"').catch(() => []);
  return (s[0]?.values ?? []).map((v) => ({ ifIndex: Number(v[1]), version: String(v[2]), pdu: String(v[3]) }));
}

/** An instance's snmp_trap lines, by ifIndex: series key and timestamp (what makes a point a point). */
async function lines(name: string, under = tmp.dir): Promise<Map<number, string[]>> {
  const dir = join(under, name, 'lp');
  const out = new Map<number, string[]>();
  if (!existsSync(dir)) return out;
  for (const f of await readdir(dir)) {
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) {
      if (!line.startsWith('snmp_trap,')) continue;
      const n = Number(/[ ,]ifIndex=(\d+)i/.exec(line)?.[1]);
      const point = `${line.slice(0, line.indexOf(' '))} ${line.slice(line.lastIndexOf(' ') + 1)}`;
      out.set(n, [...(out.get(n) ?? []), point]);
    }
  }
  return out;
}

/** The last `netvigil_bus,role=trap_processor` counters an instance wrote to its files. */
async function trapStats(name: string, under = tmp.dir): Promise<Record<string, number>> {
  const dir = join(under, name, 'lp');
  let last: Record<string, number> = {};
  if (!existsSync(dir)) return last;
  for (const f of (await readdir(dir)).sort()) {
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) {
      if (!line.startsWith('netvigil_bus,') || !line.includes('role=trap_processor')) continue;
      last = Object.fromEntries([...line.split(' ')[1]!.matchAll(/(\w+)=(\d+)i/g)].map((m) => [m[1], Number(m[2])]));
    }
  }
  return last;
}

describe('traps over the bus (3-node cluster, R3): receiver answers, processors write', () => {
  it('answers informs with no processor running, and writes every trap exactly once across a processor killed between write and acknowledgement', async () => {
    const r = await runReceiver(rig, tmp.dir, 'r');
    expect(logLines(r, 'snmptrap: listening')[0]).toMatchObject({ to: 'bus' });

    // 1. no processor: informs answered (runTool rejects on a non-zero exit), traps kept on the stream
    await sendRange(0, 8);
    expect(await inInflux()).toEqual([]);

    // 2. p1 writes but never acknowledges; p2 joins; traps shared; p1 killed
    const p1 = await rig.run('p1', 'processor', [trapBlock()], { NETVIGIL_TEST_HOLD_TRAP_ACK_MS: '600000' });
    await waitFor('p1 wrote the traps sent while no processor ran', async () => (await inInflux()).length === 8, WAIT_MS, 250);
    await rig.run('p2', 'processor', [trapBlock()]);
    await sendRange(8, 16);
    await waitFor('traps 0-15 in InfluxDB', async () => (await inInflux()).length === 16, WAIT_MS, 250);
    const p1Lines = await lines('p1');
    expect([...p1Lines.keys()].sort((a, b) => a - b).slice(0, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await p1.stop('SIGKILL');
    await sendRange(16, 24);

    // 3. p2 takes what p1 held unacknowledged (at least traps 0-7), and writes it again
    await waitFor('p2 took p1\'s unacknowledged traps', async () => ((await trapStats('p2')).redelivered_datagrams ?? 0) >= p1Lines.size, WAIT_MS, 250).catch(async (e: unknown) => {
      throw new Error(`${(e as Error).message}\n${JSON.stringify(await trapStats('p2'))} p1 had ${[...p1Lines.keys()].join(',')}\n${rig.running[2]?.output().split('\n').filter((l) => /trap|queue/.test(l)).join('\n')}`);
    });
    await waitFor('every trap in InfluxDB', async () => (await inInflux()).length >= 24, WAIT_MS, 250);
    await waitFor('p2 acknowledged all it took', async () => {
      const s = await trapStats('p2');
      return (s.datagrams ?? 0) >= 24 && s.acked === s.messages; // p1 acknowledged none: p2 decodes every trap
    }, WAIT_MS, 250);

    const points = (await inInflux()).sort((a, b) => a.ifIndex - b.ifIndex);
    expect(points.map((p) => p.ifIndex)).toEqual(Array.from({ length: 24 }, (_, n) => n));
    for (const p of points) expect(`${p.version} ${p.pdu}`).toBe(kindOf(p.ifIndex));
    const keys = await influx.query(DB, 'SHOW TAG KEYS FROM "snmp_trap"');
    expect((keys[0]?.values ?? []).flat()).not.toContain('instance');

    // p2 wrote p1's traps again, as the very same points (series key and time)
    const p2Lines = await lines('p2');
    for (const [n, mine] of p1Lines) {
      expect(p2Lines.get(n), `trap ${n}, held by p1, written again by p2`).toBeDefined();
      expect(new Set([...mine, ...(p2Lines.get(n) ?? [])]).size, `trap ${n}: one point`).toBe(1);
    }
    const s = await trapStats('p2');
    expect(s.bad_frames).toBe(0);
    expect(s.redelivered_datagrams).toBeGreaterThanOrEqual(p1Lines.size);
    console.log(`p1 wrote ${p1Lines.size} traps unacknowledged; p2 took ${s.redelivered_datagrams} again (${s.redelivered} messages), ${s.datagrams} in all`);
  }, 300_000);
});

const SPOOLED = 'stop: batches not acknowledged by the bus before the deadline: spooled, published first at the next start';
const REPLAYED = 'bus spool replayed: every spooled batch acknowledged';

describe('traps over the bus while the stream cannot take them (3-node cluster, R3)', () => {
  /**
   * The stream's leader and a follower are killed, so the survivor has no quorum and no leader as
   * long as they are down (not a race against an election). Informs are still answered; at SIGTERM
   * the receiver (shutdown_timeout 4 s) spools the trap batches to `bus-spool-trap`; once the nodes
   * are back it publishes them first at its next start, and a processor writes each trap once.
   */
  it('answers informs, spools the traps at stop, publishes them at the next start: every trap once; a reload keeps taking them', async () => {
    const dir = join(tmp.dir, 'away');
    await mkdir(dir, { recursive: true });
    const stream = 'NVTRAPAWAY';
    const db = 'nvtrapsaway';
    const rig2 = new BusRig({ dir, nats, influx, database: db, stream, partitions: 4, leaseTtlMs: LEASE_TTL_MS });
    let pa: Daemon | undefined;
    let http = 0;
    try {
      const at = await freeUdpPort();
      const r1 = await runReceiver(rig2, dir, 'ra', at, ['shutdown_timeout: 4s']);
      const nc = await connect({ servers: nats.urls });
      try {
        const jsm = await nc.jetstreamManager();
        const leader = async (): Promise<{ i: number } | undefined> => {
          const name = (await jsm.streams.info(stream).catch(() => undefined))?.cluster?.leader ?? '';
          const i = Number(/^n(\d+)$/.exec(name)?.[1] ?? NaN);
          return i >= 0 && i < nats.nodes.length ? { i } : undefined;
        };
        const { i } = await waitFor('the stream leader', leader, 30_000, 200);
        const victims = [i, (i + 1) % 3];
        for (const v of victims) (nats.nodes[v] as Daemon).proc.kill('SIGKILL');
        // the last one an inform: answered, so every datagram before it was taken too
        await sendRange(100, 108, at);
        await r1.stop('SIGTERM', 30_000);
        const spooled = logLines(r1, SPOOLED);
        expect(spooled, r1.output()).toHaveLength(1);
        expect(spooled[0]).toMatchObject({ queue: 'trap', datagrams: 8 });
        expect(r1.output()).not.toContain('dropped (counted in dropped_batches');
        const batches = spooled[0]?.['batches'] as number;
        console.log(`stream without quorum: 8 traps spooled in ${batches} batches at SIGTERM`);
        expect(readdirSync(join(dir, 'ra', 'bus-spool-trap')).filter((f) => f.endsWith('.nvb'))).toHaveLength(batches);

        for (const v of victims) await nats.restart(v);
        await waitFor('the stream has a leader again', leader, 60_000, 500);
        http = await freeTcpPort();
        pa = await rig2.run('pa', 'processor', [trapBlock(at), `http: { listen: '127.0.0.1:${http}' }`]);
        const r2 = await runReceiver(rig2, dir, 'ra', at);
        await waitFor('the trap spool published', () => logLines(r2, REPLAYED).length === 1, 60_000, 200);
        expect(logLines(r2, REPLAYED)[0]).toMatchObject({ queue: 'trap', replayed: batches, datagrams: 8 });
        expect(readdirSync(join(dir, 'ra', 'bus-spool-trap'))).toEqual([]);
        // each batch once on the stream (it holds nothing else: no flows here)
        expect((await jsm.streams.info(stream)).state.messages).toBe(batches);
        await waitFor('pa wrote the 8 traps', async () => (await inInflux(db)).length >= 8, WAIT_MS, 250);
        // telemetry every second: wait for a line that counts them, not an earlier one
        await waitFor('pa decoded and acknowledged them', async () => {
          const s = await trapStats('pa', dir);
          return (s.datagrams ?? 0) >= 8 && s.acked === s.messages;
        }, WAIT_MS, 250);
      } finally {
        await nc.close();
      }
      const points = (await inInflux(db)).sort((a, b) => a.ifIndex - b.ifIndex);
      expect(points.map((p) => p.ifIndex)).toEqual(Array.from({ length: 8 }, (_, n) => 100 + n));
      for (const p of points) expect(`${p.version} ${p.pdu}`).toBe(kindOf(p.ifIndex));
      expect(await trapStats('pa', dir)).toMatchObject({ datagrams: 8, redelivered: 0, bad_frames: 0 });

      // SIGHUP with a changed block restarts the trap collector: the new one takes the queue over
      const file = join(dir, 'pa.yaml');
      await writeFile(file, (await readFile(file, 'utf8')).replace('report_interval: 1s', 'report_interval: 2s'));
      pa?.proc.kill('SIGHUP');
      await waitFor('pa restarted its trap collector', () => logLines(pa as Daemon, 'config reloaded').some((l) => JSON.stringify(l['changes']).includes('restarted snmptrap')), 30_000, 200);
      await sendRange(108, 112, at);
      await waitFor('pa wrote the 4 traps sent after the reload', async () => (await inInflux(db)).length >= 12, WAIT_MS, 250);
      expect((await inInflux(db)).map((p) => p.ifIndex).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, n) => 100 + n));
      expect(await (await fetch(`http://127.0.0.1:${http}/metrics`)).text()).toContain('\nnetvigil_bus_trap_processor_datagrams_total 12\n');
    } finally {
      await rig2.stop();
    }
  }, 300_000);
});

describe('traps over the bus across the loss of a NATS node (3-node cluster, R3)', () => {
  /**
   * The node leading the trap consumer is SIGKILLed between two sends, with two processors pulling:
   * a pull request that dies with the node takes its delivered messages with it until `ack_wait`
   * and the client's next pull (nats-queue.ts). Every trap must still be written, once.
   */
  it('writes every trap once when the node leading the trap consumer dies mid-stream', async () => {
    const dir = join(tmp.dir, 'nodekill');
    await mkdir(dir, { recursive: true });
    const stream = 'NVTRAPKILL';
    const db = 'nvtrapskill';
    const rig3 = new BusRig({ dir, nats, influx, database: db, stream, partitions: 4, leaseTtlMs: LEASE_TTL_MS });
    const nc = await connect({ servers: nats.urls });
    try {
      const at = await freeUdpPort();
      await runReceiver(rig3, dir, 'rk', at);
      await rig3.run('pk1', 'processor', [trapBlock(at)]);
      await rig3.run('pk2', 'processor', [trapBlock(at)]);
      await sendRange(200, 208, at);
      await waitFor('the first 8 traps written', async () => (await inInflux(db)).length >= 8, WAIT_MS, 250);
      const jsm = await nc.jetstreamManager();
      const leader = (await jsm.consumers.info(stream, `${stream}_trap`)).cluster?.leader ?? '';
      const i = Number(/^n(\d+)$/.exec(leader)?.[1] ?? NaN);
      expect(i >= 0 && i < 3, `consumer leader ${leader}`).toBe(true);
      (nats.nodes[i] as Daemon).proc.kill('SIGKILL');
      const killedAt = Date.now();
      await sendRange(208, 216, at);
      await waitFor('every trap written', async () => (await inInflux(db)).length >= 16, WAIT_MS, 250);
      console.log(`node n${i} (trap consumer leader) killed: all 16 traps written ${Date.now() - killedAt} ms after`);
      await nats.restart(i);
      const points = (await inInflux(db)).sort((a, b) => a.ifIndex - b.ifIndex);
      expect(points.map((p) => p.ifIndex)).toEqual(Array.from({ length: 16 }, (_, n) => 200 + n));
    } finally {
      await nc.close();
      await rig3.stop();
    }
  }, 300_000);
});
