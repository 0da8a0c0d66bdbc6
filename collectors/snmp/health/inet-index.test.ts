import { describe, expect, it } from 'vitest';
import { inetFromIndex, ipv6Text } from './inet-index.js';

const parts = (s: string) => s.split('.').map(Number);

describe('InetAddress in an index (RFC 4001 section 4.1)', () => {
  it('length-prefixed and length-less layouts, IPv4 whose first octet equals the length', () => {
    expect(inetFromIndex(parts('1.4.4.3.2.1'), 0, true)).toEqual({ type: 'ipv4', text: '4.3.2.1', used: 6 });
    // Juniper's layout: type then the octets; 4.3.2.1 must not be read as a length prefix
    expect(inetFromIndex(parts('1.4.3.2.1.1.192.0.2.1'), 0, false)).toEqual({ type: 'ipv4', text: '4.3.2.1', used: 5 });
    expect(inetFromIndex(parts('1.4.3.2.1.1.192.0.2.1'), 5, false)?.text).toBe('192.0.2.1');
  });
  it('IPv6 as RFC 5952 text, and the zone of ipv6z / ipv4z', () => {
    expect(inetFromIndex(parts('2.16.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1'), 0, true)?.text).toBe('2001:db8::1');
    expect(inetFromIndex(parts('4.20.254.128.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.5'), 0, true)).toEqual({ type: 'ipv6', text: 'fe80::1%5', used: 22 });
    expect(inetFromIndex(parts('3.8.10.0.0.1.0.0.1.0'), 0, true)?.text).toBe('10.0.0.1%256');
  });
  it('refuses what does not fit: wrong length, unknown type, short index, octet over 255', () => {
    expect(inetFromIndex(parts('1.5.10.0.0.2.9'), 0, true)).toBeUndefined();
    expect(inetFromIndex(parts('16.4.10.0.0.1'), 0, true)).toBeUndefined();
    expect(inetFromIndex(parts('2.16.32.1'), 0, true)).toBeUndefined();
    expect(inetFromIndex(parts('1.4.10.0.0.256'), 0, true)).toBeUndefined();
    expect(inetFromIndex([], 0, false)).toBeUndefined();
  });
  it('RFC 5952: longest zero run compressed, first on a tie, a single zero group kept', () => {
    expect(ipv6Text([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2])).toBe('2001:db8:0:1::2');
    expect(ipv6Text([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1])).toBe('2001:db8::1:0:0:1');
    expect(ipv6Text([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1])).toBe('2001:db8:0:1:1:1:1:1');
    expect(ipv6Text(new Array<number>(16).fill(0))).toBe('::');
  });
});
