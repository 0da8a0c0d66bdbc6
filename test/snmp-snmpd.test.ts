/**
 * SNMP polling against Debian's snmpd on a loopback high port: every profile compared with what
 * Net-SNMP's own snmpbulkwalk returns from the same agent, v3 users, and clear v3 failures.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnmpCollector } from '../collectors/snmp/collector.js';
import { snmpConfigSchema } from '../collectors/snmp/config.js';
import { devicesOf, inventorySchema, type DeviceSpec } from '../collectors/snmp/inventory.js';
import { MibResolver } from '../collectors/snmp/mibs.js';
import { SnmpClient } from '../collectors/snmp/netsnmp.js';
import { DevicePoller } from '../collectors/snmp/poller.js';
import { BUILTIN_PROFILES, type ProfileSpec } from '../collectors/snmp/profiles.js';
import { resolveUserProfiles } from '../collectors/snmp/userprofiles.js';
import { ConfigError, SnmpError } from '../src/errors.js';
import { createLogger } from '../src/log.js';
import type { NetRecord } from '../src/record/record.js';
import { makeTmpDir, waitFor } from './helpers/net.js';
import { actualIfColumns, expectedIfColumns, walkIfColumns } from './helpers/ifcolumns.js';
import { AUTH_KEY, bulkwalk, harness, PRIV_KEY, startSnmpd, V3_USERS, type Snmpd, type WalkedValue } from './helpers/snmpd.js';

let agent: Snmpd;
let tmp: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  agent = await startSnmpd();
  tmp = await makeTmpDir();
});
afterAll(async () => {
  await agent?.stop();
  await tmp?.cleanup();
});

function device(extra: Record<string, unknown>, profiles: readonly string[]): DeviceSpec {
  const inv = inventorySchema.parse({ devices: [{ name: 'snmpd', address: '127.0.0.1', port: agent.port, timeout: '1s', retries: 1, profiles, ...extra }] });
  const d = devicesOf(inv)[0];
  if (!d) throw new Error('no device');
  return d;
}

async function pollOnce(spec: DeviceSpec, profiles: ReadonlyMap<string, ProfileSpec> = new Map(Object.entries(BUILTIN_PROFILES))) {
  const h = harness(tmp.dir, tmp.dir);
  const client = new SnmpClient({ device: spec.name, address: spec.address, port: spec.port, timeoutMs: spec.timeoutMs, retries: spec.retries, credentials: spec.credentials }, (o) => h.ctx.signals.snmpRequest(o));
  const poller = new DevicePoller(spec, client, { emit: (r) => h.ctx.emitter.emit(r), error: (e, c) => h.ctx.emitter.error(e, c), interfaces: h.ctx.interfaces, profiles, maxValuesPerWalk: 10_000 });
  try {
    const stats = await poller.poll();
    return { stats, h, poller };
  } finally {
    client.close();
  }
}

const byOid = (w: WalkedValue[]) => new Map(w.map((v) => [v.oid, v]));
const of = (rs: NetRecord[], m: string) => rs.filter((r) => r.measurement === m);

describe('snmpd v2c', () => {
  it('system profile equals snmpbulkwalk of the system group', async () => {
    const before = byOid(await bulkwalk(agent.port, 'public', '1.3.6.1.2.1.1', agent.dir));
    const { stats, h } = await pollOnce(device({ credentials: { community: 'public' } }, ['system']));
    expect(stats.ok).toBe(true);
    const [sys] = of(h.records, 'snmp_system');
    expect(sys?.tags).toMatchObject({ device: 'snmpd', agent: '127.0.0.1' });
    expect(sys?.fields.sys_name).toBe(before.get('1.3.6.1.2.1.1.5.0')?.value);
    expect(sys?.fields.sys_descr).toBe(before.get('1.3.6.1.2.1.1.1.0')?.value);
    expect(sys?.fields.sys_location).toBe(before.get('1.3.6.1.2.1.1.6.0')?.value);
    expect(`.${String(sys?.fields.sys_object_id)}`).toBe(before.get('1.3.6.1.2.1.1.2.0')?.value);
    expect(typeof sys?.fields.sys_uptime).toBe('bigint');
    expect(sys?.fields.sys_uptime as bigint).toBeGreaterThanOrEqual(BigInt(before.get('1.3.6.1.2.1.1.3.0')?.value ?? 'x'));
    const [poll] = of(h.records, 'snmp_poll');
    expect(poll?.kind).toBe('health');
    expect(poll?.fields).toMatchObject({ ok: true, timeouts: 0n, errors: 0n });
    expect(h.requests.every((r) => r === 'ok')).toBe(true);
  });

  it('interfaces profile: counters between two snmpbulkwalks, names and status equal', async () => {
    const w1 = byOid([...(await bulkwalk(agent.port, 'public', '1.3.6.1.2.1.2.2.1', agent.dir)), ...(await bulkwalk(agent.port, 'public', '1.3.6.1.2.1.31.1.1.1', agent.dir))]);
    const { h } = await pollOnce(device({ credentials: { community: 'public' } }, ['interfaces']));
    const w2 = byOid([...(await bulkwalk(agent.port, 'public', '1.3.6.1.2.1.2.2.1', agent.dir)), ...(await bulkwalk(agent.port, 'public', '1.3.6.1.2.1.31.1.1.1', agent.dir))]);
    const ifs = of(h.records, 'interface');
    const indexes = [...w1.keys()].filter((o) => o.startsWith('1.3.6.1.2.1.2.2.1.1.')).map((o) => o.split('.').pop());
    expect(ifs.map((r) => r.tags.if_index).sort()).toEqual(indexes.sort());
    for (const r of ifs) {
      const i = r.tags.if_index;
      expect(r.kind).toBe('interface');
      expect(r.tags.source).toBe('snmp');
      expect(r.tags.if_descr).toBe(w1.get(`1.3.6.1.2.1.2.2.1.2.${i}`)?.value);
      expect(r.tags.if_name).toBe(w1.get(`1.3.6.1.2.1.31.1.1.1.1.${i}`)?.value);
      expect(r.fields.oper_status).toBe(BigInt(w1.get(`1.3.6.1.2.1.2.2.1.8.${i}`)?.value ?? 'x'));
      const hc = w1.has(`1.3.6.1.2.1.31.1.1.1.6.${i}`);
      expect(r.fields.counter_bits).toBe(hc ? 64n : 32n);
      const col = hc ? `1.3.6.1.2.1.31.1.1.1.6.${i}` : `1.3.6.1.2.1.2.2.1.10.${i}`;
      const lo = BigInt(w1.get(col)?.value ?? 'x');
      const hi = BigInt(w2.get(col)?.value ?? 'x');
      expect(r.fields.in_octets as bigint).toBeGreaterThanOrEqual(lo);
      expect(r.fields.in_octets as bigint).toBeLessThanOrEqual(hi);
    }
    const dir = h.interfaces.get('snmpd');
    expect(dir?.addresses).toEqual(['127.0.0.1']);
    expect(dir?.infos.length).toBe(ifs.length);
  });

  it('interfaces profile: ifType, ifMtu, ifPhysAddress, ifLastChange, ifHighSpeed, ifPromiscuousMode, ifConnectorPresent equal snmpbulkwalk', async () => {
    const w = await walkIfColumns(agent.port, 'public', agent.dir);
    const { h } = await pollOnce(device({ credentials: { community: 'public' } }, ['interfaces']));
    const ifs = of(h.records, 'interface');
    expect(ifs.length).toBeGreaterThan(0);
    for (const r of ifs) {
      const want = expectedIfColumns(w, r.tags.if_index ?? '');
      expect(actualIfColumns(r, want), `ifIndex ${r.tags.if_index}`).toEqual(want);
      expect(want.fields.mtu, 'snmpd reports ifMtu').toBeDefined();
    }
    // the loopback has no link address: an empty string, not a missing field
    expect(ifs.find((r) => r.fields.if_type === 24n)?.fields.phys_address).toBe(''); // softwareLoopback (IANAifType-MIB)
  });

  it('host profile: storage and CPU rows equal snmpbulkwalk of HOST-RESOURCES-MIB', async () => {
    const storage = byOid(await bulkwalk(agent.port, 'public', '1.3.6.1.2.1.25.2.3.1', agent.dir));
    const cpus = await bulkwalk(agent.port, 'public', '1.3.6.1.2.1.25.3.3.1.2', agent.dir);
    const { h, stats } = await pollOnce(device({ credentials: { community: 'public' } }, ['host']));
    expect(stats.errors).toBe(0);
    const st = of(h.records, 'snmp_host_storage');
    const idx = [...storage.keys()].filter((o) => o.startsWith('1.3.6.1.2.1.25.2.3.1.1.')).map((o) => o.split('.').pop());
    expect(st.map((r) => r.tags.storage_index).sort()).toEqual(idx.sort());
    for (const r of st) {
      const i = r.tags.storage_index;
      expect(r.tags.storage_descr).toBe(storage.get(`1.3.6.1.2.1.25.2.3.1.3.${i}`)?.value);
      expect(r.fields.size).toBe(BigInt(storage.get(`1.3.6.1.2.1.25.2.3.1.5.${i}`)?.value ?? 'x'));
      expect(r.fields.size_bytes).toBe((r.fields.size as bigint) * (r.fields.allocation_units as bigint));
    }
    expect(of(h.records, 'snmp_host_cpu').length).toBe(cpus.length);
    const [host] = of(h.records, 'snmp_host');
    expect(typeof host?.fields.processes).toBe('bigint');
  });

  it('user profile by MIB name resolves through the module store and matches snmpbulkwalk', async () => {
    const { resolver, problems } = MibResolver.load([]);
    expect(problems).toEqual([]);
    const inv = inventorySchema.parse({
      profiles: {
        ifnames: {
          scalars: [{ oid: 'SNMPv2-MIB::sysName' }],
          tables: [{ index_tag: 'if_index', columns: [{ oid: 'IF-MIB::ifName', tag: true }, { oid: 'IF-MIB::ifHCInOctets', name: 'in_octets' }, { oid: 'IF-MIB::ifMtu' }] }],
        },
      },
      devices: [{ name: 'snmpd', address: '127.0.0.1', port: agent.port, credentials: { community: 'public' }, profiles: ['ifnames'] }],
    });
    const user = resolveUserProfiles(inv, resolver, 'inline');
    expect(user.problems).toEqual([]);
    const names = byOid(await bulkwalk(agent.port, 'public', '1.3.6.1.2.1.31.1.1.1.1', agent.dir));
    const mtu = byOid(await bulkwalk(agent.port, 'public', '1.3.6.1.2.1.2.2.1.4', agent.dir));
    const spec = devicesOf(inv)[0];
    if (!spec) throw new Error('no device');
    const { h } = await pollOnce(spec, user.profiles);
    const rows = h.records.filter((r) => r.measurement === 'snmp_ifnames' && r.tags.if_index);
    expect(rows.length).toBe(names.size);
    for (const r of rows) {
      expect(r.tags.ifName).toBe(names.get(`1.3.6.1.2.1.31.1.1.1.1.${r.tags.if_index}`)?.value);
      expect(r.fields.ifMtu).toBe(BigInt(mtu.get(`1.3.6.1.2.1.2.2.1.4.${r.tags.if_index}`)?.value ?? 'x'));
      expect(typeof r.fields.in_octets).toBe('bigint');
    }
    expect(h.records.find((r) => r.measurement === 'snmp_ifnames' && !r.tags.if_index)?.fields.sysName).toBeTypeOf('string');
  });

  it('an unknown MIB name is a config problem naming the profile', () => {
    const { resolver } = MibResolver.load([]);
    const inv = inventorySchema.parse({ profiles: { bad: { scalars: [{ oid: 'NOPE-MIB::thing' }] } }, devices: [] });
    const { problems } = resolveUserProfiles(inv, resolver, 'devices.yaml');
    expect(problems[0]?.path).toBe('profiles.bad.scalars[0].oid');
    expect(problems[0]?.message).toContain('NOPE-MIB::thing');
  });
});

describe('snmpd v1', () => {
  it('system and interfaces over SNMPv1 (GETNEXT walks, 32-bit counters only) match the v2c walk', async () => {
    const v2 = byOid(await bulkwalk(agent.port, 'public', '1.3.6.1.2.1.1.5', agent.dir));
    const names = byOid(await bulkwalk(agent.port, 'public', '1.3.6.1.2.1.2.2.1.2', agent.dir));
    const { stats, h } = await pollOnce(device({ version: 'v1', credentials: { community: 'public' } }, ['system', 'interfaces']));
    expect(stats.ok).toBe(true);
    expect(of(h.records, 'snmp_system')[0]?.fields.sys_name).toBe(v2.get('1.3.6.1.2.1.1.5.0')?.value);
    const ifs = of(h.records, 'interface');
    expect(ifs.length).toBe(names.size);
    // v1 has no Counter64 (RFC 3584 4.2.2.1): the agent leaves the HC columns out of v1 responses
    for (const r of ifs) {
      expect(r.fields.counter_bits).toBe(32n);
      expect(r.tags.if_descr).toBe(names.get(`1.3.6.1.2.1.2.2.1.2.${r.tags.if_index}`)?.value);
    }
  });
});

describe('snmpd v3', () => {
  const runnable = V3_USERS.filter((u) => u.priv_protocol !== 'des');
  it.each(runnable)('user $user ($auth_protocol/$priv_protocol) reads sysName like the v2c walk', async (u) => {
    const v2 = byOid(await bulkwalk(agent.port, 'public', '1.3.6.1.2.1.1.5', agent.dir));
    const creds = { user: u.user, auth_protocol: u.auth_protocol, auth_key: AUTH_KEY, priv_protocol: u.priv_protocol, priv_key: PRIV_KEY };
    const { stats, h } = await pollOnce(device({ version: 'v3', credentials: creds }, ['system']));
    expect(stats.ok).toBe(true);
    expect(of(h.records, 'snmp_system')[0]?.fields.sys_name).toBe(v2.get('1.3.6.1.2.1.1.5.0')?.value);
  });

  it('a wrong auth key fails clearly as an authentication error, fast', async () => {
    const t0 = performance.now();
    const creds = { user: 'shaaes', auth_protocol: 'sha', auth_key: 'wrongpass123', priv_protocol: 'aes', priv_key: PRIV_KEY };
    const { stats, h } = await pollOnce(device({ version: 'v3', credentials: creds }, ['system', 'interfaces']));
    expect(stats.ok).toBe(false);
    const err = h.errors[0]?.err;
    expect(err).toBeInstanceOf(SnmpError);
    expect((err as SnmpError).kind).toBe('auth');
    expect((err as SnmpError).message).toMatch(/authentication failed.*(digest|Wrong)/i);
    expect(h.errors[0]?.context?.device).toBe('snmpd');
    // the poll stops at the first auth failure instead of trying every profile
    expect(h.errors.length).toBe(1);
    expect(performance.now() - t0).toBeLessThan(1500);
  });

  it('a wrong priv key shows as a timeout whose message points at the keys', async () => {
    const creds = { user: 'shaaes', auth_protocol: 'sha', auth_key: AUTH_KEY, priv_protocol: 'aes', priv_key: 'wrongpriv123' };
    const { stats, h } = await pollOnce(device({ version: 'v3', credentials: creds, timeout: '300ms', retries: 0 }, ['system']));
    expect(stats.ok).toBe(false);
    expect(stats.timeouts).toBe(1);
    expect(String((h.errors[0]?.err as Error).message)).toMatch(/auth\/priv keys/);
  });
});

describe('reload (SIGHUP)', () => {
  it('adds a device without disturbing the running one (its rates continue), and a bad file changes nothing', async () => {
    const file = join(tmp.dir, 'reload.yaml');
    const dev = (name: string) => `  - { name: ${name}, address: 127.0.0.1, port: ${agent.port}, interval: 700ms, timeout: 300ms, credentials: { community: public }, profiles: [interfaces] }`;
    await writeFile(file, ['devices:', dev('a')].join('\n'));
    const h = harness(tmp.dir, tmp.dir);
    const c = new SnmpCollector(snmpConfigSchema.parse({ devices: 'reload.yaml' }), h.ctx);
    const polls = (name: string) => h.records.filter((r) => r.measurement === 'snmp_poll' && r.tags.device === name).length;
    await c.start();
    try {
      await waitFor('a polled twice', () => polls('a') >= 2, 10_000);
      await writeFile(file, ['devices:', dev('a'), dev('b')].join('\n'));
      await c.reload(snmpConfigSchema.parse({ devices: 'reload.yaml' }));
      const mark = h.records.length;
      await waitFor('b polled', () => polls('b') >= 1, 10_000);
      await waitFor('a polled after reload', () => h.records.slice(mark).some((r) => r.measurement === 'snmp_poll' && r.tags.device === 'a'), 10_000);
      // a kept its rate state: its first poll after the reload already has rates
      const aAfter = h.records.slice(mark).filter((r) => r.kind === 'interface' && r.tags.device === 'a');
      expect(aAfter.length).toBeGreaterThan(0);
      expect(aAfter.every((r) => typeof r.fields.in_bps === 'number')).toBe(true);

      await writeFile(file, ['devices:', dev('a'), '  - { name: c, address: 127.0.0.1, profiles: [nosuch] }'].join('\n'));
      await expect(c.reload(snmpConfigSchema.parse({ devices: 'reload.yaml' }))).rejects.toBeInstanceOf(ConfigError);
      const names = (c.status() as { devices: { name: string }[] }).devices.map((d) => d.name).sort();
      expect(names).toEqual(['a', 'b']);
    } finally {
      await c.stop();
    }
  });
});

describe('secrets', () => {
  it('communities and v3 keys appear in no log line and no reported error', async () => {
    const file = join(tmp.dir, 'secrets.yaml');
    await writeFile(
      file,
      [
        'devices:',
        `  - { name: v2, address: 127.0.0.1, port: ${agent.port}, interval: 500ms, timeout: 200ms, retries: 0, credentials: { community: "\${NV_TEST_COMMUNITY}" }, profiles: [system] }`,
        `  - { name: v3, address: 127.0.0.1, port: ${agent.port}, interval: 500ms, timeout: 200ms, retries: 0, version: v3, profiles: [system],`,
        `      credentials: { user: shaaes, auth_protocol: sha, auth_key: "\${NV_TEST_AUTH}", priv_protocol: aes, priv_key: "\${NV_TEST_PRIV}" } }`,
      ].join('\n'),
    );
    const secrets = { NV_TEST_COMMUNITY: 'wrong-community-0xC0FFEE', NV_TEST_AUTH: 'wrong-auth-0xBEEF', NV_TEST_PRIV: 'wrong-priv-0xF00D' };
    Object.assign(process.env, secrets);
    let logged = '';
    const h = harness(tmp.dir, tmp.dir);
    h.ctx.log = createLogger('trace', { write: (s: string) => void (logged += s) });
    // what the framework does with emitter errors: log them
    h.ctx.emitter.error = (err, context) => {
      h.errors.push({ err });
      h.ctx.log.warn({ err, ...context }, 'collector error');
    };
    const c = new SnmpCollector(snmpConfigSchema.parse({ devices: 'secrets.yaml' }), h.ctx);
    await c.start();
    try {
      await waitFor('both devices failed once', () => new Set(h.records.filter((r) => r.measurement === 'snmp_poll').map((r) => r.tags.device)).size === 2, 10_000);
    } finally {
      await c.stop();
      for (const k of Object.keys(secrets)) delete process.env[k];
    }
    expect(h.errors.length).toBeGreaterThan(0);
    const everything = logged + JSON.stringify(c.status()) + h.errors.map((e) => `${String(e.err)} ${(e.err as Error).stack ?? ''}`).join('\n');
    for (const v of Object.values(secrets)) expect(everything).not.toContain(v);
  });
});
