/**
 * The cross-check on a bus when an exporter's partition moves (src/bus/ifcounters.ts, the
 * `restrict`/release in src/xcheck/xcheck.ts), across real processes: a 3-node nats-server cluster
 * on loopback (R3), a real snmpd, a poller and processor p1 as `netvigil run` processes; four
 * exporters, one per partition, each mapped by `flow_addresses` to a device on the snmpd, send
 * generated NetFlow v5 (one 100-byte flow every 500 ms on ifIndex 1, `lo`) while SNMP counts the
 * whole loopback: every window is far out of band, so p1 raises findings for all four. Then p2
 * starts and takes half the partitions. Checked: the taker judges the first window it decodes of a
 * moved exporter (it has watched the poller's counters since its start, whatever it held), raises
 * the finding again after `intervals` windows; p1 clears its findings of the moved exporters
 * ("moved") and raises no `exporter_missing` for them though SNMP goes on counting; the exporters
 * that stayed keep p1's findings. The ratios themselves are not the point (the loopback's other
 * traffic is whatever runs on the machine).
 */
import { createSocket, type Socket } from 'node:dgram';
import { writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../src/bus/bus.js';
import { BusRig, owned } from './helpers/busrig.js';
import { buildV5 } from './helpers/flow-build.js';
import { startNats, type NatsCluster } from './helpers/nats.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { startSnmpd, type Snmpd } from './helpers/snmpd.js';

const PARTITIONS = 4;
const INTERVAL_MS = 2000;
const INTERVALS = 3;

let tmp: { dir: string; cleanup: () => Promise<void> };
let nats: NatsCluster;
let agent: Snmpd;
let rig: BusRig | undefined;

beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-xcheck-takeover-');
  nats = await startNats(tmp.dir, 3);
  agent = await startSnmpd();
}, 60_000);

afterAll(async () => {
  await rig?.stop();
  await nats?.stop();
  await agent?.stop();
  await tmp?.cleanup();
});

interface Point {
  tags: Record<string, string>;
  fields: Record<string, string>;
  time: number;
}

