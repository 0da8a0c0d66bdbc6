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
import { b64, splitKeys, type TalkerCopy } from './talkers.js';

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

const nextTick = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Every few seconds while running, the same JSON as writeCheckpointSync written in pieces: with
 * two full 100 k-talker tables, encoding and stringifying the whole checkpoint at once held the
 * event loop for 25-100 ms (the socket buffer has to absorb every datagram meanwhile). Here each
 * talker table is encoded in its own turn of the loop and each large string is written by itself,
 * so receiving runs between the pieces.
 */
export async function writeCheckpoint(dir: string, cp: CheckpointCopy): Promise<void> {
  const file = join(dir, CHECKPOINT_FILE);
  const fh = await open(`${file}.tmp`, 'w');
  try {
    const { agg, ...head } = cp;
    const { talkers, ...sums } = agg;
    await fh.write(`${JSON.stringify(head).slice(0, -1)},"agg":${JSON.stringify(sums).slice(0, -1)},"talkers":[`);
    for (let i = 0; i < talkers.length; i++) {
      const t = talkers[i] as TalkerCopy;
      await nextTick();
      const { v4, text } = splitKeys(t.keys);
      await fh.write(`${i ? ',' : ''}{"rest":${JSON.stringify(t.rest)},"text":${JSON.stringify(text)}`);
      // one array per turn of the loop; base64 needs no JSON escaping, so it is written as it is
      for (const [k, a] of [['v4', v4], ['bytes', t.bytes], ['packets', t.packets], ['flows', t.flows]] as const) {
        await nextTick();
        await fh.write(`,"${k}":"${b64(a)}"`);
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
