/**
 * State files in the data directory (aggregation checkpoint, loss counters) are replaced whole:
 * written to `<file>.tmp`, fsynced, then renamed over the old one, so a crash at any point leaves
 * either the previous complete file or the new complete file, never a torn one.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';

/** At stop: synchronous, so it is on disk before the process exits. */
export function replaceFileSync(file: string, text: string): void {
  const data = Buffer.from(text);
  const fd = openSync(`${file}.tmp`, 'w');
  try {
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(`${file}.tmp`, file);
}

/** While running: the same, without holding the event loop for the write and fsync. */
export async function replaceFile(file: string, text: string): Promise<void> {
  const fh = await open(`${file}.tmp`, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(`${file}.tmp`, file);
}
