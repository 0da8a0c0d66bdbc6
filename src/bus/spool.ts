/**
 * The receiver's stop spool: batches the bus had not acknowledged when a receiver's stop deadline
 * came (a stream without a leader while a NATS node is lost or out of quorum) go to
 * `<data_dir>/bus-spool`, one file per batch, and are published first at the next start, with their
 * message ids, so JetStream's duplicate window (the `Nats-Msg-Id` header) stores a batch that was in
 * fact stored before the stop only once.
 *
 * A batch counts as spooled only once its file was written under a temporary name, fsync'd and
 * renamed, and the directory fsync'd: a crash leaves a whole file or none (temporaries are removed
 * at the next start). The payload carries a CRC-32, so a file cut short or changed on disk is
 * removed and counted, never published as if whole. The directory is bounded by `maxBytes`: what
 * does not fit is not written (the newest batches of the stop), and counted by the caller.
 *
 * File layout (big-endian): "NVBS", u8 version 1, u16 partition, u32 datagrams, f64 sealed at
 * (Unix ms), f64 first publish attempt (Unix ms; NaN: never sent, so never stored), u8 flags
 * (1: an attempt may have been stored), u8 id length, id (ASCII), u32 payload length, u32 CRC-32,
 * payload (a bus frame, frame.ts).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { crc32 } from '../sinks/influx/spool-frame.js';

const MAGIC = 0x4e564253; // "NVBS"
const VERSION = 1;
const SUFFIX = '.nvb';
const FIXED = 4 + 1 + 2 + 4 + 8 + 8 + 1 + 1;

export interface SpooledBatch {
  partition: number;
  id: string;
  count: number;
  data: Uint8Array;
  sealedAt: number;
  /** Wall time of the first publish attempt, or undefined: never sent. */
  firstAttemptAt: number | undefined;
  /** An attempt ended without a definite refusal (a timeout, or in flight at the stop). */
  maybeStored: boolean;
  /** The spool file holding it, once written (or when read back). */
  file?: string | undefined;
}

export function encodeBatch(b: SpooledBatch): Buffer {
  const id = Buffer.from(b.id, 'latin1');
  if (id.length > 255) throw new Error(`bus spool: batch id longer than 255 bytes: ${b.id}`);
  const out = Buffer.allocUnsafe(FIXED + id.length + 8 + b.data.byteLength);
  let o = out.writeUInt32BE(MAGIC, 0);
  o = out.writeUInt8(VERSION, o);
  o = out.writeUInt16BE(b.partition, o);
  o = out.writeUInt32BE(b.count, o);
  o = out.writeDoubleBE(b.sealedAt, o);
  o = out.writeDoubleBE(b.firstAttemptAt ?? NaN, o);
  o = out.writeUInt8(b.maybeStored ? 1 : 0, o);
  o = out.writeUInt8(id.length, o);
  o += id.copy(out, o);
  o = out.writeUInt32BE(b.data.byteLength, o);
  o = out.writeUInt32BE(crc32(b.data), o);
  out.set(b.data, o);
  return out;
}

/** The batch in a spool file's bytes; throws with the reason when the file is not whole. */
export function decodeBatch(buf: Buffer): SpooledBatch {
  if (buf.length < FIXED + 8) throw new Error(`${buf.length} bytes, shorter than a header`);
  if (buf.readUInt32BE(0) !== MAGIC || buf.readUInt8(4) !== VERSION) throw new Error('not a bus spool file of version 1');
  const partition = buf.readUInt16BE(5);
  const count = buf.readUInt32BE(7);
  const sealedAt = buf.readDoubleBE(11);
  const first = buf.readDoubleBE(19);
  const maybeStored = (buf.readUInt8(27) & 1) === 1;
  const idLen = buf.readUInt8(28);
  let o = FIXED;
  if (o + idLen + 8 > buf.length) throw new Error('header cut short');
  const id = buf.toString('latin1', o, o + idLen);
  o += idLen;
  const len = buf.readUInt32BE(o);
  const crc = buf.readUInt32BE(o + 4);
  o += 8;
  if (o + len !== buf.length) throw new Error(`payload of ${buf.length - o} bytes, ${len} expected`);
  const data = buf.subarray(o);
  if (crc32(data) !== crc) throw new Error('payload CRC-32 mismatch');
  return { partition, id, count, data, sealedAt, firstAttemptAt: Number.isNaN(first) ? undefined : first, maybeStored };
}

