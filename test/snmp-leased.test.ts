/**
 * The SNMP collector under a DeviceShare (scale-out pollers, src/bus/pollers.ts), against a real
 * snmpd: it polls only what it is handed, stops what is taken back, goes on from the previous
 * poller's rate state so its first poll already has rates, and a reload passes the new inventory on.
 * The share here is an in-process stand-in that records calls, so take and drop happen at known
 * moments; the share over a real NATS cluster is test/bus-pollers.test.ts.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceShare } from '../src/collector.js';
import { SnmpCollector } from '../collectors/snmp/collector.js';
import { snmpConfigSchema } from '../collectors/snmp/config.js';
import { makeTmpDir, waitFor } from './helpers/net.js';
import { harness, startSnmpd, type Snmpd } from './helpers/snmpd.js';

let agent: Snmpd;
let tmp: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  agent = await startSnmpd();
  tmp = await makeTmpDir('netvigil-leased-');
}, 30_000);

afterAll(async () => {
  await agent?.stop();
  await tmp?.cleanup();
});

class Share implements DeviceShare {
  names: readonly string[] = [];
  take: (d: string, last: unknown) => boolean = () => false;
  drop: (d: string) => Promise<void> = async () => {};
  readonly saved = new Map<string, unknown>();
  share(names: readonly string[], take: Share['take'], drop: Share['drop']): void {
    this.names = names;
    this.take = take;
    this.drop = drop;
  }
  save(device: string, state: unknown): void {
    this.saved.set(device, state);
  }
}

async function inventory(file: string, names: readonly string[]): Promise<void> {
  await writeFile(file, [`defaults: { port: ${agent.port}, version: v2c, credentials: { community: public }, profiles: [interfaces], interval: 1s, timeout: 1s, retries: 0 }`, 'devices:', ...names.map((n) => `  - { name: ${n}, address: 127.0.0.1 }`)].join('\n') + '\n');
}

describe('SNMP collector with devices shared over a bus', () => {
  it('polls what it is handed, from the previous poller\'s rate state, and lets go of what is taken back', async () => {
    const file = join(tmp.dir, 'devices.yaml');
    await inventory(file, ['a', 'b', 'c']);
    const h = harness(tmp.dir, tmp.dir);
    const share = new Share();
    h.ctx.devices = share;
    const config = snmpConfigSchema.parse({ devices: file });
    const c = new SnmpCollector(config, h.ctx);
    const polled = () => (c.status() as { devices: { name: string }[] }).devices.map((d) => d.name).sort();
    try {
      await c.start();
      expect(share.names).toEqual(['a', 'b', 'c']);
      expect(polled()).toEqual([]); // nothing without a lease
      expect(share.take('zz', undefined)).toBe(false); // not in the inventory
      expect(share.take('a', undefined)).toBe(true);
      await waitFor('a polled twice and its state saved', () => h.records.filter((r) => r.measurement === 'snmp_poll' && r.tags.device === 'a').length >= 2 && share.saved.has('a'), 10_000);
      // a's first poll had no rates (no state), its second had
      const ifA = h.records.filter((r) => r.measurement === 'interface' && r.tags.device === 'a' && r.tags.if_index === '1');
      expect(ifA[0]?.fields.in_bps).toBeUndefined();
      expect(ifA.at(-1)?.fields.in_bps).toBeTypeOf('number');

      // b taken over with a's saved state (same agent, same counters): its first poll has rates,
      // one interval after the state's sample
      const state = JSON.parse(JSON.stringify(share.saved.get('a'))) as { at: number };
      const takenAt = Date.now();
      expect(share.take('b', state)).toBe(true);
      await waitFor('b polled', () => h.records.some((r) => r.measurement === 'interface' && r.tags.device === 'b'), 10_000);
      const firstB = h.records.find((r) => r.measurement === 'interface' && r.tags.device === 'b' && r.tags.if_index === '1');
      expect(firstB?.fields.in_bps).toBeTypeOf('number');
      expect(firstB!.time).toBeLessThanOrEqual(Math.max(takenAt, state.at + 1000) + 500);
      expect(polled()).toEqual(['a', 'b']);

      await share.drop('a');
      expect(polled()).toEqual(['b']);
      const n = h.records.filter((r) => r.measurement === 'snmp_poll' && r.tags.device === 'a').length;
      await new Promise((r) => setTimeout(r, 1500));
      expect(h.records.filter((r) => r.measurement === 'snmp_poll' && r.tags.device === 'a').length).toBe(n);

      // a reload hands the new inventory on; a held device that left it stops
      await inventory(file, ['c', 'd']);
      await c.reload(config);
      expect(share.names).toEqual(['c', 'd']);
      expect(polled()).toEqual([]);
      expect(share.take('b', undefined)).toBe(false);
    } finally {
      await c.stop();
    }
  });
});
