/**
 * The recorded Cisco Catalyst 3750 (snmpsim, 59 interfaces, 55 with 64-bit counters) polled by the real collector from an inventory file, compared with snmpbulkwalk of the same
 * agent; plus a black-holed device (a UDP port that never answers) next to it.
 */
import { createSocket, type Socket } from 'node:dgram';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnmpCollector } from '../collectors/snmp/collector.js';
import { snmpConfigSchema } from '../collectors/snmp/config.js';
import type { NetRecord } from '../src/record/record.js';
import { makeTmpDir, waitFor } from './helpers/net.js';
import { devicesOf, inventorySchema } from '../collectors/snmp/inventory.js';
import { SnmpClient } from '../collectors/snmp/netsnmp.js';
import { DevicePoller } from '../collectors/snmp/poller.js';
import { BUILTIN_PROFILES } from '../collectors/snmp/profiles.js';
import { SnmpError } from '../src/errors.js';
import { AUTH_KEY, bulkwalk, harness, PRIV_KEY } from './helpers/snmpd.js';
import { actualIfColumns, expectedIfColumns, walkIfColumns } from './helpers/ifcolumns.js';
import { CISCO_COMMUNITY, startSnmpsim, type Snmpsim } from './helpers/snmpsim.js';

let sim: Snmpsim;
let tmp: { dir: string; cleanup: () => Promise<void> };
let hole: Socket;
let holePort = 0;

beforeAll(async () => {
  tmp = await makeTmpDir();
  sim = await startSnmpsim({}, [{ user: 'cisco256', authProto: 'SHA', authKey: AUTH_KEY, privProto: 'AES256', privKey: PRIV_KEY }]);
  // A bound UDP socket that reads and never answers: requests vanish like on a dead device.
  hole = createSocket('udp4');
  await new Promise<void>((r) => hole.bind(0, '127.0.0.1', () => r()));
  holePort = hole.address().port;
}, 60_000);
afterAll(async () => {
  hole?.close();
  await sim?.stop();
  await tmp?.cleanup();
});

const byOid = (w: { oid: string; value: string }[]) => new Map(w.map((v) => [v.oid, v.value]));
/** A walked value as the bigint we expect in a field, or undefined when the agent has no such column. */
const big = (v: string | undefined) => (v === undefined ? undefined : BigInt(v));