function points(dir: string, measurement: string): Point[] {
  const file = join(dir, 'lp', 'netvigil.lp');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${measurement},`))
    .map((l) => {
      const [head = '', fields = '', time = ''] = l.split(/(?<!\\) (?=(?:[^"]*"[^"]*")*[^"]*$)/);
      return {
        tags: Object.fromEntries(head.split(/(?<!\\),/).slice(1).map((t) => t.split('=') as [string, string])),
        fields: Object.fromEntries(fields.match(/([a-z_]+)=("(?:[^"\\]|\\.)*"|[^,]+)/g)?.map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)]) ?? []),
        time: Number(time),
      };
    });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the cross-check on a bus when partitions move (3-node cluster, R3)', () => {
  it('the taker judges a moved exporter at once and raises again after N windows; the old owner clears, raises no exporter_missing', async () => {
    // one exporter per partition: 127.0.0.<20..> picked by the partition hash
    const exporters: string[] = [];
    for (let i = 20; exporters.length < PARTITIONS; i++) {
      const a = `127.0.0.${i}`;
      if (!exporters.some((e) => partitionOf(e, PARTITIONS) === partitionOf(a, PARTITIONS))) exporters.push(a);
    }
    const device = (e: string): string => `dev-${e.split('.')[3] ?? ''}`;
    const devices = join(tmp.dir, 'devices.yaml');
    await writeFile(
      devices,
      [
        `defaults: { port: ${agent.port}, version: v2c, credentials: { community: public }, profiles: [interfaces], interval: 1s, timeout: 1s, retries: 1 }`,
        'devices:',
        ...exporters.map((e) => `  - { name: ${device(e)}, address: 127.0.0.1, flow_addresses: [${e}] }`),
      ].join('\n') + '\n',
    );
    const flowPort = await freeUdpPort();
    const xcheck = `xcheck: { intervals: ${INTERVALS}, min_octets: 1000 }`;
    const flow = `collectors: { flow: { listen: [{ address: 127.0.0.1, port: ${flowPort} }], interval: ${INTERVAL_MS}ms } }`;
    const r = new BusRig({ dir: tmp.dir, nats, stream: 'NVXCT', partitions: PARTITIONS, leaseTtlMs: 3000 });
    rig = r;
    const p1 = await r.run('p1', 'receiver, processor', [flow, xcheck]);
    await r.run('poller', 'poller', [`collectors: { snmp: { devices: ${devices} } }`, xcheck]);
    await waitFor('p1 holds every partition', () => owned(p1).size === PARTITIONS, 20_000, 100);

    // generated NetFlow v5: every 500 ms one 100-byte flow per exporter, in and out on ifIndex 1
    const socks: Socket[] = [];
    for (const e of exporters) {
      const s = createSocket('udp4');
      await new Promise<void>((ok) => s.bind(0, e, () => ok()));
      socks.push(s);
    }
    let sending = true;
    const t0 = Date.now();
    const sender = (async () => {
      for (let seq = 0; sending; seq++) {
        const up = Date.now() - t0 + 100_000;
        const d = buildV5({ uptime: up, secs: Math.floor(Date.now() / 1000), seq }, [{ src: '10.0.0.1', dst: '10.0.0.2', input: 1, output: 1, packets: 1, bytes: 100, first: up - 100, last: up - 50, srcPort: 1234, dstPort: 80, proto: 17 }]);
        await Promise.all(socks.map((s) => new Promise<void>((ok, no) => s.send(d, flowPort, '127.0.0.1', (err) => (err ? no(err) : ok())))));
        await sleep(500);
      }
    })();
    try {
      const active = (name: string): Set<string> => {
        const last = new Map<string, boolean>();
        for (const p of points(join(tmp.dir, name), 'xcheck_finding')) last.set(`${p.tags.device}|${p.tags.direction}`, p.fields.active === 'true');
        return new Set([...last].filter(([, a]) => a).map(([k]) => k.split('|')[0] as string));
      };
      // INTERVALS windows out of band, after a first poll and window: ~4 intervals
      await waitFor('p1 raises findings for every exporter', () => active('p1').size === exporters.length, 30_000, 200).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}: ${[...active('p1')].join(',')}\n${p1.output().slice(-4000)}`);
      });
      const p2 = await r.run('p2', 'processor', [flow, xcheck]);
      await waitFor('p1 and p2 hold half each', () => owned(p1).size === PARTITIONS / 2 && owned(p2).size === PARTITIONS / 2, 30_000, 100);
      const movedAt = Date.now();
      // the taker needs INTERVALS windows to raise; the old owner would raise exporter_missing after
      // INTERVALS + 1 windows of silence: 5 intervals, and 2 more for a loaded machine's timers
      await sleep((INTERVALS + 4) * INTERVAL_MS);
      sending = false;
      await sender;
      await sleep(INTERVAL_MS);
      const onP2 = owned(p2); // before the stop, which lets every lease go
      await r.stop();

      const moved = exporters.filter((e) => onP2.has(partitionOf(e, PARTITIONS)));
      const stayed = exporters.filter((e) => !moved.includes(e));
      const report = `moved ${moved.map(device).join(',')} at ${movedAt - t0} ms, stayed ${stayed.map(device).join(',')}\n${p1.output().slice(-3000)}\n----\n${p2.output().slice(-3000)}`;
      expect(moved, report).toHaveLength(PARTITIONS / 2);

      // the taker: the first window it decoded of a moved exporter is judged (no wait for SNMP
      // history), and a finding that persists is raised again
      const p2Dir = join(tmp.dir, 'p2');
      const windows = points(p2Dir, 'flow_if');
      const judged = points(p2Dir, 'xcheck');
      for (const e of moved) {
        const mine = windows.filter((p) => p.tags.exporter === e).map((p) => Number((p.fields.window_start_ms ?? '').replace(/i$/, ''))).sort((a, b) => a - b);
        expect(mine.length, report).toBeGreaterThanOrEqual(INTERVALS);
        expect(judged.filter((p) => p.tags.exporter === e).map((p) => p.time), report).toContain(mine[0]);
      }
      expect(active('p2'), report).toEqual(new Set(moved.map(device)));
      expect(judged.filter((p) => stayed.includes(p.tags.exporter ?? '')), report).toEqual([]);

      // the old owner: no exporter_missing though SNMP goes on counting, the moved exporters' findings
      // cleared as moved, the others kept
      const missing = ['p1', 'p2'].flatMap((n) => points(join(tmp.dir, n), 'xcheck_finding').filter((p) => p.tags.cause === 'exporter_missing'));
      expect(missing.map((p) => p.tags), report).toEqual([]);
      expect(active('p1'), report).toEqual(new Set(stayed.map(device)));
      for (const e of moved) expect(p1.output(), report).toMatch(new RegExp(`cross-check: ${device(e)} ifIndex 1 (in|out): \\w+ moved: ${e.replace(/\./g, '\\.')} is decoded by another processor now`));
    } finally {
      sending = false;
      await sender;
      for (const s of socks) s.close();
    }
  }, 120_000);
});
