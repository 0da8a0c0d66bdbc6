/**
 * The networks file under `netvigil run` (the built CLI) and real SIGHUPs: a broken file is
 * rejected with its file, line and key and the running table stays; a fixed one is applied to the
 * next flows; with `workers: 2` the new table and a new sampling map reach the worker threads.
 * Flows are generated NetFlow v5 datagrams from 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildV5 } from './helpers/flow-build.js';
import { startRun } from './helpers/cli.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import type { Daemon } from './helpers/proc.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
const running: Daemon[] = [];
beforeAll(async () => {
  tmp = await makeTmpDir();
});
afterAll(async () => {
  for (const d of running) await d.stop();
  await tmp?.cleanup();
});

/** Bytes of flow_agg points per src_net value (last line per series and time: a flush may rewrite one). */
function bytesByNet(file: string): Map<string, number> {
  const points = new Map<string, [string, number]>();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return new Map();
  }
  for (const line of text.split('\n')) {
    if (!line.startsWith('flow_agg,')) continue;
    const [series = '', fields = '', ts = ''] = line.split(' ');
    points.set(`${series} ${ts}`, [/src_net=([^,]+)/.exec(series)?.[1] ?? '', Number(/(?:^|,)bytes=(\d+)i/.exec(fields)?.[1] ?? NaN)]);
  }
  const out = new Map<string, number>();
  for (const [net, b] of points.values()) out.set(net, (out.get(net) ?? 0) + b);
  return out;
}

describe('networks file on SIGHUP', () => {
  it('keeps the running table when the new file is broken, applies a fixed one', async () => {
    const port = await freeUdpPort();
    const networks = join(tmp.dir, 'networks.yaml');
    const lp = join(tmp.dir, 'lp', 'netvigil.lp');
    writeFileSync(networks, 'networks:\n  10.0.0.0/8: { name: corp }\n  10.9.0.0/16: { name: lab }\n');
    const cfg = join(tmp.dir, 'collector.yaml');
    writeFileSync(
      cfg,
      `data_dir: ${tmp.dir}/data\npipeline: { flush_interval: 200ms }\nsinks: { file: { dir: ${tmp.dir}/lp } }\nmonitor: { enabled: false }\nenrich: { networks_file: networks.yaml }\ncollectors:\n  flow:\n    listen: [{ address: 127.0.0.1, port: ${port} }]\n    interval: 1s\n    dimensions: [src_net]\n`,
    );
    const d = await startRun(cfg, running);
    const sock = createSocket('udp4');
    let seq = 0;
    const send = async (bytes: number) => {
      const dgram = buildV5({ uptime: 100_000, secs: Math.floor(Date.now() / 1000), seq: seq++ }, [{ src: '10.9.1.1', dst: '192.0.2.1', packets: 1, bytes, first: 99_000, last: 99_900, srcPort: 1, dstPort: 2, proto: 6 }]);
      await new Promise<void>((r, j) => sock.send(dgram, port, '127.0.0.1', (e) => (e ? j(e) : r())));
    };
    try {
      await send(100);
      await waitFor('lab at start', () => bytesByNet(lp).get('lab') === 100, 15_000, 100);

      writeFileSync(networks, 'networks:\n  10.0.0.0/8: { name: corp }\n  10.9.0.1/16: { name: lab2 }\n');
      process.kill(d.pid, 'SIGHUP');
      await waitFor('the rejection', () => d.output().includes('new config rejected'), 10_000, 100);
      expect(d.output()).toContain(`${networks}:3:16: networks.10.9.0.1/16: host bits set: the network is 10.9.0.0/16`);
      await send(20);
      await waitFor('lab still after the rejected reload', () => bytesByNet(lp).get('lab') === 120, 15_000, 100);

      writeFileSync(networks, 'networks:\n  10.0.0.0/8: { name: corp }\n  10.9.0.0/16: { name: lab2 }\n');
      process.kill(d.pid, 'SIGHUP');
      await waitFor('the reload', () => d.output().includes('reloaded enrich'), 10_000, 100);
      await send(3);
      await waitFor('lab2 after the reload', () => bytesByNet(lp).get('lab2') === 3, 15_000, 100);
      expect(bytesByNet(lp).get('lab')).toBe(120);
    } finally {
      sock.close();
    }
  }, 60_000);

  it('with workers: 2, a SIGHUP brings the new networks file and sampling map to the worker threads', async () => {
    const port = await freeUdpPort();
    const dir = join(tmp.dir, 'workers');
    mkdirSync(dir);
    const networks = join(dir, 'networks.yaml');
    const lp = join(dir, 'lp', 'netvigil.lp');
    writeFileSync(networks, 'networks:\n  10.0.0.0/8: { name: corp }\n  10.9.0.0/16: { name: lab }\n');
    const cfg = join(dir, 'collector.yaml');
    const config = (sampling: string): string =>
      `data_dir: ${dir}/data\npipeline: { flush_interval: 200ms }\nsinks: { file: { dir: ${dir}/lp } }\nmonitor: { enabled: false }\nenrich: { networks_file: networks.yaml }\ncollectors:\n  flow:\n    listen: [{ address: 127.0.0.1, port: ${port} }]\n    interval: 1s\n    dimensions: [src_net]\n    workers: 2\n${sampling}`;
    writeFileSync(cfg, config(''));
    const d = await startRun(cfg, running);
    const sock = createSocket('udp4');
    let seq = 0;
    const send = async (bytes: number) => {
      const dgram = buildV5({ uptime: 100_000, secs: Math.floor(Date.now() / 1000), seq: seq++ }, [{ src: '10.9.1.1', dst: '192.0.2.1', packets: 1, bytes, first: 99_000, last: 99_900, srcPort: 1, dstPort: 2, proto: 6 }]);
      await new Promise<void>((r, j) => sock.send(dgram, port, '127.0.0.1', (e) => (e ? j(e) : r())));
    };
    try {
      await waitFor('the workers', () => d.output().includes('flow decoding and aggregation in worker threads'), 15_000, 100);
      await send(100);
      await waitFor('lab at start', () => bytesByNet(lp).get('lab') === 100, 15_000, 100);
      // v5 says "not sampled" (interval 0): an override is what changes the rate
      writeFileSync(networks, 'networks:\n  10.0.0.0/8: { name: corp }\n  10.9.0.0/16: { name: lab2 }\n');
      writeFileSync(cfg, config('    sampling: { map: [{ exporter: 127.0.0.1, rate: 10, override: true }] }\n'));
      process.kill(d.pid, 'SIGHUP');
      await waitFor('the reload', () => d.output().includes('reloaded enrich') && d.output().includes('reloaded flow'), 10_000, 100);
      await send(3);
      await waitFor('lab2 x 10 after the reload', () => bytesByNet(lp).get('lab2') === 30, 15_000, 100);
      expect(bytesByNet(lp).get('lab')).toBe(100);
      // the interval volume of the exporter, made in its worker, carries the new rate too
      const volumes = readFileSync(lp, 'utf8').split('\n').filter((l) => l.startsWith('flow_volume,') && l.includes('exporter=127.0.0.1'));
      expect(volumes.some((l) => /(?:^| |,)bytes=30i/.test(l) && /sampling_rate=10(?:,| |$)/.test(l))).toBe(true);
    } finally {
      sock.close();
    }
  }, 60_000);
});
