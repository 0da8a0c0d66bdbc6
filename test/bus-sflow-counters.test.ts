/**
 * sFlow counter samples across a bus takeover, for real: a 3-node nats-server cluster on loopback
 * (R3), a real influxd, one receiver and two processors as `netvigil run` processes, and Debian's
 * pmacctd (sfprobe plugin) as six sFlow agents, one per loopback address, each exporting a pcap of
 * generated traffic until it sends its first counter sample (sfprobe polls its interface every
 * 20 s, the first poll at a random second of those: real agent output, replayed in rounds).
 *
 * A counter sample becomes an `interface` point stamped with the receive time its bus frame carries
 * (src/bus/frame.ts). A processor killed after writing such points from messages it had not
 * committed leaves the new owner to decode those messages again: the points it writes must be the
 * same points (InfluxDB replaces them), not copies under its own `instance` (nor, when decoded while
 * an interval closed, copies in its outbox), so InfluxDB holds the points a single process writes
 * for the same datagrams. The kill is timed with NETVIGIL_TEST_HOLD_COMMIT_MS (src/bus/outbox.ts),
 * as in test/bus-raw.test.ts.
 */
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './helpers/cli.js';
import { BusRig, logLines, owned, stopBusCluster } from './helpers/busrig.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { startNats, type NatsCluster } from './helpers/nats.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { makeTraffic, writePcap } from './helpers/pcap.js';
import { runSfprobe } from './helpers/pmacct.js';
import { startDaemon, type Daemon } from './helpers/proc.js';

const PARTITIONS = 4;
const SOURCES = 6;
const ROUND_MS = 500;
const LEASE_TTL_MS = 3000;
const INTERVAL_MS = 2000;
/** As in test/bus-raw.test.ts: p1 decodes and writes several rounds past its held commit. */
const HOLD_MS = 8000;
const address = (i: number): string => `127.0.0.${10 + i}`;

/**
 * Counter samples in an sFlow v5 datagram, by our own XDR walk (sFlow v5 memo §5: header, then
 * samples as format + length; enterprise 0 format 2 is a counter sample, 4 an expanded one).
 */
function counterSamples(d: Uint8Array): number {
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  let o = v.getUint32(4) === 2 ? 24 : 12;
  o += 12; // sub-agent id, sequence, uptime
  const n = v.getUint32(o);
  o += 4;
  let k = 0;
  for (let i = 0; i < n && o + 8 <= d.byteLength; i++) {
    const format = v.getUint32(o);
    if (format === 2 || format === 4) k++;
    o += 8 + v.getUint32(o + 4);
  }
  return k;
}

let tmp: { dir: string; cleanup: () => Promise<void> };
let nats: NatsCluster;
let influx: Influxd;
/** Per agent: the datagrams of one round (the counter sample's datagram and the two before it). */
let rounds: Buffer[][] = [];
const rigs: BusRig[] = [];
const running: Daemon[] = [];

beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-bussflow-');
  const pcap = join(tmp.dir, 'traffic.pcap');
  writeFileSync(pcap, writePcap(makeTraffic(10, Math.floor(Date.now() / 1000) - 60)));
  // one pmacctd per agent, replaying the pcap once a second until its first counter sample
  const [n, i, runs] = await Promise.all([
    startNats(tmp.dir, 3),
    startInfluxd(),
    Promise.all(Array.from({ length: SOURCES }, (_, k) =>
      runSfprobe({ dir: tmp.dir, pcapPath: pcap, agentIp: address(k), extra: ['pcap_savefile_replay: 40', 'pcap_savefile_delay: 1'], timeoutMs: 45_000, until: (d) => counterSamples(d) > 0 }),
    )),
  ]);
  nats = n;
  influx = i;
  rounds = runs.map((r, k) => {
    const at = r.datagrams.findIndex((d) => counterSamples(d) > 0);
    if (at < 0) throw new Error(`sfprobe for ${address(k)} sent no counter sample in ${r.datagrams.length} datagrams\n${r.output}`);
    return r.datagrams.slice(Math.max(0, at - 2), at + 1).map((d) => Buffer.from(d));
  });
}, 90_000);
afterAll(async () => {
  await Promise.all(running.map((d) => d.stop('SIGTERM', 5000)));
  await stopBusCluster({ tmp, nats, influx }, rigs);
});

const flowBlock = (port: number): string =>
  `collectors: { flow: { listen: [{ address: 127.0.0.1, port: ${port} }], interval: ${INTERVAL_MS}ms, dimensions: [exporter] } }`;

async function senders(): Promise<{ round: (port: number) => Promise<void>; close: () => void }> {
  const socks: Socket[] = [];
  for (let k = 0; k < SOURCES; k++) {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, address(k), () => r()));
    socks.push(s);
  }
  const send = (s: Socket, d: Buffer, port: number): Promise<void> => new Promise((r, j) => s.send(d, port, '127.0.0.1', (e) => (e ? j(e) : r())));
  return {
    round: async (port) => {
      for (const [k, s] of socks.entries()) for (const d of rounds[k] ?? []) await send(s, d, port);
    },
    close: () => socks.forEach((s) => s.close()),
  };
}

/** `interface` lines in an instance's line-protocol files: series key without `instance`, and time. */
async function counterLines(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const f of await readdir(dir)) {
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) {
      if (line.startsWith('interface,')) out.push(`${line.slice(0, line.indexOf(' ')).replace(/,instance=[^,]*/, '')} ${line.slice(line.lastIndexOf(' ') + 1)}`);
    }
  }
  return out;
}

