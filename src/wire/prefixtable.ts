/**
 * Longest-prefix match of IPv4 and IPv6 addresses against a set of networks, on the flow path: a
 * binary trie in typed arrays walked bit by bit from the address's own number (IPv4 as the uint32
 * the decoders produce) or IPv6 key (ip6key.ts), so a lookup formats nothing and allocates nothing.
 * A walk is at most as deep as the longest prefix on its path (32 or 128 steps).
 */
const NONE = -1;

export class PrefixTable<T> {
  /** Children per node (bit 0, bit 1) and the value index stored at a node; NONE when absent. */
  private zero: Int32Array<ArrayBuffer> = new Int32Array(256).fill(NONE);
  private one: Int32Array<ArrayBuffer> = new Int32Array(256).fill(NONE);
  private val: Int32Array<ArrayBuffer> = new Int32Array(256).fill(NONE);
  private nodes = 2;
  private readonly values: T[] = [];
  /** Roots: node 0 for IPv4, node 1 for IPv6. */
  private static readonly ROOT4 = 0;
  private static readonly ROOT6 = 1;

  get size(): number {
    return this.values.length;
  }

  /**
   * Stores `value` for the network `bytes`/`bits` (4 or 16 bytes, host bits ignored). Returns the
   * value already stored for exactly this network, if any (the caller decides whether that is an error).
   */
  insert(bytes: Uint8Array, bits: number, value: T): T | undefined {
    let n = bytes.length === 4 ? PrefixTable.ROOT4 : PrefixTable.ROOT6;
    for (let i = 0; i < bits; i++) {
      const bit = ((bytes[i >> 3] as number) >> (7 - (i & 7))) & 1;
      const side = bit ? this.one : this.zero;
      let next = side[n] as number;
      if (next === NONE) {
        next = this.newNode();
        (bit ? this.one : this.zero)[n] = next;
      }
      n = next;
    }
    const had = this.val[n] as number;
    if (had !== NONE) return this.values[had];
    this.val[n] = this.values.length;
    this.values.push(value);
    return undefined;
  }

  private newNode(): number {
    if (this.nodes === this.val.length) {
      const grow = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
        const b = new Int32Array(a.length * 2).fill(NONE);
        b.set(a);
        return b;
      };
      this.zero = grow(this.zero);
      this.one = grow(this.one);
      this.val = grow(this.val);
    }
    return this.nodes++;
  }

  /** The longest network holding the IPv4 address `a` (uint32). */
  find4(a: number): T | undefined {
    let n = PrefixTable.ROOT4;
    let best = this.val[n] as number;
    for (let i = 31; i >= 0; i--) {
      n = ((a >>> i) & 1 ? this.one[n] : this.zero[n]) as number;
      if (n === NONE) break;
      const v = this.val[n] as number;
      if (v !== NONE) best = v;
    }
    return best === NONE ? undefined : this.values[best];
  }

  /** The longest network holding the IPv6 address of a key (src/wire/ip6key.ts: marker + eight 16-bit words). */
  find6(key: string): T | undefined {
    let n = PrefixTable.ROOT6;
    let best = this.val[n] as number;
    let w = 0;
    for (let i = 0; i < 128; i++) {
      if ((i & 15) === 0) w = key.charCodeAt(1 + (i >> 4));
      n = ((w >>> (15 - (i & 15))) & 1 ? this.one[n] : this.zero[n]) as number;
      if (n === NONE) break;
      const v = this.val[n] as number;
      if (v !== NONE) best = v;
    }
    return best === NONE ? undefined : this.values[best];
  }

  /** The longest network holding `bytes` among those shorter than `below` bits (default: any). */
  findBytes(bytes: Uint8Array, below = bytes.length * 8 + 1): T | undefined {
    let n = bytes.length === 4 ? PrefixTable.ROOT4 : PrefixTable.ROOT6;
    let best = below > 0 ? (this.val[n] as number) : NONE;
    for (let i = 0; i + 1 < below && i < bytes.length * 8; i++) {
      const bit = ((bytes[i >> 3] as number) >> (7 - (i & 7))) & 1;
      n = (bit ? this.one[n] : this.zero[n]) as number;
      if (n === NONE) break;
      const v = this.val[n] as number;
      if (v !== NONE) best = v;
    }
    return best === NONE ? undefined : this.values[best];
  }
}
