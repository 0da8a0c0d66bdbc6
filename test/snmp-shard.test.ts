/**
 * Scale-out: two `netvigil run` processes, `--shard 0/2` and `--shard 1/2`, over one inventory of 8
 * devices (names on the same real snmpd; the shard depends on the name only). Together they must poll
 * every device exactly once per interval: each device by the one instance its hash names, on that
 * device's own grid, never by both. Records are read back from each instance's line-protocol files.
 * A reload (SIGHUP) keeps the shard: added devices of other shards stay unpolled.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnmpCollector } from '../collectors/snmp/collector.js';
import { snmpConfigSchema } from '../collectors/snmp/config.js';
import { shardOf } from '../collectors/snmp/shard.js';
import { makeTmpDir, waitFor } from './helpers/net.js';
import { startDaemon, type Daemon } from './helpers/proc.js';
import { harness, startSnmpd, type Snmpd } from './helpers/snmpd.js';

// The built CLI, as users run it (`npm test` builds first).
const CLI = join(import.meta.dirname, '..', 'dist', 'src', 'cli.js');
const NAMES = ['core-1', 'core-2', 'dist-a', 'dist-b', 'edge-01', 'edge-02', 'edge-03', 'fw-hq'];
const INTERVAL_MS = 1500;
/** Polling time observed with both instances running: 4 intervals, so each device polls 4 or 5 times. */
const WINDOW_MS = 4 * INTERVAL_MS;

let agent: Snmpd;
let tmp: { dir: string; cleanup: () => Promise<void> };
let inventoryDefaults = '';
const instances: Daemon[] = [];

interface Poll {
  instance: number;
  device: string;
  at: number;
  ok: boolean;
}

function configFor(i: number, inventory: string): string {
  const dir = join(tmp.dir, `i${i}`);
  return [
    'log_level: info',
    `data_dir: ${dir}`,
    `instance: shard-${i}`,
    'http: { enabled: false }',
    'pipeline: { flush_interval: 200ms }',
    `sinks: { file: { dir: ${join(dir, 'lp')} } }`,
    `collectors: { snmp: { devices: ${inventory} } }`,
  ].join('\n');
}

/** snmp_poll lines of one instance's line-protocol files: `snmp_poll,tags fields timestamp_ms`. */
async function pollsOf(i: number): Promise<Poll[]> {
  const dir = join(tmp.dir, `i${i}`, 'lp');
  const out: Poll[] = [];
  for (const f of await readdir(dir)) {
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) {
      if (!line.startsWith('snmp_poll,')) continue;
      const device = /[, ]device=([^, ]+)/.exec(line.slice(0, line.indexOf(' ')))?.[1];
      const at = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (device === undefined || !Number.isFinite(at)) throw new Error(`unparsable: ${line}`);
      out.push({ instance: i, device, at, ok: /[ ,]ok=true[ ,]/.test(line) });
    }
  }
  return out;
}

async function writeInventory(file: string, names: readonly string[]): Promise<void> {
  await writeFile(file, [inventoryDefaults, 'devices:', ...names.map((n) => `  - { name: ${n}, address: 127.0.0.1 }`)].join('\n') + '\n');
}

beforeAll(async () => {
  agent = await startSnmpd();
  tmp = await makeTmpDir('netvigil-shard-');
  const inventory = join(tmp.dir, 'devices.yaml');
  inventoryDefaults = `defaults: { port: ${agent.port}, version: v2c, credentials: { community: public }, profiles: [system], interval: ${INTERVAL_MS}ms, timeout: 500ms, retries: 0 }`;
  await writeInventory(inventory, NAMES);
  for (const i of [0, 1]) {
    const cfg = join(tmp.dir, `nv${i}.yaml`);
    await writeFile(cfg, configFor(i, inventory) + '\n');
    instances.push(startDaemon(process.execPath, [CLI, 'run', '-c', cfg, '--shard', `${i}/2`]));
  }
  for (const d of instances) await waitFor('the snmp collector to load its shard', () => d.output().includes('snmp: inventory loaded'), 15_000);
}, 30_000);

