/**
 * Per-interval volume by talker (source or destination address) for `flow_top`. Real traffic has
 * tens of thousands of distinct addresses per interval, so this is on the hot path. IPv4 talkers
 * (uint32) go through an open-addressing table on typed arrays: no string is made or hashed per
 * flow, and nothing is allocated. IPv6 talkers (byte keys, src/wire/ip6key.ts) use a Map. Either way a talker gets a slot,
 * and volumes live in typed arrays indexed by slot that survive from one interval to the next.
 */
import { ip6KeyFromText, ip6KeyText, isIp6Key } from '../../src/wire/ip6key.js';
import { ipv4ToString } from '../../src/wire/reader.js';
import { Ip6Index } from './ip6index.js';
import type { Key } from './view.js';
import { TopSlots } from './topheap.js';

export interface TalkerSum {
  talker: string;
  /** The talker as the table keys it (IPv4 as uint32). */
  key: Key;
  bytes: number;
  packets: number;
  flows: number;
}

/** What a lookup returns when the talker has no slot because the table is full. */
const NO_SLOT = -1;
const NONE: ReadonlySet<Key> = new Set();

/**
 * Volumes and IPv4 talkers as base64 of Float64Array bytes: JSON of 100 k talkers as number arrays
 * held the event loop for 25-100 ms every checkpoint (1 M-host softflowd capture, 2 full tables).
 */
export interface TalkerSnapshot {
  /** Talkers in slot order, as checkpoints before `v4`/`text` held them (read, never written). */
  keys?: Key[];
  /** Per slot: the IPv4 talker (uint32), or -1 where `text` holds the slot's talker. */
  v4?: string;
  /** [slot, talker] of the talkers that are not IPv4 (IPv6 byte keys, other text). */
  text?: [number, string][];
  bytes: string;
  packets: string;
  flows: string;
  rest: { bytes: number; packets: number; flows: number };
}

/** A table's content as `copy()` takes it: the encoding to a TalkerSnapshot can wait for a later tick. */
export interface TalkerCopy {
  /**
   * The table's own key array, not a copy: within an interval a slot's key never changes and new
   * talkers are appended; reset() replaces the array. So its first `bytes.length` entries are the
   * copy's keys for as long as the copy lives (a 100 k-key slice per checkpoint was 0.8 MiB of
   * garbage that outlived a scavenge or two and went to the old generation).
   */
  keys: readonly Key[];
  bytes: Float64Array;
  packets: Float64Array;
  flows: Float64Array;
  rest: { bytes: number; packets: number; flows: number };
}

