/**
 * IPv6 key (src/wire/ip6key.ts) -> slot, an open-addressing table on typed arrays: the address's
 * four 32-bit words are hashed and compared in place. A Map keyed by the key string was 31% of the
 * collector's time on all-IPv6 softflowd exports with ~40 k talkers (hashing fresh strings, then a
 * cache miss per probe in a large Map); this allocates nothing per flow.
 */

/** Word `w` (0..3) of a key: code units 1+2w and 2+2w (unit 0 is the marker). */
function word(k: string, w: number): number {
  return (k.charCodeAt(1 + 2 * w) << 16) | k.charCodeAt(2 + 2 * w);
}

function hash(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a, 0xcc9e2d51) ^ Math.imul(b, 0x1b873593);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) ^ Math.imul(c, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13), 0x27d4eb2f) ^ d;
  return Math.imul(h ^ (h >>> 16), 0x9e3779b1) >>> 0;
}

export class Ip6Index {
  /** Four words per bucket, and slot + 1 per bucket (0 = empty); linear probing, load <= 1/2. */
  private words = new Int32Array(4 * 1024);
  private slots = new Int32Array(1024);
  private mask = 1023;
  private count = 0;

  /** The slot stored for `k`, or -1. */
  find(k: string): number {
    const a = word(k, 0);
    const b = word(k, 1);
    const c = word(k, 2);
    const d = word(k, 3);
    const w = this.words;
    for (let h = hash(a, b, c, d); ; h++) {
      h &= this.mask;
      const s = this.slots[h] as number;
      if (s === 0) return -1;
      const o = 4 * h;
      if (w[o] === a && w[o + 1] === b && w[o + 2] === c && w[o + 3] === d) return s - 1;
    }
  }

  /** Stores `slot` for `k`, which `find` did not hold. */
  insert(k: string, slot: number): void {
    if ((this.count + 1) * 2 > this.mask) this.grow();
    this.put(word(k, 0), word(k, 1), word(k, 2), word(k, 3), slot + 1);
    this.count++;
  }

  clear(): void {
    if (this.count === 0) return;
    this.slots.fill(0);
    this.count = 0;
  }

  private put(a: number, b: number, c: number, d: number, s: number): void {
    let h = hash(a, b, c, d);
    for (;;) {
      h &= this.mask;
      if (this.slots[h] === 0) break;
      h++;
    }
    const o = 4 * h;
    this.words[o] = a;
    this.words[o + 1] = b;
    this.words[o + 2] = c;
    this.words[o + 3] = d;
    this.slots[h] = s;
  }

  private grow(): void {
    const oldWords = this.words;
    const oldSlots = this.slots;
    const size = oldSlots.length * 2;
    this.words = new Int32Array(4 * size);
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    for (let j = 0; j < oldSlots.length; j++) {
      const s = oldSlots[j] as number;
      if (s !== 0) this.put(oldWords[4 * j] as number, oldWords[4 * j + 1] as number, oldWords[4 * j + 2] as number, oldWords[4 * j + 3] as number, s);
    }
  }
}