describe('recorded Cisco 3750 via snmpsim', () => {
  it('interfaces equal snmpbulkwalk (Counter64 exact), and a black-holed device does not delay it', async () => {
    await writeFile(
      join(tmp.dir, 'devices.yaml'),
      [
        'defaults:',
        '  interval: 2s',
        '  timeout: 500ms',
        '  retries: 1',
        '  tags: { site: lab }',
        'devices:',
        `  - { name: c3750, address: 127.0.0.1, port: ${sim.port}, credentials: { community: ${CISCO_COMMUNITY} }, profiles: [system, interfaces], flow_addresses: [192.0.2.1] }`,
        `  - { name: dead, address: 127.0.0.1, port: ${holePort}, credentials: { community: public }, profiles: [system, interfaces] }`,
      ].join('\n'),
    );
    const h = harness(tmp.dir, tmp.dir);
    const config = snmpConfigSchema.parse({ devices: 'devices.yaml', max_concurrent: 4 });
    const c = new SnmpCollector(config, h.ctx);
    const ifTable = await bulkwalk(sim.port, CISCO_COMMUNITY, '1.3.6.1.2.1.2.2.1', sim.dir);
    const ifX = await bulkwalk(sim.port, CISCO_COMMUNITY, '1.3.6.1.2.1.31.1.1.1', sim.dir);
    const w = byOid([...ifTable, ...ifX]);
    await c.start();
    try {
      // two polls of the live device, so the second has rates; meanwhile the dead one times out
      const polls = (name: string) => h.records.filter((r) => r.measurement === 'snmp_poll' && r.tags.device === name);
      await waitFor('two polls of c3750', () => polls('c3750').length >= 2, 15_000);
      await waitFor('a poll of dead', () => polls('dead').length >= 1, 10_000);

      const good = polls('c3750');
      for (const p of good) {
        expect(p.fields.ok).toBe(true);
        // its own polls stay short (the cadence check below shows it never waited for the dead one)
        expect(p.fields.duration_ms as number).toBeLessThan(1900);
      }
      // on its own 2 s grid, whatever the dead device is doing
      const gap = (good[1]?.time ?? 0) - (good[0]?.time ?? 0);
      expect(gap).toBeGreaterThan(1400);
      expect(gap).toBeLessThan(2600);
      const dead = polls('dead')[0];
      expect(dead?.fields).toMatchObject({ ok: false, values: 0n });
      expect(dead?.fields.timeouts as bigint).toBeGreaterThanOrEqual(1n);

      const ifs = h.records.filter((r): r is NetRecord => r.kind === 'interface' && r.tags.device === 'c3750');
      const indexes = [...w.keys()].filter((o) => o.startsWith('1.3.6.1.2.1.2.2.1.1.')).map((o) => o.split('.').pop());
      expect(indexes.length).toBe(59);
      const first = ifs.slice(0, indexes.length);
      expect(first.map((r) => r.tags.if_index).sort()).toEqual(indexes.sort());
      let hc = 0;
      for (const r of first) {
        const i = r.tags.if_index;
        expect(r.tags).toMatchObject({ device: 'c3750', agent: '127.0.0.1', source: 'snmp', site: 'lab' });
        expect(r.tags.if_name).toBe(w.get(`1.3.6.1.2.1.31.1.1.1.1.${i}`));
        expect(r.tags.if_descr).toBe(w.get(`1.3.6.1.2.1.2.2.1.2.${i}`));
        const hcIn = w.get(`1.3.6.1.2.1.31.1.1.1.6.${i}`);
        if (hcIn !== undefined) {
          hc++;
          expect(r.fields.counter_bits).toBe(64n);
          expect(r.fields.in_octets).toBe(BigInt(hcIn));
          expect(r.fields.out_octets).toBe(big(w.get(`1.3.6.1.2.1.31.1.1.1.10.${i}`)));
        } else {
          expect(r.fields.counter_bits).toBe(32n);
          expect(r.fields.in_octets).toBe(big(w.get(`1.3.6.1.2.1.2.2.1.10.${i}`)));
        }
        expect(r.fields.in_errors).toBe(big(w.get(`1.3.6.1.2.1.2.2.1.14.${i}`)));
        const high = w.get(`1.3.6.1.2.1.31.1.1.1.15.${i}`);
        const low = big(w.get(`1.3.6.1.2.1.2.2.1.5.${i}`));
        const expectedSpeed = high !== undefined && (BigInt(high) > 0n || low === undefined) ? BigInt(high) * 1_000_000n : low;
        expect(r.fields.speed).toBe(expectedSpeed);
      }
      expect(hc).toBe(55);
      // recorded counters do not move, so the second poll's rates are exactly zero (not absent)
      const second = ifs.slice(indexes.length, 2 * indexes.length);
      const withOctets = second.filter((r) => r.fields.in_octets !== undefined);
      expect(withOctets.length).toBeGreaterThan(50);
      for (const r of withOctets) expect(r.fields.in_bps, `ifIndex ${r.tags.if_index}`).toBe(0);
      expect(h.interfaces.get('c3750')?.addresses).toEqual(['127.0.0.1', '192.0.2.1']);
      expect(h.ctx.interfaces.lookup('192.0.2.1', Number(indexes[0]))?.name).toBe(w.get(`1.3.6.1.2.1.31.1.1.1.1.${indexes[0]}`));
      const st = c.status() as { devices: { name: string; consecutive_failures: number }[] };
      expect(st.devices.find((d) => d.name === 'dead')?.consecutive_failures).toBeGreaterThanOrEqual(1);
    } finally {
      await c.stop();
    }
  });
});