export const b64 = (a: Float64Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

/** A copy's talkers split as the checkpoint holds them: IPv4 per slot (-1: see `text`), the others by slot. */
export function splitKeys(keys: readonly Key[], n = keys.length): { v4: Float64Array; text: [number, string][] } {
  const v4 = new Float64Array(n);
  const text: [number, string][] = [];
  for (let i = 0; i < n; i++) {
    const k = keys[i] as Key;
    if (typeof k === 'number') v4[i] = k;
    else {
      v4[i] = -1;
      text.push([i, k]);
    }
  }
  return { v4, text };
}

/** The checkpoint form of a copy: IPv4 talkers and volumes as base64 of Float64Array bytes. */
export function encodeTalkers(c: TalkerCopy): TalkerSnapshot {
  const { v4, text } = splitKeys(c.keys, c.bytes.length);
  return { v4: b64(v4), text, bytes: b64(c.bytes), packets: b64(c.packets), flows: b64(c.flows), rest: c.rest };
}

export class TalkerTable {
  private readonly max: number;
  /** IPv4 hash table: key (as int32) and slot + 1 (0 = empty), linear probing, load <= 1/2. */
  private v4keys: Int32Array;
  private v4slots: Int32Array;
  private v4mask: number;
  private readonly v6 = new Ip6Index();
  private readonly text = new Map<string, number>();
  private keys: Key[] = [];
  /** Volumes of the last reused copy (copy(true)). */
  private spare: [Float64Array, Float64Array, Float64Array] | undefined;
  private bytes = new Float64Array(1024);
  private packets = new Float64Array(1024);
  private flows = new Float64Array(1024);
  /** Volume of talkers that arrived after the table was full. */
  readonly rest = { bytes: 0, packets: 0, flows: 0 };

  constructor(maxTalkers: number) {
    this.max = maxTalkers;
    this.v4mask = 1023;
    this.v4keys = new Int32Array(1024);
    this.v4slots = new Int32Array(1024);
  }

  get size(): number {
    return this.keys.length;
  }

  /** `talker`: an IPv4 address as uint32, or address text; '' (absent) is not counted. */
  add(talker: Key, bytes: number, packets: number): void {
    let i: number;
    if (typeof talker === 'number') i = this.v4slot(talker | 0);
    else if (talker === '') return;
    else i = isIp6Key(talker) ? this.v6slot(talker) : this.textSlot(talker);
    if (i === NO_SLOT) {
      this.rest.bytes += bytes;
      this.rest.packets += packets;
      this.rest.flows += 1;
      return;
    }
    this.bytes[i] = (this.bytes[i] ?? 0) + bytes;
    this.packets[i] = (this.packets[i] ?? 0) + packets;
    this.flows[i] = (this.flows[i] ?? 0) + 1;
  }

  private v4slot(k: number): number {
    const mask = this.v4mask;
    // Fibonacci hashing spreads consecutive addresses (a /24 in use) over the table
    let h = Math.imul(k, 0x9e3779b1) >>> 0;
    for (;;) {
      h &= mask;
      const s = this.v4slots[h] as number;
      if (s === 0) break;
      if (this.v4keys[h] === k) return s - 1;
      h++;
    }
    const i = this.newSlot(k >>> 0);
    if (i === NO_SLOT) return NO_SLOT;
    this.v4keys[h] = k;
    this.v4slots[h] = i + 1;
    // keep the load at most 1/2 so probes stay short
    if (this.keys.length * 2 > mask) this.rehash();
    return i;
  }

  private rehash(): void {
    const oldKeys = this.v4keys;
    const oldSlots = this.v4slots;
    const size = oldSlots.length * 2;
    this.v4keys = new Int32Array(size);
    this.v4slots = new Int32Array(size);
    this.v4mask = size - 1;
    for (let j = 0; j < oldSlots.length; j++) {
      const s = oldSlots[j] as number;
      if (s === 0) continue;
      const k = oldKeys[j] as number;
      let h = Math.imul(k, 0x9e3779b1) >>> 0;
      for (;;) {
        h &= this.v4mask;
        if (this.v4slots[h] === 0) break;
        h++;
      }
      this.v4keys[h] = k;
      this.v4slots[h] = s;
    }
  }

  private v6slot(talker: string): number {
    const s = this.v6.find(talker);
    if (s >= 0) return s;
    const n = this.newSlot(talker);
    if (n !== NO_SLOT) this.v6.insert(talker, n);
    return n;
  }

  private textSlot(talker: string): number {
    const i = this.text.get(talker);
    if (i !== undefined) return i;
    const n = this.newSlot(talker);
    if (n !== NO_SLOT) this.text.set(talker, n);
    return n;
  }

  private newSlot(talker: Key): number {
    if (this.keys.length >= this.max) return NO_SLOT;
    const i = this.keys.length;
    if (i === this.bytes.length) this.grow();
    this.keys.push(talker);
    return i;
  }

  private grow(): void {
    const n = Math.min(this.bytes.length * 2, Math.max(this.max, 1024));
    const grown = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.bytes = grown(this.bytes);
    this.packets = grown(this.packets);
    this.flows = grown(this.flows);
  }

  /**
   * The n heaviest talkers by bytes (ties: first seen first), and everything else (the table's rest
   * included) summed. One pass with a size-n min-heap: flush runs on the event loop, and sorting
   * 100 k talkers per table stalled it for tens of ms (datagrams queue in the socket meanwhile).
   */
  top(n: number, alsoKeep: ReadonlySet<Key> = NONE): { top: TalkerSum[]; other: { bytes: number; packets: number; flows: number } } {
    const size = this.keys.length;
    const by = this.bytes;
    const heaviest = new TopSlots(by, n);
    for (let i = 0; i < size && n > 0; i++) heaviest.offer(i);
    const heap = heaviest.sorted();
    const kept = new Set(heap);
    // rows an earlier flush of this interval wrote (see Aggregator.flush) are written again, so the
    // rewrite overwrites them instead of leaving them counted twice beside "other"
    for (const k of alsoKeep) {
      const i = this.find(k);
      if (i !== NO_SLOT && !kept.has(i)) {
        kept.add(i);
        heap.push(i);
      }
    }
    const top: TalkerSum[] = heap.map((i) => {
      const k = this.keys[i] as Key;
      return { talker: typeof k === 'number' ? ipv4ToString(k) : isIp6Key(k) ? ip6KeyText(k) : k, key: k, bytes: by[i] as number, packets: this.packets[i] as number, flows: this.flows[i] as number };
    });
    // everything, then the kept rows taken out: one pass without a set lookup per talker (flush runs
    // once per interval, cold, over up to max_talkers slots while datagrams queue in the socket)
    let bytes = 0;
    let packets = 0;
    let flows = 0;
    for (let i = 0; i < size; i++) {
      bytes += by[i] as number;
      packets += this.packets[i] as number;
      flows += this.flows[i] as number;
    }
    for (const i of kept) {
      bytes -= by[i] as number;
      packets -= this.packets[i] as number;
      flows -= this.flows[i] as number;
    }
    const other = { bytes: this.rest.bytes + bytes, packets: this.rest.packets + packets, flows: this.rest.flows + flows };
    return { top, other };
  }

  /** Slot of a talker already in the table, or NO_SLOT. */
  private find(k: Key): number {
    if (typeof k === 'string') return isIp6Key(k) ? this.v6.find(k) : (this.text.get(k) ?? NO_SLOT);
    const key = k | 0;
    for (let h = Math.imul(key, 0x9e3779b1) >>> 0; ; h++) {
      h &= this.v4mask;
      const s = this.v4slots[h] as number;
      if (s === 0) return NO_SLOT;
      if (this.v4keys[h] === key) return s - 1;
    }
  }

  /** The table's content as plain data (checkpoint.ts), talkers in slot order. */
  snapshot(): TalkerSnapshot {
    return encodeTalkers(this.copy());
  }

  /**
   * A copy of the table, cheap enough for the receive path (memcpy of the volumes, keys shared);
   * encode later. `reuse`: into the table's one spare set of arrays, which the caller must no
   * longer be reading from an earlier reused copy. The periodic checkpoint reuses: three fresh
   * 100 k-slot Float64Arrays per table every 5 s were 5 MiB of array buffers whose external
   * memory brought a major GC every 3-5 checkpoints on the 1 M-host capture (bench/flow-e2e/README.md).
   */
  copy(reuse = false): TalkerCopy {
    const n = this.keys.length;
    if (!reuse) return { keys: this.keys, bytes: this.bytes.slice(0, n), packets: this.packets.slice(0, n), flows: this.flows.slice(0, n), rest: { ...this.rest } };
    const cap = this.bytes.length;
    if (!this.spare || this.spare[0].length < cap) this.spare = [new Float64Array(cap), new Float64Array(cap), new Float64Array(cap)];
    const [b, p, f] = this.spare;
    b.set(this.bytes.subarray(0, n));
    p.set(this.packets.subarray(0, n));
    f.set(this.flows.subarray(0, n));
    return { keys: this.keys, bytes: b.subarray(0, n), packets: p.subarray(0, n), flows: f.subarray(0, n), rest: { ...this.rest } };
  }

  /** Adds a snapshot's volumes to the table (talkers beyond the bound go to the rest). */
  restore(s: TalkerSnapshot): void {
    const f64 = (text: string): Float64Array => {
      const raw = Buffer.from(text, 'base64');
      const out = new Float64Array(raw.length >> 3);
      new Uint8Array(out.buffer).set(raw.subarray(0, out.length * 8)); // Buffer's offset may not be 8-aligned
      return out;
    };
    const bytes = f64(s.bytes);
    const packets = f64(s.packets);
    const flows = f64(s.flows);
    const v4 = s.v4 === undefined ? undefined : f64(s.v4);
    const text = new Map(s.text ?? []);
    const count = s.keys?.length ?? v4?.length ?? 0;
    for (let j = 0; j < count; j++) {
      const x = v4?.[j] ?? -1;
      const k: Key | undefined = s.keys ? s.keys[j] : x >= 0 ? x : text.get(j);
      if (k === undefined) continue;
      // a checkpoint of an earlier version holds IPv6 talkers as text: same talker, same slot
      const k6 = typeof k === 'string' ? (isIp6Key(k) ? k : ip6KeyFromText(k)) : undefined;
      const i = typeof k === 'number' ? this.v4slot(k | 0) : k6 !== undefined ? this.v6slot(k6) : this.textSlot(k);
      const b = bytes[j] ?? 0;
      const p = packets[j] ?? 0;
      const f = flows[j] ?? 0;
      if (i === NO_SLOT) {
        this.rest.bytes += b;
        this.rest.packets += p;
        this.rest.flows += f;
        continue;
      }
      this.bytes[i] = (this.bytes[i] ?? 0) + b;
      this.packets[i] = (this.packets[i] ?? 0) + p;
      this.flows[i] = (this.flows[i] ?? 0) + f;
    }
    this.rest.bytes += s.rest.bytes;
    this.rest.packets += s.rest.packets;
    this.rest.flows += s.rest.flows;
  }

  /** Empties the table for the next interval, keeping the arrays. */
  reset(): void {
    this.bytes.fill(0, 0, this.keys.length);
    this.packets.fill(0, 0, this.keys.length);
    this.flows.fill(0, 0, this.keys.length);
    this.v4slots.fill(0);
    this.keys = [];
    this.text.clear();
    this.v6.clear();
    this.rest.bytes = this.rest.packets = this.rest.flows = 0;
  }
}
