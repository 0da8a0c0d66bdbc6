/**
 * The trap/inform receiver fed by Debian's snmptrap and snmpinform (v1, v2c, v3 authPriv) on a
 * loopback high port. snmpinform exits 0 only when the inform was acknowledged.
 */
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snmptrapCollector, snmptrapConfigSchema } from '../collectors/snmptrap/index.js';
import type { Collector } from '../src/collector.js';
import type { NetRecord } from '../src/record/record.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { AUTH_KEY, harness, PRIV_KEY, runTool, type Harness } from './helpers/snmpd.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
let port = 0;
let h: Harness;
let c: Collector;

beforeAll(async () => {
  tmp = await makeTmpDir();
  port = await freeUdpPort();
  h = harness(tmp.dir, tmp.dir);
  // The sender 127.0.0.1 is known to the interface directory as device "edge1" (as SNMP polling would set it).
  h.ctx.interfaces.update('edge1', ['127.0.0.1'], 'snmp', [{ ifIndex: 1, name: 'Gi0/1' }]);
  const config = snmptrapConfigSchema.parse({
    address: '127.0.0.1',
    port,
    communities: ['public'],
    users: [{ user: 'trapuser', auth_protocol: 'sha', auth_key: AUTH_KEY, priv_protocol: 'aes', priv_key: PRIV_KEY }],
    engine_id: '8000000001020304',
    report_interval: '1h',
  });
  c = snmptrapCollector.create(config, h.ctx);
  await c.start();
});
afterAll(async () => {
  await c?.stop();
  await tmp?.cleanup();
});

const target = () => `127.0.0.1:${port}`;
const V3 = ['-v3', '-u', 'trapuser', '-l', 'authPriv', '-a', 'SHA', '-A', AUTH_KEY, '-x', 'AES', '-X', PRIV_KEY];
const LINK_VARBINDS = ['1.3.6.1.2.1.2.2.1.1.7', 'i', '7', '1.3.6.1.2.1.2.2.1.7.7', 'i', '1', '1.3.6.1.2.1.2.2.1.8.7', 'i', '2'];

async function arrives(pred: (r: NetRecord) => boolean): Promise<NetRecord> {
  return waitFor('trap record', () => h.records.find((r) => r.kind === 'trap' && pred(r)), 10_000);
}

