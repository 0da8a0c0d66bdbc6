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
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { AggregateSnapshot } from './aggregate.js';

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
    talkers: z.array(z.object({ keys: z.array(key), bytes: z.string(), packets: z.string(), flows: z.string(), rest: sums })),
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
  const file = join(dir, CHECKPOINT_FILE);
  const data = Buffer.from(JSON.stringify(cp));
  const fd = openSync(`${file}.tmp`, 'w');
  try {
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(`${file}.tmp`, file);
}

/** Every few seconds while running: off the event loop's critical path. */
export async function writeCheckpoint(dir: string, cp: Checkpoint): Promise<void> {
  const file = join(dir, CHECKPOINT_FILE);
  const fh = await open(`${file}.tmp`, 'w');
  try {
    await fh.writeFile(JSON.stringify(cp));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(`${file}.tmp`, file);
}
