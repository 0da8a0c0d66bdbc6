/**
 * Which devices this instance polls when the inventory is split over several instances
 * (`--shard I/N`). A device belongs to shard `fnv1a32(utf8(name)) mod N`.
 *
 * Why FNV-1a of the name: every instance computes the same answer from the inventory alone, with no
 * coordination, across restarts, Node versions and machines (the hash is fixed by its definition,
 * unlike anything seeded or order-dependent); the name is the device's identity (the `device` tag and
 * unique in the inventory), so editing an address or a credential never moves a device to another
 * instance. FNV-1a spreads short similar names (`sw-01`, `sw-02`, ...) well enough for an even split,
 * which the unit test checks.
 */

export interface Shard {
  index: number;
  count: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** 32-bit FNV-1a over the UTF-8 bytes of `s` (http://www.isthe.com/chongo/tech/comp/fnv/). */
export function fnv1a32(s: string): number {
  let h = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(s)) {
    h ^= byte;
    // Math.imul keeps the multiplication in 32 bits; `>>> 0` reads the result as unsigned.
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  return h;
}

/** The shard index (0..count-1) a device name belongs to. */
export function shardOf(name: string, count: number): number {
  return fnv1a32(name) % count;
}

/** True when this instance (`shard`) polls the device called `name`. */
export function inShard(name: string, shard: Shard): boolean {
  return shard.count <= 1 || shardOf(name, shard.count) === shard.index;
}
