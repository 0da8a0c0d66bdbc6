/**
 * The loss tracker's streams on disk, beside the aggregation checkpoint, so a restart continues the
 * cumulative `flow_loss` counters instead of starting them at zero, and the first datagram of a
 * stream after the restart is measured against the sequence number the last run expected: what the
 * exporter sent while no process listened (the crash or stop, plus the start) is counted as lost,
 * in `lost` and in `lost_while_down`, apart from loss on the network.
 *
 * Written with the checkpoint (every CHECKPOINT_EVERY_MS when datagrams arrived, and at stop), the
 * same way: a temporary file, fsync, rename. At most `maxStreams` streams (the tracker's own cap).
 *
 * What is not taken as loss, but as a reset: a state older than MAX_DOWN_MS (a rate we cannot
 * know over that long), an exporter uptime that went back (it rebooted, loss.ts), a sequence
 * number behind the saved expectation, or a gap larger than the tracker's `resetGap`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { LossTracker, Stream } from './loss.js';
import { Numbering } from './numbering.js';
import { replaceFile, replaceFileSync } from './statefile.js';

export const LOSS_FILE = 'loss.json';
/** A state older than this restores the counters but measures no gap (the next datagram is a reset). */
export const MAX_DOWN_MS = 10 * 60_000;

const count = z.number().int().nonnegative();
const stream = z.object({
  exporter: z.string(),
  version: z.string(),
  domain: z.string(),
  /** Next expected sequence number (-1: unknown), in the unit `numbering` says. */
  expected: z.number().int().min(-1).max(0xffffffff),
  uptimeMs: z.number(),
  received: count,
  lost: count,
  lostWhileDown: count.optional(),
  duplicates: count,
  reordered: count.optional(),
  resets: count,
  sample: z.literal(true).optional(),
  numbering: z.nativeEnum(Numbering).optional(),
});
const schema = z.object({ v: z.literal(1), savedAt: z.number(), streams: z.array(stream) });
export type LossState = z.output<typeof schema>;

/** The tracker's streams as saved now. */
export function lossState(t: LossTracker, now: number): LossState {
  const streams: LossState['streams'] = [];
  for (const s of t.settled()) {
    const { exporter, version, domain, expected, uptimeMs, received, lost, lostWhileDown, duplicates, reordered, resets, sample, numbering } = s;
    streams.push({ exporter, version, domain, expected, uptimeMs, received, lost, lostWhileDown, duplicates, reordered, resets, sample, numbering });
  }
  return { v: 1, savedAt: now, streams };
}

/** The state in `dir`, or undefined when there is none; a damaged one throws. */
export function readLossState(dir: string): LossState | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, LOSS_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${join(dir, LOSS_FILE)}: not a loss state: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

/** A loss state that came from elsewhere (a bus partition's, handoff.ts); throws when it is not one. */
export function parseLossState(doc: unknown): LossState {
  const parsed = schema.safeParse(doc);
  if (!parsed.success) throw new Error(`not a loss state: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

/**
 * Puts the saved streams back into a tracker that has seen no datagram yet; returns how many, and
 * whether their next gap is measured (`gap`) or, the state being older than MAX_DOWN_MS (or from
 * the future: the clock stepped), taken as a reset.
 */
export function restoreLoss(t: LossTracker, st: LossState, now: number): { streams: number; resumed: 'gap' | 'reset' } {
  const age = now - st.savedAt;
  const resumed = age >= 0 && age <= MAX_DOWN_MS ? 'gap' : 'reset';
  let n = 0;
  for (const s of st.streams) {
    const restored: Omit<Stream, 'children' | 'held' | 'preferred'> = { ...s, resumed: s.expected >= 0 ? resumed : undefined };
    // zod's optional keys are `T | undefined`; the stream's are absent when unset
    for (const k of ['lostWhileDown', 'reordered', 'sample', 'numbering'] as const) if (restored[k] === undefined) delete restored[k];
    if (t.restore(restored)) n++;
  }
  return { streams: n, resumed };
}

/** At stop: synchronous, so it is on disk before the process exits. */
export function writeLossStateSync(dir: string, st: LossState): void {
  replaceFileSync(join(dir, LOSS_FILE), JSON.stringify(st));
}

/** While running (a stream is ~200 bytes of JSON: 10,000 streams are ~2 MB). */
export async function writeLossState(dir: string, st: LossState): Promise<void> {
  await replaceFile(join(dir, LOSS_FILE), JSON.stringify(st));
}
