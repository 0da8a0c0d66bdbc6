/**
 * Write-ahead of a processor's output, so a write and its commit cannot be split by a crash into a
 * double count (README "Scale-out", How it holds together).
 *
 * Without it, a processor killed after its interval's points reached InfluxDB but before it
 * committed the messages they came from (their offset) leaves the new owner to decode those messages
 * again and write them under its own `instance`: counted twice. Re-decoding cannot reproduce the
 * same points (a processor sums all its partitions together, and loss correction and sampling depend
 * on per-exporter state), so what is kept is the output itself: before an interval's records go to
 * the pipeline they are put in `<stream>_outbox`, and each partition's lease value names that entry
 * with the last message it covers, by compare-and-set on the lease revision (so only the holder can,
 * and a taker's CAS on the lease sees it). A new owner finds the references in the lease it takes,
 * writes those records again and skips the messages they cover. Writing a point again is idempotent:
 * same measurement, tags (`instance` of the first writer included, stamped before enrichment) and
 * timestamp replace the point in InfluxDB; line-protocol files get the line twice and an import
 * keeps one. The records are kept until the writer committed every partition they cover; a dead
 * writer's entries go with the bucket's TTL (the stream's `max_age`: its messages are gone then too).
 */
import type { NetRecord } from '../record/record.js';
import type { KeyValue } from './bus.js';
import { pack, unpack } from './packed.js';
import { retrying } from './retry.js';

/** An outbox entry a lease refers to: its id and the partition's last message it covers. */
export interface OutRef {
  id: string;
  seq: number;
}

/** What a lease key holds: the holder's key and the outbox entries not yet committed past. */
export interface LeaseValue {
  o: string;
  out: OutRef[];
}

const enc = new TextEncoder();
const CHUNK = 512 * 1024;
const dec = new TextDecoder();

export function leaseValue(holder: string, out: OutRef[]): Uint8Array {
  return enc.encode(JSON.stringify({ o: holder, out } satisfies LeaseValue));
}

/** A lease value; a bare holder key (written before the outbox existed) has no references. */
export function readLease(b: Uint8Array | undefined): LeaseValue {
  const text = b ? dec.decode(b) : '';
  if (!text.startsWith('{')) return { o: text, out: [] };
  const v = JSON.parse(text) as Partial<LeaseValue>;
  return { o: String(v.o ?? ''), out: Array.isArray(v.out) ? v.out.filter((r) => typeof r?.id === 'string' && Number.isSafeInteger(r.seq)) : [] };
}

export interface Blob {
  /** Partition -> last message the records cover. */
  marks: Record<string, number>;
  records: NetRecord[];
}

export function encodeBlob(b: Blob): Uint8Array {
  return pack(b);
}

export function decodeBlob(b: Uint8Array): Blob {
  return unpack<Blob>(b);
}

/** A partition's last message at an interval close, and its lease's outbox references. */
export interface Covered {
  p: number;
  o: { committed: number; out: OutRef[] };
  last: { seq: number } | undefined;
}

/**
 * Puts an interval's records in the outbox and has every partition they cover name the entry in its
 * lease (`relabel`: a CAS of each lease at the revision we hold), before any of them is written.
 * `id` undefined: no message is covered, the records go out as they are. `refused`: a lease could
 * not be proved (`holds`) or had moved on, so the records must not be written, nor the messages
 * committed. A write the bucket refuses (no leader: a NATS node lost) is sent again while every
 * lease stays provable, so an election shorter than the proof's slack fences no one. A reference
 * already written into a lease still ours goes when the caller releases it;
 * killed before that, a taker of that partition writes the entry, the part of the lapsed partition
 * included, which its new owner decodes again: the one double count left, in a window of a few
 * milliseconds that needs a lease lost and a kill at once.
 */
