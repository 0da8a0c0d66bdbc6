/**
 * The SNMP collector under a DeviceShare (scale-out pollers, src/bus/pollers.ts), against a real
 * snmpd: it polls only what it is handed, stops what is taken back, goes on from the previous
 * poller's rate state so its first poll already has rates, writes again the records the previous
 * poller handed over with it, hands its own over before emitting them (write-ahead), and a reload
 * passes the new inventory on.
 * The share here is an in-process stand-in that records calls, so take and drop happen at known
 * moments; the share over a real NATS cluster is test/bus-pollers.test.ts.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceHandoff, DeviceShare } from '../src/collector.js';
import type { NetRecord } from '../src/record/record.js';
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
  take: (d: string, last: DeviceHandoff | undefined) => boolean = () => false;
  drop: (d: string) => Promise<void> = async () => {};
  readonly saved = new Map<string, DeviceHandoff>();
  /** Hand-overs whose records had already been emitted when they were handed over (must stay 0). */
  late = 0;
  constructor(private readonly emitted: () => readonly NetRecord[]) {}
  share(names: readonly string[], take: Share['take'], drop: Share['drop']): void {
    this.names = names;
    this.take = take;
    this.drop = drop;
  }
  async writeAhead(device: string, state: unknown, records: readonly NetRecord[]): Promise<void> {
    const out = new Set(this.emitted());
    if (records.some((r) => out.has(r))) this.late++;
    this.saved.set(device, { state, records: [...records] });
    await new Promise((r) => setTimeout(r, 20)); // a put's round trip: the records wait for it
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
    const share = new Share(() => h.records);
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

      const handed = share.saved.get('a')!;
      expect(handed.records.map((r) => r.measurement)).toEqual(handed.records.map(() => 'interface'));
      expect(handed.records.length).toBeGreaterThan(0);
      expect(share.late).toBe(0);

      // b taken over with a's hand-over (same agent, same counters): the handed records are written
      // again at once, and its first poll has rates, one interval after the state's sample
      const state = JSON.parse(JSON.stringify(handed.state)) as { at: number };
      const takenAt = Date.now();
      const before = h.records.length;
      expect(share.take('b', { state, records: handed.records })).toBe(true);
      expect(h.records.slice(before, before + handed.records.length)).toEqual(handed.records);
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