export interface SpoolWriteResult {
  written: SpooledBatch[];
  /** Not written: over `maxBytes`, or the disk refused them. */
  dropped: SpooledBatch[];
}

export class BusSpool {
  /** Files waiting to be published, oldest first. */
  private readonly waiting: string[] = [];
  private readonly sizes = new Map<string, number>();
  /** Files found damaged at replay (removed; what they held is unknown). */
  corrupt = 0;

  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
    private readonly log: Logger,
  ) {
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir).sort()) {
      const file = join(dir, name);
      if (name.endsWith('.tmp')) unlinkSync(file); // a write the stop did not finish: never counted as spooled
      else if (name.endsWith(SUFFIX)) {
        this.waiting.push(file);
        this.sizes.set(file, statSync(file).size);
      }
    }
  }

  /** Batches on disk, not yet acknowledged by the bus. */
  get pending(): number {
    return this.sizes.size;
  }

  get bytes(): number {
    let n = 0;
    for (const s of this.sizes.values()) n += s;
    return n;
  }

  /** Files not yet handed out by `next`. */
  get unread(): number {
    return this.waiting.length;
  }

  /** The oldest spooled batch not yet handed out; damaged files are removed, logged and counted. */
  next(): SpooledBatch | undefined {
    for (let file = this.waiting.shift(); file !== undefined; file = this.waiting.shift()) {
      try {
        return { ...decodeBatch(readFileSync(file)), file };
      } catch (e) {
        this.corrupt++;
        this.log.error({ file, err: (e as Error).message }, 'bus spool: damaged file removed, its datagrams are lost (counted in dropped_batches)');
        this.forget(file);
      }
    }
    return undefined;
  }

  /** The bus acknowledged the batch of `file`: it is on the stream and the file goes. */
  done(file: string): void {
    this.forget(file);
  }

  private forget(file: string): void {
    this.sizes.delete(file);
    try {
      unlinkSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ file, err: (e as Error).message }, 'bus spool: cannot remove a file');
    }
  }

  /**
   * Writes `batches` in order until the next would take the directory over `maxBytes`; that one and
   * the rest are not written (the oldest are kept: they continue what the stream holds).
   */
  async write(batches: SpooledBatch[]): Promise<SpoolWriteResult> {
    const written: SpooledBatch[] = [];
    const dropped: SpooledBatch[] = [];
    let total = this.bytes;
    const stamp = String(Date.now()).padStart(16, '0');
    for (const [i, b] of batches.entries()) {
      const buf = encodeBatch(b);
      if (dropped.length || total + buf.length > this.maxBytes) {
        dropped.push(b);
        continue;
      }
      // named by the stop's time and the batch's place in it: files of an earlier stop sort first
      const file = join(this.dir, `${stamp}-${String(i).padStart(6, '0')}-p${b.partition}${SUFFIX}`);
      try {
        await writeDurably(file, buf);
      } catch (e) {
        this.log.error({ file, err: (e as Error).message }, 'bus spool: write failed');
        dropped.push(b);
        continue;
      }
      b.file = file;
      total += buf.length;
      this.sizes.set(file, buf.length);
      written.push(b);
    }
    if (written.length) syncDir(this.dir);
    return { written, dropped };
  }
}

/** Temporary name, fsync, rename: a crash leaves the whole file or none of it. */
async function writeDurably(file: string, buf: Buffer): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(buf);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  await rename(tmp, file);
}

/** The renames themselves survive a crash only once the directory is synced. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
