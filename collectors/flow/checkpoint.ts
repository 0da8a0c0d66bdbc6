/**
 * The open aggregation interval on disk, so a restart continues it instead of overwriting it.
 *
 * An aggregate is a point keyed by tags and the interval's start: a second process that wrote the
 * same interval from scratch would replace the first one's sums in InfluxDB. So the collector writes
 * its sums here every CHECKPOINT_EVERY_MS and, after its final flush, on stop; at start it adds a
 * checkpoint of the current interval (same shape) to its own sums, and the next flush rewrites the
 * interval's points with everything both processes counted. A checkpoint a crashed run left for an
 * interval that is already over is written out at start, late but whole up to the checkpoint.
 *
 * What a SIGKILL can still lose: flows counted since the last checkpoint (at most
 * CHECKPOINT_EVERY_MS) plus what the pipeline held in memory (see the README).
 */
import { readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { AggregateSnapshot } from './aggregate.js';
import { replaceFileSync } from './statefile.js';
import { base64Into, base64Length } from './base64into.js';
import type { TalkerCopy } from './talkers.js';
import type { Key } from './view.js';

export const CHECKPOINT_FILE = 'aggregate.json';
export const CHECKPOINT_EVERY_MS = 5000;

const key = z.union([z.number(), z.string()]);
const sums = z.object({ bytes: z.number(), packets: z.number(), flows: z.number() });
const schema = z.object({
  v: z.literal(1),
  /** What the sums were aggregated by; a checkpoint resumes only under the same. */
  shape: z.object({
    interval: z.number(),
    dimensions: z.array(z.string()),
    topBy: z.array(z.string()),
    maxSeries: z.number(),
    topN: z.number(),
    maxTalkers: z.number(),
  }),
  intervalStart: z.number(),
  /** The time the sums are (flushed) or will be written with. */
  label: z.number(),
  /** The highest label this collector wrote: labels never repeat across runs either. */
  lastLabel: z.number(),
  /** The sums were written at stop; resuming rewrites them with the new run's flows added. */
  flushed: z.boolean(),
  savedAt: z.number(),
  agg: z.object({
    series: z.array(sums.extend({ keys: z.array(key) })),
    other: sums.nullable(),
    talkers: z.array(z.object({ keys: z.array(key).optional(), v4: z.string().optional(), text: z.array(z.tuple([z.number(), z.string()])).optional(), bytes: z.string(), packets: z.string(), flows: z.string(), rest: sums })),
    written: z.array(z.array(key)),
  }),
});

export type Checkpoint = z.output<typeof schema> & { agg: AggregateSnapshot };
export type CheckpointShape = Checkpoint['shape'];

export function sameShape(a: CheckpointShape, b: CheckpointShape): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The checkpoint in `dir`, or undefined when there is none; a damaged one throws. */
export function readCheckpoint(dir: string): Checkpoint | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, CHECKPOINT_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${join(dir, CHECKPOINT_FILE)}: not a checkpoint: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data as Checkpoint;
}

/** At stop: synchronous, so it is on disk before the process exits. */
export function writeCheckpointSync(dir: string, cp: Checkpoint): void {
  replaceFileSync(join(dir, CHECKPOINT_FILE), JSON.stringify(cp));
}

/** A checkpoint whose talker tables are copied but not yet encoded (Aggregator.copy). */
export type CheckpointCopy = Omit<Checkpoint, 'agg'> & { agg: Omit<AggregateSnapshot, 'talkers'> & { talkers: TalkerCopy[] } };

/**
 * Talker slots per written piece. A multiple of 3, so each piece's 8-byte doubles make whole
 * base64 quanta and the pieces join into the base64 of the whole array (RFC 4648 §4: padding only
 * at the end); 192 KiB of doubles, 256 KiB of base64 in one reused buffer.
 */
export const PIECE_SLOTS = 3 * 8192;

/**
 * IPv4 talkers of keys[from, from + n) into `v4` (-1 where `text` gets the slot's talker). A
 * function of its own, so it is optimized: read in the async writer's body, every IPv4 key (a
 * double) was boxed, 3 MiB of garbage per checkpoint with two full tables.
 */
function splitPiece(keys: readonly Key[], from: number, n: number, v4: Float64Array, text: [number, string][]): void {
  for (let j = 0; j < n; j++) {
    const k = keys[from + j] as Key;
    if (typeof k === 'number') v4[j] = k;
    else {
      v4[j] = -1;
      text.push([from + j, k]);
    }
  }
}

/**
 * Every few seconds while running, the same JSON as writeCheckpointSync written in pieces: with
 * two full 100 k-talker tables, encoding and stringifying the whole checkpoint at once held the
 * event loop for 25-100 ms (the socket buffer has to absorb every datagram meanwhile). Here every
 * array goes out in pieces of `pieceSlots` talkers, each its own write, so receiving runs between
 * the pieces, and no string is made for them (base64into.ts): a 1 MiB base64 string per array,
 * eight per checkpoint with two full tables, made 11 MiB of large objects every 5 s and, with the
 * volume copies, a major GC every 3-5 checkpoints on the 1 M-host capture (bench/flow-e2e/README.md,
 * "Stalls").
 */
export async function writeCheckpoint(dir: string, cp: CheckpointCopy, pieceSlots = PIECE_SLOTS): Promise<void> {
  if (pieceSlots <= 0 || pieceSlots % 3) throw new Error(`checkpoint piece of ${pieceSlots} slots: must be a positive multiple of 3`);
  const file = join(dir, CHECKPOINT_FILE);
  const fh = await open(`${file}.tmp`, 'w');
  try {
    const { agg, ...head } = cp;
    const { talkers, ...sums } = agg;
    await fh.write(`${JSON.stringify(head).slice(0, -1)},"agg":${JSON.stringify(sums).slice(0, -1)},"talkers":[`);
    const scratch = new Float64Array(pieceSlots);
    // one buffer for every piece's base64: each write is awaited before the next fills it
    const out = new Uint8Array(base64Length(pieceSlots * 8));
    const piece = async (a: Float64Array): Promise<void> => void (await fh.write(out, 0, base64Into(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), out)));
    for (let i = 0; i < talkers.length; i++) {
      const t = talkers[i] as TalkerCopy;
      // base64 needs no JSON escaping, so it is written as it is
      await fh.write(`${i ? ',' : ''}{"rest":${JSON.stringify(t.rest)},"v4":"`);
      const text: [number, string][] = [];
      for (let from = 0, size = t.bytes.length; from < size; from += pieceSlots) {
        const n = Math.min(pieceSlots, size - from);
        splitPiece(t.keys, from, n, scratch, text);
        await piece(scratch.subarray(0, n));
      }
      await fh.write(`","text":${JSON.stringify(text)}`);
      for (const [k, a] of [['bytes', t.bytes], ['packets', t.packets], ['flows', t.flows]] as const) {
        await fh.write(`,"${k}":"`);
        for (let from = 0; from < a.length; from += pieceSlots) await piece(a.subarray(from, from + pieceSlots));
        await fh.write('"');
      }
      await fh.write('}');
    }
    await fh.write(']}}');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(`${file}.tmp`, file);
}
