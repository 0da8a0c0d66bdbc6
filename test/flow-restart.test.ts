/**
 * A restart inside one aggregation interval loses nothing (issue: the new process's aggregates used
 * to overwrite the old one's in InfluxDB). Three real `netvigil run` processes on one data
 * directory, one after the other inside a single 20 s interval: the first is stopped with SIGTERM,
 * the second is killed with SIGKILL after its periodic checkpoint, the third runs to the interval's
 * end. NetFlow v5 datagrams (built from the RFC layout, labelled as generated) go to each; a real
 * influxd must then hold, for that interval, exactly the sum of everything sent to all three.
 */
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_EVERY_MS } from '../collectors/flow/checkpoint.js';
import { buildV5, type V5FlowSpec } from './helpers/flow-build.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { startRun } from './helpers/cli.js';
import type { Daemon } from './helpers/proc.js';

const INTERVAL_MS = 20_000;

let influx: Influxd;
let tmp: { dir: string; cleanup: () => Promise<void> };
const running: Daemon[] = [];

beforeAll(async () => {
  [influx, tmp] = await Promise.all([startInfluxd(), makeTmpDir('netvigil-restart-')]);
}, 30_000);
afterAll(async () => {
  await Promise.all(running.map((d) => d.stop('SIGKILL')));
  await Promise.all([influx?.cleanup(), tmp?.cleanup()]);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `count` datagrams of 30 flows each; flow i of datagram d carries 100 + i + d bytes. */
async function send(port: number, count: number, seq0: number): Promise<{ flows: number; bytes: number }> {
  const sock = createSocket('udp4');
  let flows = 0;
  let bytes = 0;
  try {
    for (let d = 0; d < count; d++) {
      const list: V5FlowSpec[] = [];
      for (let i = 0; i < 30; i++) {
        const b = 100 + i + d;
        list.push({ src: `10.0.${d % 4}.${i + 1}`, dst: '192.0.2.1', input: 1 + (i % 3), output: 9, packets: 2, bytes: b, first: 1000, last: 2000, srcPort: 1024 + i, dstPort: 443, proto: i % 2 ? 17 : 6 });
        bytes += b;
      }
      const secs = Math.floor(Date.now() / 1000);
      const dgram = buildV5({ uptime: 5000, secs, seq: seq0 + d * 30 }, list);
      await new Promise<void>((resolve, reject) => sock.send(dgram, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      flows += list.length;
      await sleep(2); // loopback, but do not overrun the socket buffer
    }
  } finally {
    sock.close();
  }
  return { flows, bytes };
}

describe('restart within one aggregation interval (real processes, real influxd)', () => {
  it('stores the sum of what all runs received: SIGTERM and SIGKILL restarts continue the interval', async () => {
    const port = await freeUdpPort();
    const cfg = join(tmp.dir, 'nv.yaml');
    writeFileSync(
      cfg,
      [
        `data_dir: ${join(tmp.dir, 'data')}`,
        'pipeline: { flush_interval: 200ms }',
        'monitor: { interval: 500ms }',
        `sinks: { influx: { url: "${influx.url}", database: restart } }`,
        `collectors: { flow: { listen: [{ address: 127.0.0.1, port: ${port} }], interval: ${INTERVAL_MS / 1000}s, dimensions: [exporter, in_if, proto], top_n: 5 } }`,
      ].join('\n') + '\n',
    );
    const run = (): Promise<Daemon> => startRun(cfg, running);

    // the three runs need about 12 s of one interval: start right after a boundary
    const wait = INTERVAL_MS - (Date.now() % INTERVAL_MS);
    await sleep(wait + 300);
    const intervalStart = Math.floor(Date.now() / INTERVAL_MS) * INTERVAL_MS;

    const a = await run();
    const sentA = await send(port, 20, 0);
    await sleep(300);
    await a.stop('SIGTERM', 8000);
    expect(a.proc.exitCode, a.output()).toBe(0);

    const b = await run();
    expect(b.output()).toContain('aggregation interval continued from the checkpoint');
    const sentB = await send(port, 20, 600);
    await sleep(CHECKPOINT_EVERY_MS + 700); // B's periodic checkpoint holds its flows
    await b.stop('SIGKILL');

    const c = await run();
    expect(c.output()).toContain('aggregation interval continued from the checkpoint');
    const sentC = await send(port, 20, 1200);
    expect(Math.floor(Date.now() / INTERVAL_MS) * INTERVAL_MS, 'all three runs inside one interval').toBe(intervalStart);
    await sleep(intervalStart + INTERVAL_MS - Date.now() + 500); // C flushes the interval at its end
    await c.stop('SIGTERM', 8000);

    const flows = sentA.flows + sentB.flows + sentC.flows;
    const bytes = sentA.bytes + sentB.bytes + sentC.bytes;
    const q = async (sql: string): Promise<unknown[] | undefined> => (await influx.query('restart', sql))[0]?.values[0];
    const agg = await waitFor('the interval in influxd', () => q(`SELECT sum(flows), sum(bytes), count(flows) FROM flow_agg WHERE time = ${intervalStart}ms`), 10_000);
    expect([Number(agg[1]), Number(agg[2])]).toEqual([flows, bytes]);
    // the talker rows of the interval add up to the same bytes (no stale row of an earlier run)
    const top = await q(`SELECT sum(bytes) FROM flow_top WHERE time = ${intervalStart}ms AND "by" = 'src_addr'`);
    expect(Number(top?.[1])).toBe(bytes);
    // no second label for the same interval: the runs rewrote one set of points
    const other = await q(`SELECT count(flows) FROM flow_agg WHERE time > ${intervalStart}ms AND time < ${intervalStart + INTERVAL_MS}ms`);
    expect(other).toBeUndefined();
  }, 90_000);
});
