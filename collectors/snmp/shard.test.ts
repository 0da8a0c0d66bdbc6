/**
 * The shard hash is part of the deployment contract: instances on different machines and versions
 * must agree on it, so it is pinned to the published FNV-1a test vectors, not to our own output.
 */
import { describe, expect, it } from 'vitest';
import { fnv1a32, inShard, shardOf } from './shard.js';

describe('fnv1a32', () => {
  it('matches the published FNV-1a 32-bit test vectors', () => {
    // From the reference test suite (Landon Curt Noll, fnv/test_fnv.c).
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('b')).toBe(0xe70c2de5);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes the UTF-8 bytes, so non-ASCII names are stable across platforms', () => {
    // "é" is two UTF-8 bytes: the hash must equal folding those two bytes by hand.
    let h = 0x811c9dc5;
    for (const b of [0xc3, 0xa9]) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    expect(fnv1a32('é')).toBe(h);
    expect(fnv1a32('é')).not.toBe(fnv1a32('\u00e9'.normalize('NFD')));
  });

  it('is an unsigned 32-bit integer', () => {
    for (const s of ['core-rtr-1', 'x'.repeat(1000), 'sw-0001']) {
      const h = fnv1a32(s);
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(2 ** 32);
    }
  });
});

describe('shards', () => {
  const names = Array.from({ length: 2000 }, (_, i) => `sw-${String(i).padStart(4, '0')}.site${i % 7}`);

  it('put every device in exactly one of N shards', () => {
    for (const count of [1, 2, 3, 5]) {
      for (const n of names.slice(0, 200)) {
        const owners = Array.from({ length: count }, (_, index) => index).filter((index) => inShard(n, { index, count }));
        expect(owners).toEqual([shardOf(n, count)]);
      }
    }
  });

  it('spread similar names evenly (each shard within 15% of its fair share)', () => {
    for (const count of [2, 3, 4, 8]) {
      const sizes = new Array<number>(count).fill(0);
      for (const n of names) sizes[shardOf(n, count)]! += 1;
      const fair = names.length / count;
      for (const size of sizes) {
        expect(size).toBeGreaterThan(fair * 0.85);
        expect(size).toBeLessThan(fair * 1.15);
      }
    }
  });

  it('depend on the name only, not on the order or size of the inventory', () => {
    const forward = names.slice(0, 50).map((n) => shardOf(n, 4));
    const backward = names.slice(0, 50).reverse().map((n) => shardOf(n, 4)).reverse();
    expect(backward).toEqual(forward);
    expect(forward.slice(0, 10)).toEqual(names.slice(0, 10).map((n) => fnv1a32(n) % 4));
  });

  it('0/1 (not sharded) keeps every device', () => {
    expect(names.every((n) => inShard(n, { index: 0, count: 1 }))).toBe(true);
  });
});
