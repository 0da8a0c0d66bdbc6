/**
 * An IPv6 address as a hashable key without formatting it: the 16 bytes packed as eight 16-bit code
 * units after a NUL marker (9 UTF-16 units, a flat string V8 hashes in one pass). Address text
 * (RFC 5952, `ipv6ToString`) costs a scan for the longest zero run, hex formatting and a cons
 * string that must be flattened before it can be hashed; measured on softflowd v9 exports of
 * all-IPv6 traffic, hashing that text in the talker table was 39% of the collector's time.
 * Text is made only where it is written (a tag at flush, a Record field). No address text starts
 * with NUL, so a key is never mistaken for text and vice versa.
 */
import { addressBytes } from './address.js';
import { ipv6ToString } from './reader.js';

const MARK = 0;

/** Key of the 16-byte address at `off`; the caller has checked that 16 bytes are there. */
export function ip6Key(b: Uint8Array, off: number): string {
  const w = (i: number): number => ((b[off + i] as number) << 8) | (b[off + i + 1] as number);
  return String.fromCharCode(MARK, w(0), w(2), w(4), w(6), w(8), w(10), w(12), w(14));
}

export function isIp6Key(s: string): boolean {
  return s.length === 9 && s.charCodeAt(0) === MARK;
}

/** The all-zero address (the unused family of a dual-stack template). */
export const IP6_ZERO_KEY = String.fromCharCode(MARK, 0, 0, 0, 0, 0, 0, 0, 0);

/** Canonical text (RFC 5952) of a key. */
export function ip6KeyText(k: string): string {
  const b = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const w = k.charCodeAt(i + 1);
    b[2 * i] = w >>> 8;
    b[2 * i + 1] = w & 255;
  }
  return ipv6ToString(b);
}

/** Key of IPv6 address text, or undefined when the text is not an IPv6 address. */
export function ip6KeyFromText(s: string): string | undefined {
  if (!s.includes(':')) return undefined;
  const b = addressBytes(s);
  return b && b.length === 16 ? ip6Key(b, 0) : undefined;
}