describe('IF-MIB interface columns of the recorded Cisco 3750 (snmpsim)', () => {
  it('ifType, ifMtu, ifPhysAddress, ifLastChange, ifHighSpeed, ifPromiscuousMode, ifConnectorPresent equal snmpbulkwalk', async () => {
    const w = await walkIfColumns(sim.port, CISCO_COMMUNITY, sim.dir);
    const inv = inventorySchema.parse({ devices: [{ name: 'c3750', address: '127.0.0.1', port: sim.port, timeout: '1s', profiles: ['interfaces'], credentials: { community: CISCO_COMMUNITY } }] });
    const spec = devicesOf(inv)[0];
    if (!spec) throw new Error('no device');
    const h = harness(tmp.dir, tmp.dir);
    const client = new SnmpClient({ device: spec.name, address: spec.address, port: spec.port, timeoutMs: spec.timeoutMs, retries: spec.retries, credentials: spec.credentials });
    const poller = new DevicePoller(spec, client, { emit: (r) => h.ctx.emitter.emit(r), error: (e, c) => h.ctx.emitter.error(e, c), interfaces: h.ctx.interfaces, profiles: new Map(Object.entries(BUILTIN_PROFILES)), maxValuesPerWalk: 10_000 });
    try {
      expect((await poller.poll()).ok).toBe(true);
    } finally {
      client.close();
    }
    const ifs = h.records.filter((r) => r.kind === 'interface');
    expect(ifs.length).toBe(59);
    for (const r of ifs) {
      const want = expectedIfColumns(w, r.tags.if_index ?? '');
      expect(actualIfColumns(r, want), `ifIndex ${r.tags.if_index}`).toEqual(want);
    }
    // a recorded switch: Ethernet ports with a MAC each
    const eth = ifs.filter((r) => r.fields.if_type === 6n); // ethernetCsmacd (IANAifType-MIB)
    expect(eth.length).toBeGreaterThan(40);
    for (const r of eth) expect(r.fields.phys_address).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  });
});

describe('SNMPv3 AES-256, Cisco key extension, with a context (snmpsim)', () => {
  const poll = async (priv: 'aes256r' | 'aes256b', context: string) => {
    const inv = inventorySchema.parse({
      devices: [{ name: 'c3750v3', address: '127.0.0.1', port: sim.port, version: 'v3', timeout: '500ms', retries: 0, profiles: ['system'], credentials: { user: 'cisco256', auth_protocol: 'sha', auth_key: AUTH_KEY, priv_protocol: priv, priv_key: PRIV_KEY, context } }],
    });
    const spec = devicesOf(inv)[0];
    if (!spec) throw new Error('no device');
    const h = harness(tmp.dir, tmp.dir);
    const client = new SnmpClient({ device: spec.name, address: spec.address, port: spec.port, timeoutMs: spec.timeoutMs, retries: spec.retries, credentials: spec.credentials });
    const poller = new DevicePoller(spec, client, { emit: (r) => h.ctx.emitter.emit(r), error: (e, c) => h.ctx.emitter.error(e, c), interfaces: h.ctx.interfaces, profiles: new Map(Object.entries(BUILTIN_PROFILES)), maxValuesPerWalk: 1000 });
    try {
      return { stats: await poller.poll(), h };
    } finally {
      client.close();
    }
  };

  it('aes256r reads the data file named by the context, like the v2c walk', async () => {
    const v2 = byOid(await bulkwalk(sim.port, CISCO_COMMUNITY, '1.3.6.1.2.1.1.5', sim.dir));
    const { stats, h } = await poll('aes256r', CISCO_COMMUNITY);
    expect(stats.ok).toBe(true);
    expect(h.records.find((r) => r.measurement === 'snmp_system')?.fields.sys_name).toBe(v2.get('1.3.6.1.2.1.1.5.0'));
  });

  it('the other AES-256 variant fails as a timeout whose message names both variants', async () => {
    const { stats, h } = await poll('aes256b', CISCO_COMMUNITY);
    expect(stats.ok).toBe(false);
    const err = h.errors[0]?.err as SnmpError;
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/aes256b\/aes256r/);
  });
});
