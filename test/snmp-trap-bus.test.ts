/**
 * The trap receiver's two halves on a bus (collectors/snmptrap/receiver.ts): a receiver on a socket
 * hands over each accepted notification's datagram as received, and a receiver fed from the bus
 * (`source: 'bus'`, no socket) decodes those datagrams into the same notifications. The datagrams
 * are what Debian's net-snmp `snmptrap` and `snmpinform` sent (v1, v2c, v2c inform, v3 authPriv
 * trap and inform, the inform's engine discovery answered by the socket receiver).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notification } from '../collectors/snmptrap/normalize.js';
import { TrapReceiver, type Rejection } from '../collectors/snmptrap/receiver.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { AUTH_KEY, PRIV_KEY, runTool } from './helpers/snmpd.js';

const USER = { user: 'trapuser', auth_protocol: 'sha', auth_key: AUTH_KEY, priv_protocol: 'aes', priv_key: PRIV_KEY } as const;
const V3 = ['-v3', '-u', 'trapuser', '-l', 'authPriv', '-a', 'SHA', '-A', AUTH_KEY, '-x', 'AES', '-X', PRIV_KEY];

let tmp: { dir: string; cleanup: () => Promise<void> };
let rx: TrapReceiver;
let port = 0;
const taken: { n: Notification; datagram: Buffer }[] = [];

beforeAll(async () => {
  tmp = await makeTmpDir();
  port = await freeUdpPort();
  rx = new TrapReceiver({ address: '127.0.0.1', port, communities: ['public'], acceptAnyCommunity: false, users: [USER] }, (n, datagram) => taken.push({ n, datagram }), () => {});
  await rx.start();
  const to = `127.0.0.1:${port}`;
  const ifIndex = (i: number): string[] => [`1.3.6.1.2.1.2.2.1.1.${i}`, 'i', String(i)];
  await runTool('snmptrap', ['-v1', '-c', 'public', to, '1.3.6.1.4.1.8072.3.2.10', '127.0.0.1', '2', '0', '777', ...ifIndex(1)], tmp.dir);
  await runTool('snmptrap', ['-v2c', '-c', 'public', to, '', '1.3.6.1.6.3.1.1.5.3', ...ifIndex(2)], tmp.dir);
  await runTool('snmpinform', ['-v2c', '-c', 'public', '-t', '5', '-r', '1', to, '', '1.3.6.1.6.3.1.1.5.3', ...ifIndex(3)], tmp.dir);
  await runTool('snmptrap', [...V3, '-e', '0x8000000001020399', to, '', '1.3.6.1.6.3.1.1.5.3', ...ifIndex(4)], tmp.dir);
  await runTool('snmpinform', [...V3, '-t', '5', '-r', '1', to, '', '1.3.6.1.6.3.1.1.5.3', ...ifIndex(5)], tmp.dir);
  await waitFor('five notifications taken', () => taken.length >= 5, 10_000);
}, 60_000);

afterAll(async () => {
  await rx?.stop();
  await tmp?.cleanup();
});

/** A receiver fed from the bus; what it decodes and refuses. */
async function fromBus(users: (typeof USER)[], communities: string[]): Promise<{ rx: TrapReceiver; got: { n: Notification; at: number | undefined }[]; refused: Rejection[] }> {
  const got: { n: Notification; at: number | undefined }[] = [];
  const refused: Rejection[] = [];
  const b = new TrapReceiver({ address: '127.0.0.1', port, communities, acceptAnyCommunity: false, users, source: 'bus' }, (n, _d, at) => got.push({ n, at }), (r) => refused.push(r));
  await b.start(); // the socket receiver's port: a bind would fail (EADDRINUSE), so nothing is bound
  return { rx: b, got, refused };
}

describe('trap datagrams over the bus', () => {
  it('a receiver fed from the bus decodes the datagrams a receiver took into the same notifications, whatever its communities', async () => {
    expect(taken.map((t) => `${t.n.version} ${t.n.pdu}`)).toEqual(['v1 trap', 'v2c trap', 'v2c inform', 'v3 trap', 'v3 inform']);
    const b = await fromBus([USER], ['not-public']);
    try {
      for (const [i, t] of taken.entries()) b.rx.feed(t.datagram, t.n.sender, 1000 + i);
      expect(b.refused).toEqual([]);
      expect(b.got.map((g) => g.n)).toEqual(taken.map((t) => t.n));
      expect(b.got.map((g) => g.at)).toEqual([1000, 1001, 1002, 1003, 1004]);
    } finally {
      await b.rx.stop();
    }
  });

  it('without the v3 user, v3 traps and informs are refused as unknown_user; bytes that are not SNMP as malformed', async () => {
    const b = await fromBus([], ['public']);
    try {
      for (const t of taken) b.rx.feed(t.datagram, t.n.sender, 0);
      b.rx.feed(Buffer.from('not an SNMP message'), { address: '127.0.0.9', port: 9 }, 0);
      expect(b.got.map((g) => g.n.version)).toEqual(['v1', 'v2c', 'v2c']);
      expect(b.refused).toEqual([
        { sender: '127.0.0.1', reason: 'unknown_user' },
        { sender: '127.0.0.1', reason: 'unknown_user' },
        { sender: '127.0.0.9', reason: 'malformed' },
      ]);
    } finally {
      await b.rx.stop();
    }
  });
});