afterAll(async () => {
  await Promise.all(instances.map((d) => d.stop()));
  await agent?.stop();
  await tmp?.cleanup();
});

describe('two instances, shards 0/2 and 1/2', () => {
  it('poll every device exactly once per interval between them', async () => {
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const t1 = Date.now();
    // SIGTERM flushes the pipeline into the files before the process exits.
    await Promise.all(instances.map((d) => d.stop('SIGTERM', 8000)));
    for (const d of instances) expect(d.proc.exitCode, d.output()).toBe(0);

    const polls = [...(await pollsOf(0)), ...(await pollsOf(1))];
    expect(polls.every((p) => p.ok)).toBe(true);
    const byDevice = new Map<string, Poll[]>();
    for (const p of polls) byDevice.set(p.device, [...(byDevice.get(p.device) ?? []), p]);
    expect([...byDevice.keys()].sort()).toEqual([...NAMES].sort());

    // Each instance polls its shard of the inventory and nothing else; both shards are non-empty.
    for (const i of [0, 1]) {
      const mine = new Set(polls.filter((p) => p.instance === i).map((p) => p.device));
      expect([...mine].sort()).toEqual(NAMES.filter((n) => shardOf(n, 2) === i).sort());
      expect(mine.size).toBeGreaterThan(0);
    }

    for (const [device, list] of byDevice) {
      const times = list.map((p) => p.at).sort((a, b) => a - b);
      // Once per interval. A second poller of the same device, on its own random phase, splits each
      // interval into two gaps, one of them at most half an interval; a missed tick makes a gap of
      // two. The bounds sit halfway, so timer jitter on a loaded machine cannot flip the verdict.
      for (let k = 1; k < times.length; k++) {
        const gap = times[k]! - times[k - 1]!;
        expect(gap, `${device} gap ${gap} ms`).toBeGreaterThan(INTERVAL_MS * 0.5);
        expect(gap, `${device} gap ${gap} ms`).toBeLessThan(INTERVAL_MS * 1.5);
      }
      // ... and no interval missed inside the observed window.
      const inWindow = times.filter((t) => t >= t0 && t < t1).length;
      expect(inWindow, device).toBeGreaterThanOrEqual(Math.floor((t1 - t0) / INTERVAL_MS) - 1);
      expect(inWindow, device).toBeLessThanOrEqual(Math.ceil((t1 - t0) / INTERVAL_MS));
    }
  }, 30_000);
});

describe('a sharded collector on reload', () => {
  it('starts only the added devices of its own shard and stops its removed ones', async () => {
    const file = join(tmp.dir, 'reload.yaml');
    await writeInventory(file, NAMES);
    const h = harness(tmp.dir, tmp.dir);
    h.ctx.shard = { index: 1, count: 2 };
    const config = snmpConfigSchema.parse({ devices: file });
    const c = new SnmpCollector(config, h.ctx);
    const polled = () => (c.status() as { devices: { name: string }[] }).devices.map((d) => d.name).sort();
    const own = (names: readonly string[]) => names.filter((n) => shardOf(n, 2) === 1).sort();
    try {
      await c.start();
      expect(polled()).toEqual(own(NAMES));
      // Ten more names: the shard's share of them joins; removing core-2 (shard 1) stops it.
      const next = [...NAMES.filter((n) => n !== 'core-2'), ...Array.from({ length: 10 }, (_, i) => `acc-${i}`)];
      await writeInventory(file, next);
      await c.reload(config);
      expect(polled()).toEqual(own(next));
      expect(polled()).not.toContain('core-2');
      expect(own(next).some((n) => n.startsWith('acc-'))).toBe(true);
    } finally {
      await c.stop();
    }
  });
});