describe('snmptrap collector', () => {
  it('v2c trap: linkDown with varbinds named from IF-MIB', async () => {
    await runTool('snmptrap', ['-v2c', '-c', 'public', target(), '4242', '1.3.6.1.6.3.1.1.5.3', ...LINK_VARBINDS], tmp.dir);
    const r = await arrives((x) => x.tags.version === 'v2c' && x.tags.pdu === 'trap');
    expect(r.measurement).toBe('snmp_trap');
    expect(r.tags).toMatchObject({ device: 'edge1', agent: '127.0.0.1', trap: 'IF-MIB::linkDown' });
    expect(r.fields).toMatchObject({ uptime: 4242n, ifIndex: 7n, ifAdminStatus: 1n, ifOperStatus: 2n, trap_oid: '1.3.6.1.6.3.1.1.5.3' });
    expect(r.fields.community).toBeUndefined(); // a credential: never written to InfluxDB
    expect(String(r.fields.sender)).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('v1 trap: generic linkDown maps to the same trap name (RFC 3584)', async () => {
    await runTool('snmptrap', ['-v1', '-c', 'public', target(), '1.3.6.1.4.1.8072.3.2.10', '127.0.0.1', '2', '0', '777', '1.3.6.1.2.1.2.2.1.1.9', 'i', '9'], tmp.dir);
    const r = await arrives((x) => x.tags.version === 'v1');
    expect(r.tags).toMatchObject({ trap: 'IF-MIB::linkDown', agent: '127.0.0.1', device: 'edge1', pdu: 'trap' });
    expect(r.fields).toMatchObject({ uptime: 777n, ifIndex: 9n });
    expect(r.fields.community).toBeUndefined();
  });

  it('v2c inform is acknowledged (snmpinform exits 0) and recorded', async () => {
    await runTool('snmpinform', ['-v2c', '-c', 'public', '-t', '2', '-r', '1', target(), '', '1.3.6.1.6.3.1.1.5.4', ...LINK_VARBINDS], tmp.dir);
    const r = await arrives((x) => x.tags.pdu === 'inform' && x.tags.version === 'v2c');
    expect(r.tags.trap).toBe('IF-MIB::linkUp');
  });

  it('v3 authPriv trap from a configured user', async () => {
    await runTool('snmptrap', [...V3, '-e', '0x8000000001020399', target(), '', '1.3.6.1.6.3.1.1.5.1'], tmp.dir);
    const r = await arrives((x) => x.tags.version === 'v3' && x.tags.pdu === 'trap');
    expect(r.tags.trap).toBe('SNMPv2-MIB::coldStart');
    expect(r.fields.user).toBe('trapuser');
  });

  it('v3 authPriv inform is acknowledged', async () => {
    await runTool('snmpinform', [...V3, '-t', '2', '-r', '1', target(), '', '1.3.6.1.6.3.1.1.5.2'], tmp.dir);
    const r = await arrives((x) => x.tags.version === 'v3' && x.tags.pdu === 'inform');
    expect(r.tags.trap).toBe('SNMPv2-MIB::warmStart');
  });

  it('an unknown community is counted per sender and reported once, not recorded as a trap', async () => {
    const before = h.records.length;
    for (let i = 0; i < 3; i++) await runTool('snmptrap', ['-v2c', '-c', 'wrongcommunity', target(), '', '1.3.6.1.6.3.1.1.5.3'], tmp.dir);
    await waitFor('rejections counted', () => ((c.status?.() as { pending_rejections: Record<string, number> }).pending_rejections[`127.0.0.1\u0000unknown_community`] ?? 0) >= 3, 5000);
    expect(h.records.slice(before).filter((r) => r.kind === 'trap')).toEqual([]);
  });
});

describe('snmptrap bind errors', () => {
  it('a port already in use fails start() with a clear error instead of listening silently on nothing', async () => {
    const h2 = harness(tmp.dir, tmp.dir);
    const dup = snmptrapCollector.create(snmptrapConfigSchema.parse({ address: '127.0.0.1', port }), h2.ctx);
    await expect(dup.start()).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  });
});

describe('snmptrap rejection report', () => {
  it('reports rejected senders once per interval as a log line and a snmptrap_rejected record', async () => {
    const p2 = await freeUdpPort();
    const h2 = harness(tmp.dir, tmp.dir);
    const c2 = snmptrapCollector.create(snmptrapConfigSchema.parse({ address: '127.0.0.1', port: p2, communities: ['public'], report_interval: '300ms' }), h2.ctx);
    await c2.start();
    try {
      for (let i = 0; i < 2; i++) await runTool('snmptrap', ['-v2c', '-c', 'nope', `127.0.0.1:${p2}`, '', '1.3.6.1.6.3.1.1.5.3'], tmp.dir);
      const reports = () => h2.records.filter((r) => r.measurement === 'snmptrap_rejected');
      const total = () => reports().reduce((n, r) => n + Number(r.fields.count), 0);
      await waitFor('rejection report', () => total() === 2, 5000);
      for (const r of reports()) {
        expect(r.kind).toBe('health');
        expect(r.tags).toEqual({ sender: '127.0.0.1', reason: 'unknown_community' });
      }
      const n = reports().length;
      await new Promise((r) => setTimeout(r, 700));
      // reported once: later intervals without new rejections add nothing
      expect(reports().length).toBe(n);
    } finally {
      await c2.stop();
    }
  });
});

describe('snmptrap sender allowlist and malformed messages', () => {
  it('drops senders outside `allow` unparsed (an inform gets no acknowledgement) and counts them and garbage', async () => {
    const p3 = await freeUdpPort();
    const h3 = harness(tmp.dir, tmp.dir);
    // 127.0.0.1 is not in the list: every test packet comes from a sender that was not invited
    const c3 = snmptrapCollector.create(snmptrapConfigSchema.parse({ address: '127.0.0.1', port: p3, allow: ['192.0.2.0/24', '2001:db8::/32'], report_interval: '1h' }), h3.ctx);
    await c3.start();
    try {
      await runTool('snmptrap', ['-v2c', '-c', 'public', `127.0.0.1:${p3}`, '', '1.3.6.1.6.3.1.1.5.3'], tmp.dir);
      await expect(runTool('snmpinform', ['-v2c', '-c', 'public', '-t', '1', '-r', '0', `127.0.0.1:${p3}`, '', '1.3.6.1.6.3.1.1.5.3'], tmp.dir)).rejects.toThrow();
      const status = () => c3.status?.() as { rejected: Record<string, number> };
      await waitFor('two not_allowed', () => status().rejected['not_allowed'] === 2, 5000);
      expect(h3.records.filter((r) => r.kind === 'trap')).toEqual([]);
    } finally {
      await c3.stop();
    }
    const stats = h3.records.filter((r) => r.measurement === 'snmptrap_stats');
    expect(stats.at(-1)?.fields).toMatchObject({ received: 0n, rejected: 2n, not_allowed: 2n, malformed: 0n });
  });

  it('counts a datagram that is not SNMP as malformed and keeps receiving', async () => {
    const p4 = await freeUdpPort();
    const h4 = harness(tmp.dir, tmp.dir);
    const c4 = snmptrapCollector.create(snmptrapConfigSchema.parse({ address: '127.0.0.1', port: p4, allow: ['127.0.0.0/8'], report_interval: '1h' }), h4.ctx);
    await c4.start();
    try {
      const sock = createSocket('udp4');
      // generated garbage: a BER SEQUENCE header whose length runs past the datagram, then noise
      await new Promise<void>((res, rej) => sock.send(Buffer.from('30820fff0201010406', 'hex'), p4, '127.0.0.1', (e) => (e ? rej(e) : res())));
      sock.close();
      await waitFor('malformed counted', () => (c4.status?.() as { rejected: Record<string, number> }).rejected['malformed'] === 1, 5000);
      await runTool('snmptrap', ['-v2c', '-c', 'public', `127.0.0.1:${p4}`, '', '1.3.6.1.6.3.1.1.5.3'], tmp.dir);
      await waitFor('trap after garbage', () => h4.records.find((r) => r.kind === 'trap'), 5000);
    } finally {
      await c4.stop();
    }
    expect(h4.records.filter((r) => r.measurement === 'snmptrap_stats').at(-1)?.fields).toMatchObject({ received: 1n, malformed: 1n, rejected: 1n });
  });
});