export async function writeAhead(
  outbox: Outbox,
  marks: readonly Covered[],
  records: NetRecord[],
  holds: (m: Covered) => boolean,
  relabel: (moved: Covered[], still: () => boolean) => Promise<boolean>,
): Promise<{ id?: string; refused?: string }> {
  const moved = marks.filter(({ o, last }) => last && last.seq > o.committed);
  if (!moved.length) return {};
  const lost = moved.find((m) => !holds(m));
  if (lost) return { refused: `partition ${lost.p} not provably ours when its interval was to be written` };
  const seqs = moved.map((m) => (m.last as { seq: number }).seq);
  const still = (): boolean => moved.every(holds);
  let id: string;
  try {
    id = await outbox.put(Object.fromEntries(moved.map((m, i) => [String(m.p), seqs[i] as number])), records, still);
  } catch (e) {
    return { refused: `outbox: ${(e as Error).message}` };
  }
  moved.forEach((m, i) => m.o.out.push({ id, seq: seqs[i] as number }));
  if (await relabel(moved, still)) return { id };
  for (const { o } of moved) o.out = o.out.filter((r) => r.id !== id);
  return { refused: 'a lease moved while its interval was written ahead' };
}

/**
 * The processor's side: the flow collector's emitter passes through `capture`, which holds the
 * records of an interval between closeInterval and the call of its result (aggregates, flow_top,
 * volumes); `put` writes them ahead, `replay` writes a predecessor's again.
 */
export class Outbox {
  private window: NetRecord[] | undefined;
  private n = 0;
  /** Unique across restarts of one instance: a restarted writer must not replace its old entries. */
  private readonly run = Date.now().toString(36);
  readonly stats = { written: 0, replayed: 0, replayedRecords: 0 };

  private kv!: KeyValue;

  constructor(
    private readonly holder: string,
    private readonly instance: string,
    /** The pipeline's emitter, past the capture. */
    readonly emit: (r: NetRecord) => void,
  ) {}

  attach(kv: KeyValue): void {
    this.kv = kv;
  }

  /** True when `r` is held for the interval being closed; it then carries our `instance` already. */
  capture(r: NetRecord): boolean {
    if (!this.window) return false;
    r.tags.instance = this.instance;
    this.window.push(r);
    return true;
  }

  open(): NetRecord[] {
    this.window = [];
    return this.window;
  }

  close(w: NetRecord[]): void {
    if (this.window === w) this.window = undefined;
  }

  /**
   * In pieces under NATS's default 1 MiB max_payload; the head, naming their count, last. A piece
   * the bucket refused is put again while `still()` (retry.ts).
   */
  async put(marks: Record<string, number>, records: NetRecord[], still: () => boolean = () => false): Promise<string> {
    const id = `${this.holder}.${this.run}.${++this.n}`;
    const blob = encodeBlob({ marks, records });
    const n = Math.max(1, Math.ceil(blob.length / CHUNK));
    await Promise.all(Array.from({ length: n }, (_, i) => retrying(() => this.kv.put(`out.${id}.${i}`, blob.subarray(i * CHUNK, (i + 1) * CHUNK)), still)));
    await retrying(() => this.kv.put(`out.${id}`, enc.encode(String(n))), still);
    this.stats.written++;
    return id;
  }

  private async get(id: string): Promise<Blob | undefined> {
    const head = await this.kv.get(`out.${id}`);
    if (!head) return undefined;
    const n = Number(dec.decode(head.value));
    const parts = await Promise.all(Array.from({ length: n }, (_, i) => this.kv.get(`out.${id}.${i}`)));
    if (parts.some((x) => !x)) throw new Error(`outbox entry ${id}: a piece is missing`);
    return decodeBlob(Buffer.concat(parts.map((x) => (x as { value: Uint8Array }).value)));
  }

  /** Writes again what the references point at; returns the last message of `p` they cover (0: none). */
  async replay(refs: readonly OutRef[], p: number): Promise<number> {
    let skip = 0;
    for (const ref of refs) {
      skip = Math.max(skip, ref.seq);
      // gone: its writer deleted it once every partition it covers was committed past it
      const blob = await this.get(ref.id);
      if (!blob) continue;
      for (const r of blob.records) this.emit(r);
      skip = Math.max(skip, blob.marks[String(p)] ?? 0);
      this.stats.replayed++;
      this.stats.replayedRecords += blob.records.length;
    }
    return skip;
  }

  async drop(id: string): Promise<void> {
    const head = await this.kv.get(`out.${id}`);
    await this.kv.delete(`out.${id}`);
    const n = head ? Number(dec.decode(head.value)) : 0;
    await Promise.all(Array.from({ length: n }, (_, i) => this.kv.delete(`out.${id}.${i}`)));
  }
}
