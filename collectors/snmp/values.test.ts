import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AsnType, bufferToBigint, compareOids, convertValue, decodeOctets, valueAsText } from './values.js';

describe('values', () => {
  it('Counter64 Buffers of any length 1-9 become exact bigints', () => {
    expect(bufferToBigint(Buffer.from([0x01]))).toBe(1n);
    expect(bufferToBigint(Buffer.from('00ffffffffffffffff', 'hex'))).toBe(2n ** 64n - 1n);
    expect(convertValue(AsnType.Counter64, Buffer.from('0020000000000001', 'hex'))).toEqual({ kind: 'int', value: 2n ** 53n + 1n, counterBits: 64 });
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (v) => {
        const hex = v.toString(16);
        const b = Buffer.from((hex.length % 2 ? '0' : '') + hex, 'hex');
        expect(bufferToBigint(b)).toBe(v);
      }),
    );
  });
  it('Counter32 is 32-bit, gauges and integers are plain ints', () => {
    expect(convertValue(AsnType.Counter, 4294967295)).toEqual({ kind: 'int', value: 4294967295n, counterBits: 32 });
    expect(convertValue(AsnType.Integer, -5)).toEqual({ kind: 'int', value: -5n });
    expect(convertValue(AsnType.TimeTicks, 100)).toEqual({ kind: 'int', value: 100n, ticks: true });
  });
  it('varbind exceptions are missing values, not zeros', () => {
    expect(convertValue(AsnType.NoSuchObject, null)).toEqual({ kind: 'missing', reason: 'noSuchObject' });
    expect(convertValue(AsnType.NoSuchInstance, null)).toEqual({ kind: 'missing', reason: 'noSuchInstance' });
    expect(convertValue(AsnType.EndOfMibView, null)).toEqual({ kind: 'missing', reason: 'endOfMibView' });
  });
  it('octet strings: UTF-8 text stays text (trailing NULs dropped), binary becomes colon hex', () => {
    expect(decodeOctets(Buffer.from('Gi1/0/1\0\0'))).toEqual({ kind: 'text', value: 'Gi1/0/1' });
    expect(decodeOctets(Buffer.from('uplink → core', 'utf8'))).toEqual({ kind: 'text', value: 'uplink → core' });
    const mac = convertValue(AsnType.OctetString, Buffer.from('001b2c3d4e5f', 'hex'));
    expect(mac.kind).toBe('bytes');
    expect(valueAsText(mac)).toBe('00:1b:2c:3d:4e:5f');
  });
  it('orders OIDs numerically, not as strings', () => {
    expect(compareOids('1.3.6.1.2', '1.3.6.1.10')).toBeLessThan(0);
    expect(compareOids('1.3.6.1', '1.3.6.1.0')).toBeLessThan(0);
    expect(compareOids('1.3.6.1.5', '1.3.6.1.5')).toBe(0);
    const ref = (a: string, b: string) => {
      const x = a.split('.').map(Number);
      const y = b.split('.').map(Number);
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return Math.sign((x[i] ?? 0) - (y[i] ?? 0));
      return Math.sign(x.length - y.length);
    };
    const oid = fc.array(fc.nat({ max: 5000 }), { minLength: 1, maxLength: 12 }).map((a) => a.join('.'));
    fc.assert(
      fc.property(oid, oid, (a, b) => {
        expect(Math.sign(compareOids(a, b))).toBe(ref(a, b));
      }),
    );
  });
});
