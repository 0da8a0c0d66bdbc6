/**
 * Counter wrap, reboot and discontinuity against a real SNMP agent we control: net-snmp's agent API
 * serving IF-MIB on a loopback port, its counters and sysUpTime moved between polls. The poller
 * talks to it over UDP exactly as to a switch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import snmp from 'net-snmp';
import { devicesOf, inventorySchema } from '../collectors/snmp/inventory.js';
import { bundledMibDir } from '../collectors/snmp/mibs.js';
import { SnmpClient } from '../collectors/snmp/netsnmp.js';
import { DevicePoller } from '../collectors/snmp/poller.js';
import type { NetRecord } from '../src/record/record.js';
import { freeUdpPort, makeTmpDir } from './helpers/net.js';
import { harness } from './helpers/snmpd.js';

// net-snmp's agent/MIB API is untyped (@types/net-snmp declares it `any`); this is the narrow part we use.
interface AgentMib {
  registerProviders(p: unknown[]): void;
  setScalarValue(name: string, v: unknown): void;
  addTableRow(table: string, row: unknown[]): void;
  setTableSingleCell(table: string, column: number, index: unknown[], v: unknown): void;
}
interface Agent {
  getMib(): AgentMib;
  close(cb?: () => void): void;
}

const u64 = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let agent: Agent;
let mib: AgentMib;
let port = 0;
let tmp: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  tmp = await makeTmpDir();
  port = await freeUdpPort();
  const store = snmp.createModuleStore() as { loadFromFile(f: string): void; getProvidersForModule(m: string): unknown[] };
  store.loadFromFile(`${bundledMibDir()}/IANAifType-MIB.mib`);
  store.loadFromFile(`${bundledMibDir()}/IF-MIB.mib`);
  agent = snmp.createAgent({ port, address: '127.0.0.1', disableAuthorization: true }, () => {}) as Agent;
  await sleep(50);
  mib = agent.getMib();
  mib.registerProviders([...store.getProvidersForModule('SNMPv2-MIB'), ...store.getProvidersForModule('IF-MIB')]);
  mib.setScalarValue('sysUpTime', 100_000);
  mib.setScalarValue('sysName', 'rig');
  // ifIndex 1: 64-bit counters (ifXTable), 1 Gbit/s; ifIndex 2: 32-bit only, 100 Mbit/s
  for (const [i, speed] of [[1, 1_000_000_000], [2, 100_000_000]] as const) {
    mib.addTableRow('ifEntry', [i, `eth${i}`, 6, 1500, speed, Buffer.alloc(6), 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '0.0']);
  }
  mib.addTableRow('ifXEntry', [1, 'eth1', 0, 0, 0, 0, u64(0n), u64(0n), u64(0n), u64(0n), u64(0n), u64(0n), u64(0n), u64(0n), 1, 1000, 1, 1, 'uplink', 0]);
});
afterAll(async () => {
  await new Promise<void>((r) => (agent ? agent.close(() => r()) : r()));
  await tmp?.cleanup();
});

function set(state: { uptime: number; hcIn: bigint; in32: number; disc?: number }) {
  mib.setScalarValue('sysUpTime', state.uptime);
  mib.setTableSingleCell('ifXEntry', 6, [1], u64(state.hcIn));
  mib.setTableSingleCell('ifEntry', 10, [2], state.in32);
  if (state.disc !== undefined) mib.setTableSingleCell('ifXEntry', 19, [1], state.disc);
}

describe('rates against an agent whose counters we move', () => {
  it('wraps, reboots and discontinuities give exact rates or gaps, never spikes', async () => {
    const spec = devicesOf(inventorySchema.parse({ devices: [{ name: 'rig', address: '127.0.0.1', port, credentials: { community: 'public' }, profiles: ['interfaces'], timeout: '500ms' }] }))[0];
    if (!spec) throw new Error('no device');
    const h = harness(tmp.dir, tmp.dir);
    const client = new SnmpClient({ device: 'rig', address: '127.0.0.1', port, timeoutMs: 500, retries: 1, credentials: spec.credentials });
    const poller = new DevicePoller(spec, client, { emit: (r) => h.ctx.emitter.emit(r), error: (e, c) => h.ctx.emitter.error(e, c), interfaces: h.ctx.interfaces, profiles: new Map(), maxValuesPerWalk: 1000 });
    const poll = async (): Promise<Map<string, NetRecord>> => {
      h.records.length = 0;
      const st = await poller.poll();
      expect(st.ok, JSON.stringify(h.errors.map((e) => String(e.err)))).toBe(true);
      return new Map(h.records.filter((r) => r.kind === 'interface').map((r) => [r.tags.if_index ?? '', r]));
    };
    try {
      // 1: near the top of both counter ranges; exact above 2^53
      set({ uptime: 100_000, hcIn: 2n ** 64n - 1000n, in32: 2 ** 32 - 100 });
      let r = await poll();
      expect(r.get('1')?.fields).toMatchObject({ in_octets: 2n ** 64n - 1000n, counter_bits: 64n, speed: 1_000_000_000n });
      expect(r.get('1')?.tags).toMatchObject({ if_name: 'eth1', if_alias: 'uplink', if_descr: 'eth1' });
      expect(r.get('2')?.fields).toMatchObject({ in_octets: BigInt(2 ** 32 - 100), counter_bits: 32n, speed: 100_000_000n });
      expect(r.get('1')?.fields.in_bps).toBeUndefined();

      // 2: both wrap; the agent says exactly 0.30 s passed (30 ticks), whatever our clock says
      await sleep(300);
      set({ uptime: 100_030, hcIn: 500n, in32: 900 });
      r = await poll();
      expect(poller.rates.lastStep).toEqual({ kind: 'delta', ms: 300, source: 'device' });
      expect(r.get('1')?.fields.in_bps).toBeCloseTo((1500 * 8) / 0.3, 6);
      expect(r.get('2')?.fields.in_bps).toBeCloseTo((1000 * 8) / 0.3, 6);

      // 3: reboot: sysUpTime back to 0.05 s, counters restart -> gap, raw counters still written
      await sleep(300);
      set({ uptime: 5, hcIn: 100n, in32: 40 });
      r = await poll();
      expect(poller.rates.lastStep).toEqual({ kind: 'reset', reason: 'reboot' });
      expect(r.get('1')?.fields.in_bps).toBeUndefined();
      expect(r.get('2')?.fields.in_bps).toBeUndefined();
      expect(r.get('1')?.fields.in_octets).toBe(100n);

      // 4: resumes
      await sleep(300);
      set({ uptime: 35, hcIn: 400n, in32: 340 });
      r = await poll();
      expect(r.get('1')?.fields.in_bps).toBeCloseTo((300 * 8) / 0.3, 6);
      expect(r.get('2')?.fields.in_bps).toBeCloseTo((300 * 8) / 0.3, 6);

      // 5: ifCounterDiscontinuityTime moves on ifIndex 1 -> gap there only, even though the counter rose
      await sleep(300);
      set({ uptime: 65, hcIn: 100_000n, in32: 640, disc: 60 });
      r = await poll();
      expect(r.get('1')?.fields.in_bps).toBeUndefined();
      expect(r.get('2')?.fields.in_bps).toBeCloseTo((300 * 8) / 0.3, 6);

      // 6: 32-bit counter cleared (not a plausible wrap at 100 Mbit/s in 0.3 s) -> gap, not 4 GB
      await sleep(300);
      set({ uptime: 95, hcIn: 100_010n, in32: 10 });
      r = await poll();
      expect(r.get('2')?.fields.in_bps).toBeUndefined();
      expect(r.get('1')?.fields.in_bps).toBeCloseTo((10 * 8) / 0.3, 6);
    } finally {
      client.close();
    }
  });
});
