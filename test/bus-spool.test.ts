/**
 * A bus receiver stopped while the bus cannot acknowledge its batches loses nothing (README
 * "Scale-out", Stop spool; src/bus/spool.ts): a 3-node nats-server cluster on loopback (R3 stream),
 * `netvigil run` receivers and a processor writing line-protocol files, softflowd's real NetFlow v9
 * export of generated conversations replayed from 6 loopback addresses.
 *
 * (a) The stream's leader and a follower are killed, so the survivor has no quorum and no leader
 * for as long as they are down (not a race against an election); flows are sent, the receiver gets
 * SIGTERM and spools every batch; the nodes come back, the receiver starts again and publishes the
 * spool. (b) The same with both followers killed: the leader appends what it is sent but cannot
 * commit it until they return. (c) The receiver's connection to NATS goes through a forwarder that
 * stops passing the server's replies: its publishes are stored, their acknowledgements lost; it gets
 * SIGTERM, spools them, starts again (connected directly) and publishes them with the same ids,
 * which the stream's duplicate window (120 s; a run takes seconds) answers as duplicates.
 * In each, the processor's flow_agg points count every flow sent exactly once, and the stream
 * holds each batch once. No outcome depends on timing: no acknowledgement can arrive before the
 * stop (no quorum, or no replies), every wait is for observed state (telemetry, logs, stream info)
 * bounded at 30-60 s, and the 120 s window is 6x the longest stop-to-replay span seen at load 10
 * (about 20 s: the stop's 4 s, a 5 s drain timeout, a start).
 */
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBlackhole } from './helpers/blackhole.js';
import { dataOnly, logLines, owned, senders, softflowdCapture, v9DataRecords } from './helpers/busrig.js';
import { CLI } from './helpers/cli.js';
import { startNats, type NatsCluster } from './helpers/nats.js';
import { freeTcpPort, freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { startDaemon, type Daemon } from './helpers/proc.js';
import { lpTotals } from './helpers/lptotals.js';

const PARTITIONS = 4;
const SOURCES = 6;
const ROUNDS = 4;
const SPOOLED = 'stop: batches not acknowledged by the bus before the deadline: spooled, published first at the next start';
const REPLAYED = 'bus spool replayed: every spooled batch acknowledged';

let tmp: { dir: string; cleanup: () => Promise<void> };
let nats: NatsCluster;
let nc: NatsConnection | undefined;
const running: Daemon[] = [];
let capture: Buffer[] = [];

interface Opts {
  stream: string;
  flowPort: number;
  servers?: string[];
  /** Port of the HTTP surface (/metrics); none: off. */
  http?: number;
}

async function run(name: string, roles: string, o: Opts): Promise<Daemon> {
  const dir = join(tmp.dir, name);
  const file = join(tmp.dir, `${name}.yaml`);
  const text = [
    'log_level: info',
    'log_format: json',
    `data_dir: ${dir}`,
    `instance: ${name}`,
    `roles: [${roles}]`,
    'monitor: { enabled: false }',
    'pipeline: { flush_interval: 200ms }',
    'telemetry_interval: 1s',
    // the receiver's bus gets about half: it waits 1.5 s for acknowledgements, then spools
    'shutdown_timeout: 4s',
    `sinks: { file: { dir: ${join(dir, 'lp')} } }`,
    `bus: { nats: { servers: [${(o.servers ?? nats.urls).join(', ')}], stream: ${o.stream}, replicas: 3, partitions: ${PARTITIONS}, batch_delay: 20ms } }`,
    `collectors: { flow: { listen: [{ address: 127.0.0.1, port: ${o.flowPort} }], interval: 2s, dimensions: [exporter, proto] } }`,
    ...(o.http ? [`http: { listen: '127.0.0.1:${o.http}' }`] : []),
  ].join('\n');
  await writeFile(file, text + '\n');
  const d = startDaemon(process.execPath, [CLI, 'run', '-c', file]);
  running.push(d);
  await waitFor(`${name} started`, () => d.output().includes('netvigil started'), 30_000).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n${d.output()}`);
  });
  return d;
}

/** Sends ROUNDS rounds from every source (templates in the first only); returns the datagrams and flows sent. */
async function sendRounds(port: number): Promise<{ datagrams: number; flows: number }> {
  const later = dataOnly(capture);
  const tpl = capture.filter((d) => !later.includes(d));
  const perLater = v9DataRecords([...tpl, ...later]) - v9DataRecords(tpl);
  const tx = await senders(SOURCES);
  let datagrams = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of tx.socks) {
      for (const d of round ? later : capture) await tx.send(s, d, port);
      datagrams += (round ? later : capture).length;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  tx.close();
  return { datagrams, flows: SOURCES * (v9DataRecords(capture) + (ROUNDS - 1) * perLater) };
}

/** The receiver took every datagram sent (its last `netvigil_bus` telemetry in its own files). */
async function received(name: string, datagrams: number): Promise<boolean> {
  const t = await lpTotals(join(tmp.dir, name, 'lp'), 'netvigil_bus', 'role=receiver', 'datagrams');
  return t.last === datagrams;
}

async function flowsOf(name: string): Promise<{ total: number; points: number; keys: number }> {
  const t = await lpTotals(join(tmp.dir, name, 'lp'), 'flow_agg', '', 'flows');
  return { total: t.sum, points: t.count, keys: t.keys };
}

async function streamMessages(stream: string): Promise<number> {
  nc ??= await connect({ servers: nats.urls });
  return (await (await nc.jetstreamManager()).streams.info(stream)).state.messages;
}

const spoolFiles = (name: string): string[] => {
  const dir = join(tmp.dir, name, 'bus-spool');
  return existsSync(dir) ? readdirSync(dir) : [];
};

beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-busspool-');
  nats = await startNats(tmp.dir, 3);
  capture = await softflowdCapture(tmp.dir, 40);
}, 90_000);

afterAll(async () => {
  await Promise.all(running.map((d) => d.stop('SIGTERM', 5000)));
  await nc?.close();
  await nats?.stop();
  await tmp?.cleanup();
});

/** Index in `nats.nodes` of the node leading `stream` (nodes are named n0, n1, ...). */
async function streamLeader(stream: string): Promise<number> {
  nc ??= await connect({ servers: nats.urls });
  const leader = (await (await nc.jetstreamManager()).streams.info(stream)).cluster?.leader ?? '';
  const i = Number(/^n(\d+)$/.exec(leader)?.[1] ?? NaN);
  if (!(i >= 0 && i < nats.nodes.length)) throw new Error(`stream leader ${leader} is none of our nodes`);
  return i;
}

/**
 * Every stream of the account (the test streams and the KV buckets' streams) has a leader and all its
 * replicas current. A stream with a leader again is not enough after nodes restart: a processor
 * started then timed out making its buckets while the others still elected (1 run in 3).
 */
async function settled(): Promise<boolean> {
  nc ??= await connect({ servers: nats.urls });
  const jsm = await nc.jetstreamManager();
  for await (const si of jsm.streams.list()) {
    const c = si.cluster;
    if (!c?.leader || (c.replicas ?? []).length !== 2 || !(c.replicas ?? []).every((r) => r.current && !r.offline)) return false;
  }
  return true;
}

/**
 * Two of three replicas killed, so no quorum until they return (raft needs a majority), then flows
 * sent, the receiver stopped, the nodes started again, the receiver started again. `kill`: the
 * leader and a follower (the survivor cannot elect: nothing is stored, every publish is refused or
 * unanswered), or both followers (the leader appends what it is sent but cannot commit it: the
 * entries are committed once the followers return, so batches never acknowledged land anyway).
 */
async function leaderless(kill: 'leader' | 'followers', tag: string): Promise<{ batches: number; duplicates: number }> {
  const port = await freeUdpPort();
  const stream = `NVSPOOL${tag.toUpperCase()}`;
  const opts = { stream, flowPort: port };
  const rx = `r${tag}`;
  const proc = `p${tag}`;
  const r1 = await run(rx, 'receiver', opts);
  const leader = (await waitFor('the stream leader', async () => ({ i: await streamLeader(stream) }), 30_000, 200)).i; // n0 is 0: not a wait's truthy answer
  const others = [0, 1, 2].filter((i) => i !== leader);
  const victims = kill === 'leader' ? [leader, others[0] as number] : others;
  for (const i of victims) (nats.nodes[i] as Daemon).proc.kill('SIGKILL');
  const sent = await sendRounds(port);
  await waitFor('the receiver took every datagram', () => received(rx, sent.datagrams), 30_000, 200);
  await r1.stop('SIGTERM', 30_000);
  const spooled = logLines(r1, SPOOLED);
  expect(spooled, r1.output()).toHaveLength(1);
  // nothing was acknowledged, so every datagram taken is in the spool, none dropped
  expect(spooled[0]?.['datagrams']).toBe(sent.datagrams);
  expect(r1.output()).not.toContain('dropped (counted in dropped_batches');
  const batches = spooled[0]?.['batches'] as number;
  expect(spoolFiles(rx).filter((f) => f.endsWith('.nvb'))).toHaveLength(batches);

  for (const i of victims) await nats.restart(i);
  await waitFor('the stream has a leader again', async () => ({ i: await streamLeader(stream) }), 60_000, 500).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n${nats.nodes.map((d, i) => `n${i}:\n${d.output().split('\n').slice(-30).join('\n')}`).join('\n----\n')}`);
  });
  await waitFor('every stream settled', settled, 60_000, 500);
  const p1 = await run(proc, 'processor', { ...opts, flowPort: 0 });
  await waitFor(`${proc} holds every partition`, () => owned(p1).size === PARTITIONS, 30_000, 200);
  const http = await freeTcpPort();
  const r2 = await run(rx, 'receiver', { ...opts, http });
  expect(logLines(r2, 'bus spool pending: batches not acknowledged at the last stop; publishing them before new batches')[0]?.['batches']).toBe(batches);
  await waitFor('the spool published', () => logLines(r2, REPLAYED).length === 1, 60_000, 200);
  const replay = logLines(r2, REPLAYED)[0];
  expect(replay).toMatchObject({ replayed: batches, datagrams: sent.datagrams });
  expect(spoolFiles(rx)).toEqual([]);
  const metrics = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
  expect(metrics).toContain(`\nnetvigil_bus_receiver_replayed_datagrams_total ${sent.datagrams}\n`);
  expect(metrics).toContain('\nnetvigil_bus_receiver_spool_pending_batches 0\n');
  // each batch once on the stream, whether it got there before the replay or by it
  expect(await streamMessages(stream)).toBe(batches);

  // a 2 s interval closes, then is written: wait for the sum, then stop and count again
  await waitFor(`${proc} wrote ${sent.flows} flows`, async () => (await flowsOf(proc)).total >= sent.flows, 60_000, 500);
  await r2.stop('SIGTERM', 30_000);
  await p1.stop('SIGTERM', 30_000);
  const f = await flowsOf(proc);
  expect(f.total).toBe(sent.flows);
  expect(f.keys).toBe(f.points); // no point written twice
  return { batches, duplicates: replay?.['duplicates'] as number };
}

