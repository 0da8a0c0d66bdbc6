/** base64Into gives Node's base64 (RFC 4648 §4) for every length, whole and in pieces of 3n bytes. */
import { describe, expect, it } from 'vitest';
import { base64Into, base64Length } from './base64into.js';

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 17 + (i >> 3)) & 255);
const text = (out: Uint8Array, n: number): string => Buffer.from(out.buffer, out.byteOffset, n).toString('latin1');

describe('base64Into', () => {
  it('matches Buffer#toString("base64") for lengths 0-64, every byte value included', () => {
    for (let n = 0; n <= 64; n++) {
      const src = bytes(n, n);
      const out = new Uint8Array(base64Length(n));
      expect(text(out, base64Into(src, out))).toBe(Buffer.from(src).toString('base64'));
    }
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const out = new Uint8Array(base64Length(256));
    expect(text(out, base64Into(all, out))).toBe(Buffer.from(all).toString('base64'));
  });

  it('pieces of 3n bytes join into the whole; an output at an odd offset is refused', () => {
    const src = bytes(1000, 7);
    const out = new Uint8Array(base64Length(99));
    let joined = '';
    for (let i = 0; i < src.length; i += 99) joined += text(out, base64Into(src.subarray(i, i + 99), out));
    expect(joined).toBe(Buffer.from(src).toString('base64'));
    expect(() => base64Into(src, new Uint8Array(base64Length(1000) + 1).subarray(1))).toThrow(/even byte offset/);
  });
});
