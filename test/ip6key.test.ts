/** IPv6 byte keys (src/wire/ip6key.ts) against RFC 5952 text: same address, same key, same text back. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IP6_ZERO_KEY, ip6Key, ip6KeyFromText, ip6KeyText, isIp6Key } from '../src/wire/ip6key.js';
import { ipv6ToString } from '../src/wire/reader.js';

// bytes with long zero runs and IPv4-mapped forms as well as random ones
const word = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
const address = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc.array(word, { minLength: 8, maxLength: 8 }).map((ws) => Uint8Array.from(ws.flatMap((w) => [w >> 8, w & 255]))),
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((v4) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4])),
);

describe('IPv6 keys', () => {
  it('print as ipv6ToString and parse back from it (property)', () => {
    fc.assert(
      fc.property(address, fc.nat(8), (b, pad) => {
        const buf = new Uint8Array(pad + 16);
        buf.set(b, pad);
        const k = ip6Key(buf, pad);
        expect(isIp6Key(k)).toBe(true);
        expect(ip6KeyText(k)).toBe(ipv6ToString(b));
        expect(ip6KeyFromText(ipv6ToString(b))).toBe(k);
      }),
      { numRuns: 2000 },
    );
  });

  it('are never address text, and text that is no IPv6 address has no key', () => {
    expect(ip6KeyText(IP6_ZERO_KEY)).toBe('::');
    for (const s of ['::', '2001:db8::1', '192.0.2.1', '', 'other', 'aa:bb:cc:dd:ee:ff']) expect(isIp6Key(s)).toBe(false);
    for (const s of ['192.0.2.1', 'other', 'aa:bb:cc:dd:ee:ff', '2001:db8::1::2']) expect(ip6KeyFromText(s)).toBeUndefined();
  });
});
