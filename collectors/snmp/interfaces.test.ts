import { describe, expect, it } from 'vitest';
import { IF_TABLE, IF_X_TABLE, interfaceInfos, interfaceRecord, interfaceRows } from './interfaces.js';
import { AsnType, convertValue, type SnmpValue, type Vb } from './values.js';

const c32 = (v: bigint): SnmpValue => ({ kind: 'int', value: v, counterBits: 32 });
const c64 = (v: bigint): SnmpValue => ({ kind: 'int', value: v, counterBits: 64 });
const int = (v: bigint): SnmpValue => ({ kind: 'int', value: v });
const txt = (v: string): SnmpValue => ({ kind: 'text', value: v });
const vb = (table: string, col: number, idx: number, value: SnmpValue): Vb => ({ oid: `${table}.${col}.${idx}`, value });

describe('interfaces normalisation', () => {
  const ifTable = [
    vb(IF_TABLE, 2, 1, txt('GigabitEthernet1/0/1')),
    vb(IF_TABLE, 5, 1, int(4_294_967_295n)), // ifSpeed saturated (RFC 2863)
    vb(IF_TABLE, 7, 1, int(1n)),
    vb(IF_TABLE, 8, 1, int(2n)),
    vb(IF_TABLE, 10, 1, c32(10n)),
    vb(IF_TABLE, 14, 1, c32(3n)),
    vb(IF_TABLE, 2, 2, txt('Null0')),
    vb(IF_TABLE, 5, 2, int(0n)),
    vb(IF_TABLE, 10, 2, c32(77n)),
    vb(IF_TABLE, 16, 2, { kind: 'missing', reason: 'noSuchInstance' }),
  ];
  const ifX = [
    vb(IF_X_TABLE, 1, 1, txt('Gi1/0/1')),
    vb(IF_X_TABLE, 6, 1, c64(2n ** 60n)),
    vb(IF_X_TABLE, 15, 1, int(10_000n)),
    vb(IF_X_TABLE, 18, 1, txt('uplink')),
  ];

  it('prefers HC counters and ifHighSpeed, falls back to 32-bit and ifSpeed, skips missing values', () => {
    const [a, b] = interfaceRows(ifTable, ifX);
    expect(a?.counterBits).toBe(64);
    expect(a?.sample.counters.in_octets).toEqual({ value: 2n ** 60n, bits: 64 });
    expect(a?.speedBps).toBe(10_000_000_000n);
    expect(b?.counterBits).toBe(32);
    expect(b?.sample.counters.in_octets).toEqual({ value: 77n, bits: 32 });
    expect(b?.sample.counters.out_octets).toBeUndefined();
    expect(b?.speedBps).toBe(0n);
  });

  it('builds the shared interface record and the enrichment entries', () => {
    const [a] = interfaceRows(ifTable, ifX);
    if (!a) throw new Error('no row');
    const r = interfaceRecord({ name: 'sw1', address: '10.0.0.1', tags: { site: 'x', device: 'spoofed' } }, a, { in_bps: 8 }, 5);
    expect(r).toMatchObject({ kind: 'interface', measurement: 'interface', time: 5 });
    // inventory tags cannot override the identity tags
    expect(r.tags).toEqual({ site: 'x', device: 'sw1', agent: '10.0.0.1', if_index: '1', source: 'snmp', if_name: 'Gi1/0/1', if_alias: 'uplink', if_descr: 'GigabitEthernet1/0/1' });
    expect(r.fields).toEqual({ in_octets: 2n ** 60n, in_errors: 3n, speed: 10_000_000_000n, high_speed: 10_000n, oper_status: 2n, admin_status: 1n, counter_bits: 64n, in_bps: 8 });
    expect(interfaceInfos([a])).toEqual([{ ifIndex: 1, name: 'Gi1/0/1', alias: 'uplink', descr: 'GigabitEthernet1/0/1', speed: 10_000_000_000 }]);
  });

  it('reads ifType, ifMtu, ifPhysAddress (bytes, even when printable), ifLastChange and the TruthValues as read', () => {
    const mac = convertValue(AsnType.OctetString, Buffer.from('414243444500', 'hex')); // "ABCDE" + NUL: decodes as text
    expect(mac.kind).toBe('text');
    const t = [vb(IF_TABLE, 3, 7, int(6n)), vb(IF_TABLE, 4, 7, int(9000n)), vb(IF_TABLE, 6, 7, mac), vb(IF_TABLE, 9, 7, { kind: 'int', value: 4242n, ticks: true }), vb(IF_TABLE, 3, 8, int(999n))];
    const x = [vb(IF_X_TABLE, 16, 7, int(1n)), vb(IF_X_TABLE, 17, 7, int(2n)), vb(IF_X_TABLE, 16, 8, int(0n))];
    const [r7, r8] = interfaceRows(t, x).map((row) => interfaceRecord({ name: 'd', address: 'a', tags: {} }, row, undefined, 1));
    expect(r7?.fields).toMatchObject({ if_type: 6n, mtu: 9000n, phys_address: '41:42:43:44:45:00', last_change: 4242n, promiscuous: 1n, connector_present: 2n });
    expect(r7?.tags.if_type).toBeUndefined(); // a field, as the sFlow collector writes it into the same measurement
    expect(r8?.fields.if_type).toBe(999n);
    expect(r8?.fields.promiscuous).toBe(0n); // as read, even when it is no TruthValue
  });
});
