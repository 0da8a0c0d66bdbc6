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
 *
 * Informs are sent with a 10 s timeout and no retry: a retransmitted inform is a second datagram
 * with a later receive time, so a second point (as without a bus); 10 s is far above any stall of
 * a receiver at load average 10 on 2 cores (its event loop answers within milliseconds).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusRig, logLines, stopBusCluster } from './helpers/busrig.js';
import { CLI } from './helpers/cli.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { startNats, type NatsCluster } from './helpers/nats.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { startDaemon, type Daemon } from './helpers/proc.js';
import { AUTH_KEY, PRIV_KEY, runTool } from './helpers/snmpd.js';

const DB = 'nvtraps';
/** The queue's ack_wait: p1's unacknowledged traps go to p2 this long after p1's last sign of life. */
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
const trapBlock = (): string =>
  `collectors: { snmptrap: { address: 127.0.0.1, port: ${port}, allow: [127.0.0.0/8], communities: [public], report_interval: 1s, ` +
  `users: [{ user: trapuser, auth_protocol: sha, auth_key: ${AUTH_KEY}, priv_protocol: aes, priv_key: ${PRIV_KEY} }] } }`;

/** The receiver, from the rig's config without its `sinks` line: a receiver on a bus needs none. */
async function runReceiver(): Promise<Daemon> {
  const file = join(tmp.dir, 'r.yaml');
  const cfg = rig.config('r', 'receiver', [trapBlock()]).split('\n').filter((l) => !l.startsWith('sinks:'));
  await writeFile(file, cfg.join('\n') + '\n');
  const d = startDaemon(process.execPath, [CLI, 'run', '-c', file]);
  rig.running.push(d);
  await waitFor('r started', () => d.output().includes('netvigil started'), 20_000).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n${d.output()}`);
  });
  return d;
}

const KINDS = ['v2c trap', 'v2c inform', 'v3 trap', 'v3 inform'] as const;
const V3 = ['-v3', '-u', 'trapuser', '-l', 'authPriv', '-a', 'SHA', '-A', AUTH_KEY, '-x', 'AES', '-X', PRIV_KEY];
const kindOf = (n: number): (typeof KINDS)[number] => KINDS[n % KINDS.length] as (typeof KINDS)[number];

/** Trap n: IF-MIB::linkDown with ifIndex.n = n, so each trap is told apart by its ifIndex field. */
async function send(n: number): Promise<void> {
  const body = [`127.0.0.1:${port}`, '', '1.3.6.1.6.3.1.1.5.3', `1.3.6.1.2.1.2.2.1.1.${n}`, 'i', String(n)];
  const kind = kindOf(n);
  const inform = ['-t', '10', '-r', '0'];
  if (kind === 'v2c trap') await runTool('snmptrap', ['-v2c', '-c', 'public', ...body], tmp.dir);
  if (kind === 'v2c inform') await runTool('snmpinform', ['-v2c', '-c', 'public', ...inform, ...body], tmp.dir);
  if (kind === 'v3 trap') await runTool('snmptrap', [...V3, '-e', '0x8000000001020399', ...body], tmp.dir);
  if (kind === 'v3 inform') await runTool('snmpinform', [...V3, ...inform, ...body], tmp.dir);
}

async function sendRange(from: number, to: number): Promise<void> {
  for (let n = from; n < to; n++) await send(n);
}

interface TrapPoint {
  ifIndex: number;
  version: string;
  pdu: string;
}

async function inInflux(): Promise<TrapPoint[]> {
  const s = await influx.query(DB, 'SELECT "ifIndex", "version", "pdu", "trap" FROM "snmp_trap"').catch(() => []);
  return (s[0]?.values ?? []).map((v) => ({ ifIndex: Number(v[1]), version: String(v[2]), pdu: String(v[3]) }));
}

/** An instance's snmp_trap lines, by ifIndex: series key and timestamp (what makes a point a point). */
async function lines(name: string): Promise<Map<number, string[]>> {
  const dir = join(tmp.dir, name, 'lp');
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
async function trapStats(name: string): Promise<Record<string, number>> {
  const dir = join(tmp.dir, name, 'lp');
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
    const r = await runReceiver();
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
      return s.acked === s.messages;
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
  }, 300_000);
});
