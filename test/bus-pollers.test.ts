/**
 * Pollers sharing the SNMP inventory over NATS JetStream, for real: a 3-node nats-server cluster on
 * loopback (R3 buckets), a real snmpd answering for 6 devices (names on one agent; leases go by
 * name), a real influxd, and three `netvigil run` processes: pollers `pa` and `pb`, and `pc`, a
 * receiver and processor without any SNMP. `pa` starts alone and takes every device; `pb` joins and
 * takes half; `pa` is killed with SIGKILL inside the window between handing a poll over (its sample
 * and records put in the bus) and emitting its records, which a test hook holds open, and `pb`
 * takes the rest and writes that poll's records itself. Checked in InfluxDB: every device
 * polled by one poller at a time, each interface's rate series without a gap longer than one poll
 * interval plus the takeover time, the first rate after a takeover equal to the counters' own
 * increase, and `pc` writing flow_agg points with the SNMP ifName only the pollers learned.
 */
import { createSocket } from 'node:dgram';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './helpers/cli.js';
import { buildV5 } from './helpers/flow-build.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { startNats, type NatsCluster } from './helpers/nats.js';
import { freeTcpPort, freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { startBlackhole } from './helpers/blackhole.js';
import { startDaemon, type Daemon } from './helpers/proc.js';
import { startSnmpd, type Snmpd } from './helpers/snmpd.js';

const DEVICES = ['core-1', 'core-2', 'dist-a', 'dist-b', 'edge-1', 'fw-hq'];
const INTERVAL_MS = 5000;
const LEASE_TTL_MS = 2000;
/**
 * A dead poller's lease is taken once the taker has read it unchanged for a TTL, at its heartbeat
 * (every third of the TTL); a poll that fell due meanwhile runs at takeover. So a rate gap is at
 * most one interval plus TTL x 4/3, plus 1 s for timers and the poll itself on a loaded machine.
 */
const MAX_GAP_MS = INTERVAL_MS + (LEASE_TTL_MS * 4) / 3 + 1000;
const DB = 'nvpoll';

let tmp: { dir: string; cleanup: () => Promise<void> };
let nats: NatsCluster;
let influx: Influxd;
let agent: Snmpd;
const running: Daemon[] = [];

interface Bus {
  servers: string[];
  stream: string;
  db: string;
}

function config(name: string, roles: string, extra: string[], bus: Bus): string {
  const dir = join(tmp.dir, name);
  return [
    'log_level: info',
    'log_format: json',
    `data_dir: ${dir}`,
    `instance: ${name}`,
    `roles: [${roles}]`,
    'monitor: { enabled: false }',
    'pipeline: { flush_interval: 200ms }',
    'telemetry_interval: 1s',
    `sinks: { file: { dir: ${join(dir, 'lp')} }, influx: { url: '${influx.url}', database: ${bus.db} } }`,
    `bus: { nats: { servers: [${bus.servers.join(', ')}], stream: ${bus.stream}, replicas: 3, partitions: 4, lease_ttl: ${LEASE_TTL_MS}ms, batch_delay: 20ms } }`,
    ...extra,
  ].join('\n');
}

async function run(name: string, roles: string, extra: string[], bus: Bus = { servers: nats.urls, stream: 'NVPOLL', db: DB }, env: Record<string, string> = {}): Promise<Daemon> {
  const file = join(tmp.dir, `${name}.yaml`);
  await writeFile(file, config(name, roles, extra, bus) + '\n');
  const d = startDaemon(process.execPath, [CLI, 'run', '-c', file], { env: { ...process.env, ...env } });
  running.push(d);
  await waitFor(`${name} started`, () => d.output().includes('netvigil started'), 20_000).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n${d.output()}`);
  });
  return d;
}

/** Devices a poller holds now, from its log ("taken" minus "released"/"lost"). */
function held(d: Daemon): Set<string> {
  const s = new Set<string>();
  for (const line of d.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    const j = JSON.parse(line) as { msg?: string; device?: string };
    if (j.device === undefined) continue;
    if (j.msg === 'bus device taken') s.add(j.device);
    if (j.msg === 'bus device released' || j.msg === 'bus device lease lost to another poller') s.delete(j.device);
  }
  return s;
}

/** The snmp block over an inventory of DEVICES, all on the one snmpd. */
async function inventory(): Promise<string> {
  const file = join(tmp.dir, 'devices.yaml');
  await writeFile(
    file,
    [
      `defaults: { port: ${agent.port}, version: v2c, credentials: { community: public }, profiles: [system, interfaces], interval: ${INTERVAL_MS}ms, timeout: 1s, retries: 1 }`,
      'devices:',
      // edge-1 claims the flow exporter address 127.0.0.20 (the others share 127.0.0.1, ambiguous)
      ...DEVICES.map((n) => `  - { name: ${n}, address: 127.0.0.1${n === 'edge-1' ? ', flow_addresses: [127.0.0.20]' : ''} }`),
    ].join('\n') + '\n',
  );
  return `collectors: { snmp: { devices: ${file} } }`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-pollers-');
  nats = await startNats(tmp.dir, 3);
  influx = await startInfluxd();
  agent = await startSnmpd();
}, 60_000);

afterAll(async () => {
  await Promise.all(running.map((d) => d.stop('SIGTERM', 5000)));
  await nats?.stop();
  await agent?.stop();
  await influx?.cleanup();
  await tmp?.cleanup();
});

describe('pollers on NATS JetStream (3-node cluster, R3)', () => {
  it('share the devices, move a killed poller\'s within seconds without a rate gap, and name interfaces for processors elsewhere', async () => {
    const snmp = await inventory();
    const flowPort = await freeUdpPort();
    // no snmp block: pc learns interface names only from the bus
    const [pcHttp, pbHttp] = [await freeTcpPort(), await freeTcpPort()];
    const pc = await run('pc', 'receiver, processor', [`collectors: { flow: { listen: [{ address: 127.0.0.1, port: ${flowPort} }], interval: 2s, dimensions: [exporter, in_if] } }`, `http: { listen: 127.0.0.1:${pcHttp} }`]);
    // pa holds each poll's records 1.5 s after handing them over (src/bus/pollers.ts testHold), so
    // the kill below lands in that window for certain: without the hand-over's records written
    // again by pb, that poll's rates would be missing (a gap of two intervals)
    const pa = await run('pa', 'poller', [snmp], undefined, { NETVIGIL_TEST_HOLD_HANDOFF_MS: '1500' });
    await waitFor('pa alone takes every device', () => held(pa).size === DEVICES.length, 20_000, 100);
    await sleep(2 * INTERVAL_MS);
    const pb = await run('pb', 'poller', [snmp, `http: { listen: 127.0.0.1:${pbHttp} }`]);
    // a new poller takes its fair share: ceil(6 / 2) = 3, handed over by pa
    await waitFor('pa and pb hold 3 devices each', () => held(pa).size === 3 && held(pb).size === 3, 20_000, 100).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}: pa ${[...held(pa)].join(',')} pb ${[...held(pb)].join(',')}\n${pa.output()}\n----\n${pb.output()}`);
    });
    expect(new Set([...held(pa), ...held(pb)]).size).toBe(DEVICES.length);
    const balancedAt = Date.now();

    // flows from edge-1's flow address, input ifIndex 1 (snmpd's `lo`): pc has never polled anything
    const exporter = createSocket('udp4');
    await new Promise<void>((r) => exporter.bind(0, '127.0.0.20', () => r()));
    for (let seq = 0; seq < 4; seq++) {
      const d = buildV5({ uptime: 100_000, secs: Math.floor(Date.now() / 1000), seq }, [{ src: '10.0.0.1', dst: '10.0.0.2', input: 1, output: 2, packets: 10, bytes: 1000, first: 99_000, last: 99_500, srcPort: 1234, dstPort: 80, proto: 6 }]);
      await new Promise<void>((r, j) => exporter.send(d, flowPort, '127.0.0.1', (e) => (e ? j(e) : r())));
      await sleep(500);
    }
    exporter.close();

    await sleep(2 * INTERVAL_MS);
    const holds = () => pa.output().split('\n').filter((l) => l.includes('poll handed over, holding its records')).length;
    const seen = holds();
    await waitFor('pa inside a held hand-over', () => holds() > seen, 3 * INTERVAL_MS, 20);
    const victimHad = held(pa);
    pa.proc.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor('pb takes the killed poller\'s devices', () => held(pb).size === DEVICES.length, 30_000, 50).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${pb.output()}`);
    });
    const movedMs = Date.now() - killedAt;
    console.log(`devices ${[...victimHad].join(',')} moved ${movedMs} ms after SIGKILL (lease_ttl ${LEASE_TTL_MS} ms, interval ${INTERVAL_MS} ms)`);
    expect(movedMs).toBeLessThan(LEASE_TTL_MS + 5000);
    await sleep(3 * INTERVAL_MS);
    // /status: pb's devices and lease counters; pc, which polls nothing, knows every device's interfaces
    const status = async (port: number) => (await (await fetch(`http://127.0.0.1:${port}/status.json`)).json()) as { bus: { poller?: { devices: string[]; lost: number; taken: number; replayed: number } }; interfaces: { device: string; snmp: number }[] };
    const sb = await status(pbHttp);
    expect(sb.bus.poller).toMatchObject({ devices: [...DEVICES].sort(), lost: 0, taken: DEVICES.length });
    // every take wrote the previous poller's last poll again: some interface records each
    expect(sb.bus.poller!.replayed).toBeGreaterThanOrEqual(DEVICES.length);
    const sc = await status(pcHttp);
    expect(sc.bus.poller).toBeUndefined();
    expect(sc.interfaces.filter((i) => i.snmp > 0).map((i) => i.device).sort()).toEqual([...DEVICES].sort());
    await pb.stop('SIGTERM', 10_000);
    await pc.stop('SIGTERM', 10_000);
    const end = Date.now();

    // one poller at a time: a second one on its own phase would split an interval in two
    const polls = await influx.query(DB, 'SELECT "ok", "instance" FROM "snmp_poll" GROUP BY "device"');
    expect(polls.map((s) => s.tags?.device).sort()).toEqual([...DEVICES].sort());
    for (const s of polls) {
      const rows = s.values as [number, boolean, string][];
      let switches = 0;
      for (let k = 1; k < rows.length; k++) {
        const gap = rows[k]![0] - rows[k - 1]![0];
        expect(gap, `${s.tags?.device} polls ${gap} ms apart`).toBeGreaterThan(INTERVAL_MS * 0.5);
        if (rows[k]![2] !== rows[k - 1]![2]) switches++;
      }
      // pa -> pb at most once (at pb's start for half the devices, at the kill for the rest)
      expect(switches, `${s.tags?.device}: ${rows.map((r) => r[2]).join(' ')}`).toBeLessThanOrEqual(1);
      expect(rows.at(-1)![2]).toBe('pb');
    }

    // every interface's rates go on through both moves, from the first rate to pb's stop
    const rates = await influx.query(DB, 'SELECT "in_bps", "in_octets", "instance" FROM "interface" WHERE "source" = \'snmp\' GROUP BY "device", "if_index"');
    // each poll's duration, by device and poll start: its counters were read somewhere in [start, start + duration]
    const durations = new Map<string, number>();
    for (const d of await influx.query(DB, 'SELECT "duration_ms" FROM "snmp_poll" GROUP BY "device"')) {
      for (const [t, ms] of d.values as [number, number][]) durations.set(`${d.tags?.device}|${t}`, ms);
    }
    expect(rates.length).toBeGreaterThanOrEqual(DEVICES.length);
    let worst = 0;
    let checkedTakeovers = 0;
    for (const s of rates) {
      const rows = (s.values as [number, number | null, number, string][]).filter((r) => r[1] !== null);
      expect(rows.length, JSON.stringify(s.tags)).toBeGreaterThan(4);
      for (let k = 1; k < rows.length; k++) {
        const gap = rows[k]![0] - rows[k - 1]![0];
        worst = Math.max(worst, gap);
        expect(gap, `${JSON.stringify(s.tags)} rate gap ${gap} ms at ${rows[k]![0] - killedAt} ms after the kill`).toBeLessThanOrEqual(MAX_GAP_MS);
      }
      expect(end - rows.at(-1)![0]).toBeLessThanOrEqual(MAX_GAP_MS + 10_000);
      // the first rate of a new owner is the counter's increase since the previous owner's last poll
      const all = s.values as [number, number | null, number, string][];
      for (let k = 1; k < all.length; k++) {
        const [t0, , o0, i0] = all[k - 1]!;
        const [t1, bps, o1, i1] = all[k]!;
        if (i0 === i1) continue;
        expect(bps, `first rate of ${i1} for ${JSON.stringify(s.tags)}`).not.toBeNull();
        // the rate runs on the device's clock (sysUpTime, read early in each poll), the points are
        // timed at each poll's start: the true interval lies between (t1 - t0) - d0 and (t1 - t0) + d1,
        // d = the polls' durations (a new owner's first poll can take a second on a loaded machine)
        const d0 = durations.get(`${s.tags?.device}|${t0}`) ?? 0;
        const d1 = durations.get(`${s.tags?.device}|${t1}`) ?? 0;
        const lo = ((o1 - o0) * 8) / ((t1 - t0 + d1) / 1000);
        const hi = ((o1 - o0) * 8) / (Math.max(1, t1 - t0 - d0) / 1000);
        // 5 % beyond that for sysUpTime's 10 ms ticks and the clocks' rates
        expect(bps as number, `${bps} outside [${lo}, ${hi}] (polls of ${d0} and ${d1} ms)`).toBeGreaterThanOrEqual(lo * 0.95 - 1);
        expect(bps as number, `${bps} outside [${lo}, ${hi}] (polls of ${d0} and ${d1} ms)`).toBeLessThanOrEqual(hi * 1.05 + 1);
        checkedTakeovers++;
      }
    }
    console.log(`worst rate gap ${worst} ms (bound ${MAX_GAP_MS} ms); ${checkedTakeovers} takeovers checked against the counters`);
    expect(checkedTakeovers).toBeGreaterThanOrEqual(DEVICES.length);

    // self-telemetry says what moved when: pb's held devices after the kill are all of them
    const bus = await influx.query(DB, `SELECT "held", "taken", "lost" FROM "netvigil_bus" WHERE "role" = 'poller' AND "instance" = 'pb' AND time > ${killedAt}ms`);
    const last = bus[0]?.values.at(-1);
    expect(String(last?.[1]).split(',').sort()).toEqual([...DEVICES].sort());
    expect(last?.[2]).toBe(DEVICES.length);
    const before = await influx.query(DB, `SELECT last("devices") FROM "netvigil_bus" WHERE "role" = 'poller' AND "instance" = 'pa' AND time > ${balancedAt}ms`);
    expect(before[0]?.values[0]?.[1]).toBe(3);

    // pc (no poller) enriched edge-1's flows with the ifName and device only pa/pb polled
    const agg = await influx.query(DB, 'SELECT "flows", "in_if_name", "device", "instance" FROM "flow_agg"');
    const rows = agg[0]?.values ?? [];
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.slice(2)).toEqual(['lo', 'edge-1', 'pc']);
  }, 180_000);
});