describe('bus receiver stop spool (3-node cluster, R3)', () => {
  it('spools what a stream without a leader did not acknowledge at SIGTERM and publishes it at the next start: every flow once', async () => {
    expect(v9DataRecords(capture)).toBe(40); // softflowd: one record per generated conversation
    const r = await leaderless('leader', 'a');
    // the survivor, a follower without a leader, stored nothing: the spool is all there is
    expect(r.duplicates).toBe(0);
  }, 240_000);

  it('the same with the leader left alone without quorum: what it stored after the stop lands once', async () => {
    const r = await leaderless('followers', 'c');
    console.log(`leader without quorum: ${r.duplicates} of ${r.batches} spooled batches were on the stream before the replay`);
  }, 240_000);

  it('spools batches stored before the stop whose acknowledgements were lost; published again, they land once', async () => {
    const port = await freeUdpPort();
    const opts = { stream: 'NVSPOOLB', flowPort: port };
    const p1 = await run('pb', 'processor', { ...opts, flowPort: 0 });
    await waitFor('pb holds every partition', () => owned(p1).size === PARTITIONS, 30_000, 200);
    const bh = await startBlackhole(Number(new URL(nats.urls[0] as string).port));
    const r1 = await run('rb', 'receiver', { ...opts, servers: [`nats://127.0.0.1:${bh.port}`] });
    bh.cut('replies');
    const sent = await sendRounds(port);
    await waitFor('the receiver took every datagram', () => received('rb', sent.datagrams), 30_000, 200);
    // stored on the stream though the receiver heard nothing back
    await waitFor('batches on the stream', async () => (await streamMessages('NVSPOOLB')) > 0, 30_000, 200);
    await r1.stop('SIGTERM', 30_000);
    await bh.close();
    const spooled = logLines(r1, SPOOLED);
    expect(spooled, r1.output()).toHaveLength(1);
    expect(spooled[0]?.['datagrams']).toBe(sent.datagrams);
    const batches = spooled[0]?.['batches'] as number;

    const r2 = await run('rb', 'receiver', opts);
    await waitFor('the spool published', () => logLines(r2, REPLAYED).length === 1, 60_000, 200);
    const replay = logLines(r2, REPLAYED)[0];
    expect(replay).toMatchObject({ replayed: batches, datagrams: sent.datagrams });
    // the stream had them already (JetStream answered "duplicate") and holds each batch once
    expect(replay?.['duplicates']).toBeGreaterThan(0);
    expect(await streamMessages('NVSPOOLB')).toBe(batches);

    await waitFor(`pb wrote ${sent.flows} flows`, async () => (await flowsOf('pb')).total >= sent.flows, 60_000, 500);
    await r2.stop('SIGTERM', 30_000);
    await p1.stop('SIGTERM', 30_000);
    const f = await flowsOf('pb');
    expect(f.total).toBe(sent.flows);
    expect(f.keys).toBe(f.points);
  }, 240_000);
});
