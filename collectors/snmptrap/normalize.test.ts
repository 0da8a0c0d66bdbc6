import { describe, expect, it } from 'vitest';
import { MibResolver } from '../snmp/mibs.js';
import type { Vb } from '../snmp/values.js';
import { trapRecord, v1TrapOid, type Notification } from './normalize.js';

const names = MibResolver.load().resolver;
const none = { toName: () => undefined, objectOf: () => undefined };
const i = (oid: string, v: bigint): Vb => ({ oid, value: { kind: 'int', value: v } });
const o = (oid: string, v: string): Vb => ({ oid, value: { kind: 'oid', value: v } });

describe('trap normalisation', () => {
  it('v1 generic traps map to snmpTraps.N+1 and enterprise-specific to enterprise.0.specific (RFC 3584 3.1)', () => {
    expect(v1TrapOid({ enterprise: '1.3.6.1.4.1.9', agentAddr: '', generic: 0, specific: 0, upTime: 0 })).toBe('1.3.6.1.6.3.1.1.5.1');
    expect(v1TrapOid({ enterprise: '1.3.6.1.4.1.9', agentAddr: '', generic: 6, specific: 17, upTime: 0 })).toBe('1.3.6.1.4.1.9.0.17');
  });

  it('keys varbinds by object name, keeps repeated objects apart, leaves unknown OIDs numeric', () => {
    const n: Notification = {
      version: 'v2c',
      pdu: 'trap',
      sender: { address: '10.0.0.9', port: 40000 },
      community: 'public',
      varbinds: [
        i('1.3.6.1.2.1.1.3.0', 5n),
        o('1.3.6.1.6.3.1.1.4.1.0', '1.3.6.1.6.3.1.1.5.3'),
        i('1.3.6.1.2.1.2.2.1.1.4', 4n),
        i('1.3.6.1.2.1.2.2.1.1.5', 5n),
        { oid: '1.3.6.1.4.1.99999.7.1', value: { kind: 'text', value: 'fan tray' } },
        { oid: '1.3.6.1.2.1.2.2.1.2.4', value: { kind: 'missing', reason: 'noSuchInstance' } },
      ],
    };
    const r = trapRecord(n, undefined, names, 1000);
    expect(r.tags).toEqual({ device: '10.0.0.9', agent: '10.0.0.9', version: 'v2c', pdu: 'trap', trap: 'IF-MIB::linkDown' });
    expect(r.fields).toEqual({
      uptime: 5n,
      ifIndex: 4n,
      'ifIndex.5': 5n,
      // no loaded MIB covers enterprises.99999: resolved as deep as known
      'SNMPv2-SMI::enterprises.99999.7.1': 'fan tray',
      trap_oid: '1.3.6.1.6.3.1.1.5.3',
      sender: '10.0.0.9:40000',
      // no `community`: a credential is not stored with the trap
    });
    expect(trapRecord(n, 'edge', none, 1).fields['1.3.6.1.4.1.99999.7.1']).toBe('fan tray');
    expect(trapRecord(n, 'edge', none, 1).tags.device).toBe('edge');
  });

  it('a v2 trap without snmpTrapOID.0 is tagged unknown rather than dropped', () => {
    const r = trapRecord({ version: 'v3', pdu: 'inform', user: 'u', sender: { address: '::1', port: 1 }, varbinds: [] }, undefined, names, 0);
    expect(r.tags.trap).toBe('unknown');
    expect(r.fields.user).toBe('u');
  });
});