describe('a poller cut off from NATS (its connection silent, not closed)', () => {
  it('stops polling its devices about a TTL after its last renewal, while another poller takes them', async () => {
    const snmp = await inventory();
    const node = Number(new URL(nats.urls[2] as string).port);
    const hole = await startBlackhole(node);
    try {
      const bus = { stream: 'NVCUT', db: 'nvcut' };
      const px = await run('px', 'poller', [snmp], { ...bus, servers: [`nats://127.0.0.1:${hole.port}`] });
      await waitFor('px alone takes every device', () => held(px).size === DEVICES.length, 20_000, 100);
      const py = await run('py', 'poller', [snmp], { ...bus, servers: nats.urls.slice(0, 2) });
      await waitFor('px and py hold 3 devices each', () => held(px).size === 3 && held(py).size === 3, 20_000, 100);
      await sleep(INTERVAL_MS);
      const cutOff = held(px);
      hole.cut();
      const cutAt = Date.now();
      await waitFor('py takes px\'s devices', () => held(py).size === DEVICES.length, 30_000, 50);
      console.log(`cut off: py took ${[...cutOff].join(',')} ${Date.now() - cutAt} ms after the cut`);
      await sleep(3 * INTERVAL_MS);
      await py.stop('SIGTERM', 10_000);
      await px.stop('SIGKILL');

      const polls = await influx.query('nvcut', 'SELECT "ok", "instance" FROM "snmp_poll" GROUP BY "device"');
      for (const s of polls) {
        const device = s.tags?.device as string;
        const rows = s.values as [number, boolean, string][];
        const late = rows.filter((r) => r[2] === 'px' && r[0] > cutAt + (LEASE_TTL_MS * 4) / 3 + 1000);
        expect(late.map((r) => r[0] - cutAt), `${device}: px polls after its leases expired (ms after the cut)`).toEqual([]);
        if (cutOff.has(device)) expect(rows.some((r) => r[2] === 'py' && r[0] > cutAt)).toBe(true);
      }
      expect(px.output()).toContain('polling stops until they are taken again');
    } finally {
      await hole.close();
    }
  }, 120_000);
});
