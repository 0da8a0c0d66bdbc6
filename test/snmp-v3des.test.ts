/**
 * SNMPv3 MD5/DES against snmpd. OpenSSL 3 ships DES only in its legacy provider, which Node loads
 * only at startup (--openssl-legacy-provider). Without it this file checks the clear error, then
 * re-runs itself in a child vitest with the provider enabled for the real exchange.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devicesOf, inventorySchema } from '../collectors/snmp/inventory.js';
import { desAvailable, SnmpClient } from '../collectors/snmp/netsnmp.js';
import { DevicePoller } from '../collectors/snmp/poller.js';
import { BUILTIN_PROFILES } from '../collectors/snmp/profiles.js';
import { SnmpError } from '../src/errors.js';
import { makeTmpDir } from './helpers/net.js';
import { AUTH_KEY, bulkwalk, harness, PRIV_KEY, startSnmpd, type Snmpd } from './helpers/snmpd.js';

const CHILD = process.env.NETVIGIL_DES_CHILD === '1';

describe('snmpd v3 MD5/DES', () => {
  let agent: Snmpd;
  let tmp: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    tmp = await makeTmpDir();
    if (desAvailable()) agent = await startSnmpd();
  });
  afterAll(async () => {
    await agent?.stop();
    await tmp?.cleanup();
  });

  const poll = async (port: number) => {
    const inv = inventorySchema.parse({
      devices: [{ name: 'des', address: '127.0.0.1', port, version: 'v3', timeout: '1s', profiles: ['system'], credentials: { user: 'md5des', auth_protocol: 'md5', auth_key: AUTH_KEY, priv_protocol: 'des', priv_key: PRIV_KEY } }],
    });
    const spec = devicesOf(inv)[0];
    if (!spec) throw new Error('no device');
    const h = harness(tmp.dir, tmp.dir);
    const client = new SnmpClient({ device: spec.name, address: spec.address, port: spec.port, timeoutMs: spec.timeoutMs, retries: spec.retries, credentials: spec.credentials });
    const poller = new DevicePoller(spec, client, { emit: (r) => h.ctx.emitter.emit(r), error: (e, c) => h.ctx.emitter.error(e, c), interfaces: h.ctx.interfaces, profiles: new Map(Object.entries(BUILTIN_PROFILES)), maxValuesPerWalk: 1000 });
    const stats = await poller.poll();
    client.close();
    return { stats, h };
  };

  if (desAvailable()) {
    it('reads sysName over MD5/DES like the v2c walk', async () => {
      const v2 = await bulkwalk(agent.port, 'public', '1.3.6.1.2.1.1.5', agent.dir);
      const { stats, h } = await poll(agent.port);
      expect(stats.ok).toBe(true);
      expect(h.records.find((r) => r.measurement === 'snmp_system')?.fields.sys_name).toBe(v2[0]?.value);
    });
  } else {
    it('without the legacy provider, DES fails with an error that says how to enable it', async () => {
      const { stats, h } = await poll(9); // never sent: the check happens before any packet
      expect(stats.ok).toBe(false);
      const err = h.errors[0]?.err as SnmpError;
      expect(err.kind).toBe('auth');
      expect(err.message).toContain('--openssl-legacy-provider');
    });
    it.skipIf(CHILD)('with --openssl-legacy-provider the DES exchange works (child run)', () => {
      const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
      const r = spawnSync(process.execPath, ['--openssl-legacy-provider', vitest, 'run', 'test/snmp-v3des.test.ts'], {
        env: { ...process.env, NETVIGIL_DES_CHILD: '1' },
        encoding: 'utf8',
        timeout: 50_000,
      });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/1 passed/);
    });
  }
});