/** Every `interface` point in a database, as its tags and fields without time and `instance`. */
async function counterPoints(db: string): Promise<string[]> {
  const [s] = await influx.query(db, 'SELECT * FROM "interface"');
  if (!s) return [];
  const keep = s.columns.map((c, i) => [c, i] as const).filter(([c]) => c !== 'time' && c !== 'instance');
  return s.values.map((v) => keep.map(([c, i]) => `${c}=${String(v[i] ?? '')}`).join(','));
}

const perRound = (): number => rounds.flat().reduce((a, d) => a + counterSamples(d), 0);

describe('sFlow counter samples across a bus takeover (3-node NATS cluster, R3)', () => {
  it('a processor killed between its writes and its commit: the new owner writes the same counter points a single process writes', async () => {
    expect(perRound()).toBeGreaterThanOrEqual(SOURCES);

    // the reference: one `netvigil run` without a bus, one round of the same datagrams
    const soloPort = await freeUdpPort();
    await mkdir(join(tmp.dir, 'solo'), { recursive: true });
    const soloCfg = join(tmp.dir, 'solo.yaml');
    await writeFile(soloCfg, [
      'log_format: json', `data_dir: ${join(tmp.dir, 'solo')}`, 'instance: solo', 'monitor: { enabled: false }', 'pipeline: { flush_interval: 200ms }',
      `sinks: { file: { dir: ${join(tmp.dir, 'solo', 'lp')} }, influx: { url: '${influx.url}', database: bussflow_solo } }`, flowBlock(soloPort),
    ].join('\n') + '\n');
    const solo = startDaemon(process.execPath, [CLI, 'run', '-c', soloCfg]);
    running.push(solo);
    await waitFor('solo started', () => solo.output().includes('netvigil started'), 20_000);
    const out0 = await senders();
    await out0.round(soloPort);
    out0.close();
    await waitFor('solo wrote its counter points', async () => (await counterPoints('bussflow_solo')).length >= perRound(), 10_000, 200);
    await solo.stop('SIGTERM', 10_000);
    const single = await counterPoints('bussflow_solo');
    expect(single).toHaveLength(perRound());

    await mkdir(join(tmp.dir, 'bus'), { recursive: true });
    const rig = new BusRig({ dir: join(tmp.dir, 'bus'), nats, influx, database: 'bussflow', stream: 'BUSSFLOW', partitions: PARTITIONS, leaseTtlMs: LEASE_TTL_MS });
    rigs.push(rig);
    const p1 = await rig.run('p1', 'processor', [flowBlock(0)], { NETVIGIL_TEST_HOLD_COMMIT_MS: String(HOLD_MS) });
    const p2 = await rig.run('p2', 'processor', [flowBlock(0)]);
    const port = await freeUdpPort();
    const r1 = await rig.run('r1', 'receiver', [flowBlock(port)]);
    await waitFor('partitions shared by 2 processors', () => {
      const a = owned(p1);
      const b = owned(p2);
      return a.size >= 1 && b.size >= 1 && new Set([...a, ...b]).size === PARTITIONS;
    }, 30_000, 200);

    const out = await senders();
    let sent = 0;
    const round = async (): Promise<void> => {
      await out.round(port);
      sent++;
      await new Promise((r) => setTimeout(r, ROUND_MS));
    };
    const held = (): Record<string, unknown>[] => logLines(p1, 'bus test hook: interval written, holding its commit');
    const started = Date.now();
    while (!held().length && Date.now() - started < 30_000) await round();
    expect(held().length).toBeGreaterThan(0);
    const p1Lines = (): Promise<string[]> => counterLines(join(tmp.dir, 'bus', 'p1', 'lp'));
    const before = (await p1Lines()).length;
    // two rounds inside the held commit: counter points p1 writes of messages it will never commit
    // (margin as in test/bus-raw.test.ts: a round's trip took well under 2 s at load average 10)
    for (let i = 0; i < 2; i++) await round();
    await waitFor('p1 writing counter points past its held commit', async () => (await p1Lines()).length > before, 4000, 100);
    p1.proc.kill('SIGKILL');
    const killedAt = Date.now();
    while (owned(p2).size !== PARTITIONS && Date.now() - killedAt < 30_000) await round();
    expect(owned(p2).size).toBe(PARTITIONS);
    for (let i = 0; i < 3; i++) await round();
    out.close();
    await r1.stop('SIGTERM', 10_000);
    await new Promise((r) => setTimeout(r, 3000));
    await p2.stop('SIGTERM', 15_000);

    const [l1, l2] = await Promise.all(['p1', 'p2'].map((n) => counterLines(join(tmp.dir, 'bus', n, 'lp'))));
    const both = new Set(l1).size + new Set(l2).size - new Set([...(l1 ?? []), ...(l2 ?? [])]).size;
    const points = await counterPoints('bussflow');
    console.log(`${sent} rounds of ${perRound()} counter samples; interface lines p1 ${l1?.length}, p2 ${l2?.length}, the same point written by both ${both}; InfluxDB ${points.length} points`);
    // one point per counter sample sent, each one a single process writes for the same datagram
    expect(points).toHaveLength(sent * perRound());
    expect(new Set(points)).toEqual(new Set(single));
    // the case was hit: p1 wrote counter points that p2 wrote again
    expect(both).toBeGreaterThan(0);
  }, 240_000);
});
