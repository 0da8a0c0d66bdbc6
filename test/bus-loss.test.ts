/**
 * Loss accounting across partition takeovers, for real: a 3-node nats-server cluster on loopback
 * (R3), one receiver and two processors as `netvigil run` processes. softflowd's NetFlow v9 export
 * of generated conversations is captured once and replayed from 6 loopback addresses in rounds,
 * each exporter's sequence numbers rewritten to run on across rounds (RFC 3954 §5.1: one per export
 * packet), so every datagram not sent is a gap a collector must see, and nothing else is.
 *
 * Takeovers: p1 is killed with SIGKILL (p2 takes its partitions from their last commit), p1 is
 * started again (p2 hands it half at its next commit), p2 is stopped (p1 takes the rest). The
 * exporters' `flow_loss` counters p1 writes last must continue through all three: `received` is
 * every datagram sent, `lost` 0, except for one exporter whose replay skips GAP datagrams.
 */
import { createSocket, type Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../src/bus/bus.js';
import { BusRig, dataOnly, owned, softflowdCapture, stopBusCluster, v9DataRecords } from './helpers/busrig.js';
import { startNats, type NatsCluster } from './helpers/nats.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import type { Daemon } from './helpers/proc.js';

const PARTITIONS = 4;
const SOURCES = Array.from({ length: 6 }, (_, i) => `127.0.0.${30 + i}`);
const ROUNDS = 10;
const ROUND_MS = 600;
const LEASE_TTL_MS = 3000;
/** Datagrams of one exporter never sent, from GAP_ROUND on (more than a round's: the gap spans two). */
const GAP = 3;
const GAP_ROUND = 5;

let tmp: { dir: string; cleanup: () => Promise<void> };
let nats: NatsCluster;
let capture: Buffer[] = [];

let rig: BusRig;
const flowBlock = (port: number): string => `collectors: { flow: { listen: [{ address: 127.0.0.1, port: ${port} }], interval: 2s, dimensions: [exporter] } }`;
const run = (name: string, roles: string, flowPort = 0): Promise<Daemon> => rig.run(name, roles, [flowBlock(flowPort)]);

interface Loss {
  received: number;
  lost: number;
  duplicates: number;
  reordered: number;
  resets: number;
}

interface Stats {
  datagrams: number;
  records: number;
  decode_errors: number;
}

/**
 * The last per-exporter `flow_stats` counters (the point without a `reason` tag) in an instance's
 * line-protocol files, and the `instance` tags they were written under.
 */
async function lastStats(name: string): Promise<{ stats: Map<string, Stats>; instances: Set<string> }> {
  const dir = join(tmp.dir, name, 'lp');
  const last = new Map<string, { t: bigint; s: Stats }>();
  const instances = new Set<string>();
  if (!existsSync(dir)) return { stats: new Map(), instances };
  for (const f of (await readdir(dir)).sort()) {
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) {
      if (!line.startsWith('flow_stats,')) continue;
      const [tags = '', fields = '', t = '0'] = line.split(' ');
      const exporter = /,exporter=([^,]+)/.exec(tags)?.[1];
      if (exporter === undefined || tags.includes(',reason=')) continue;
      instances.add(/,instance=([^,]+)/.exec(tags)?.[1] ?? '');
      const n = (k: string): number => Number(new RegExp(`(?:^|,)${k}=(\\d+)i`).exec(fields)?.[1] ?? NaN);
      const prev = last.get(exporter);
      if (!prev || BigInt(t) >= prev.t) last.set(exporter, { t: BigInt(t), s: { datagrams: n('datagrams'), records: n('records'), decode_errors: n('decode_errors') } });
    }
  }
  return { stats: new Map([...last].map(([e, { s }]) => [e, s])), instances };
}

/** The last `flow_loss` counters per exporter in an instance's line-protocol files (summed over its domains). */
async function lastLoss(name: string): Promise<Map<string, Loss>> {
  const dir = join(tmp.dir, name, 'lp');
  const last = new Map<string, { t: bigint; exporter: string; l: Loss }>();
  if (!existsSync(dir)) return new Map();
  for (const f of (await readdir(dir)).sort()) {
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) {
      if (!line.startsWith('flow_loss,')) continue;
      const [tags = '', fields = '', t = '0'] = line.split(' ');
      const exporter = /,exporter=([^,]+)/.exec(tags)?.[1] ?? '';
      const domain = /,domain=([^,]+)/.exec(tags)?.[1] ?? '';
      const n = (k: string): number => Number(new RegExp(`(?:^|,)${k}=(\\d+)i`).exec(fields)?.[1] ?? NaN);
      const key = `${exporter}|${domain}`;
      const prev = last.get(key);
      if (!prev || BigInt(t) >= prev.t) last.set(key, { t: BigInt(t), exporter, l: { received: n('received'), lost: n('lost'), duplicates: n('duplicates'), reordered: n('reordered'), resets: n('resets') } });
    }
  }
  const out = new Map<string, Loss>();
  for (const { exporter, l } of last.values()) {
    const o = out.get(exporter) ?? { received: 0, lost: 0, duplicates: 0, reordered: 0, resets: 0 };
    for (const k of Object.keys(o) as (keyof Loss)[]) o[k] += l[k];
    out.set(exporter, o);
  }
  return out;
}

beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-busloss-');
  nats = await startNats(tmp.dir, 3);
  capture = await softflowdCapture(tmp.dir, 60);
  rig = new BusRig({ dir: tmp.dir, nats, stream: 'NVLOSS', partitions: PARTITIONS, leaseTtlMs: LEASE_TTL_MS });
}, 60_000);

afterAll(() => stopBusCluster({ tmp, nats }, rig ? [rig] : []));

describe('loss accounting across bus partition takeovers (3-node cluster, R3)', () => {
  it('continues every exporter\'s sequence expectation and counters through a kill, a rebalance and a stop', async () => {
    const later = dataOnly(capture);
    expect(later.length).toBeGreaterThan(0);
    const flowPort = await freeUdpPort();
    let p1 = await run('p1', 'processor');
    const p2 = await run('p2', 'processor');
    await run('r1', 'receiver', flowPort);
    await waitFor('partitions shared by 2 processors', () => {
      const a = owned(p1);
      const b = owned(p2);
      return a.size >= 1 && b.size >= 1 && a.size + b.size === PARTITIONS;
    }, 30_000, 200);
    const victimHad = owned(p1);
    const moved = SOURCES.filter((a) => victimHad.has(partitionOf(a, PARTITIONS)));
    // the deliberate gap is in an exporter that moves at the kill, right after it
    const gapped = moved[0] ?? (SOURCES[0] as string);

    const senders: Socket[] = [];
    for (const a of SOURCES) {
      const s = createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, a, () => r()));
      senders.push(s);
    }
    const seq = SOURCES.map(() => 1000);
    const sent = SOURCES.map(() => 0);
    const sentRecords = SOURCES.map(() => 0);
    // flow records per datagram (its templates come from the datagrams before it in the capture)
    const recordsIn = new Map(capture.map((d, i) => [d, v9DataRecords(capture.slice(0, i + 1)) - v9DataRecords(capture.slice(0, i))]));
    let skipped = 0;
    const send = (i: number, d: Buffer): Promise<void> => {
      const b = Buffer.from(d);
      b.writeUInt32BE((seq[i] as number) >>> 0, 12);
      seq[i] = (seq[i] as number) + 1;
      sent[i] = (sent[i] as number) + 1;
      sentRecords[i] = (sentRecords[i] as number) + (recordsIn.get(d) ?? NaN);
      return new Promise((r, j) => (senders[i] as Socket).send(b, flowPort, '127.0.0.1', (e) => (e ? j(e) : r())));
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < SOURCES.length; i++) {
        const list = round ? later : capture;
        for (const d of list) {
          if (round >= GAP_ROUND && SOURCES[i] === gapped && skipped < GAP) {
            skipped++;
            seq[i] = (seq[i] as number) + 1; // numbered by the exporter, never sent
            continue;
          }
          await send(i, d);
        }
      }
      if (round === 3) {
        // mid-interval, away from a flush's write and commit (that window is test/bus-fence.test.ts's)
        await new Promise((r) => setTimeout(r, (3000 - (Date.now() % 2000)) % 2000));
        p1.proc.kill('SIGKILL');
      }
      if (round === 6) {
        await waitFor('p2 holds every partition', () => owned(p2).size === PARTITIONS, 30_000, 100);
        p1 = await run('p1', 'processor');
        await waitFor('p1 given its share back', () => owned(p1).size >= 1, 30_000, 100);
      }
      await new Promise((r) => setTimeout(r, ROUND_MS));
    }
    for (const s of senders) s.close();
    await (rig.running[2] as Daemon).stop('SIGTERM', 10_000); // the receiver's last batches
    await new Promise((r) => setTimeout(r, 3000));
    await p2.stop('SIGTERM', 15_000);
    await waitFor('p1 holds every partition', () => owned(p1).size === PARTITIONS, 30_000, 100);
    await p1.stop('SIGTERM', 15_000);

    const loss = await lastLoss('p1');
    const got = Object.fromEntries(SOURCES.map((a) => [a, loss.get(a)]));
    const want = Object.fromEntries(SOURCES.map((a, i) => [a, { received: sent[i], lost: a === gapped ? GAP : 0, duplicates: 0, reordered: 0, resets: 0 }]));
    console.log(`moved at the kill: ${moved.join(', ')}; gap of ${GAP} in ${gapped}; flow_loss p1 wrote last: ${JSON.stringify(got)}`);
    expect(moved.length).toBeGreaterThan(0);
    expect(got).toEqual(want);
    // flow_stats counters travel with the partition too: p1's last are every datagram and record sent
    const { stats, instances } = await lastStats('p1');
    const gotStats = Object.fromEntries(SOURCES.map((a) => [a, stats.get(a)]));
    const wantStats = Object.fromEntries(SOURCES.map((a, i) => [a, { datagrams: sent[i], records: sentRecords[i], decode_errors: 0 }]));
    console.log(`flow_stats p1 wrote last: ${JSON.stringify(gotStats)}`);
    expect(instances).toEqual(new Set(['p1'])); // every processor's flow_stats are its own series
    expect(gotStats).toEqual(wantStats);
  }, 180_000);
});
