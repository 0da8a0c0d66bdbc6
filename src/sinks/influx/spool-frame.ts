/**
 * The on-disk form of one spooled batch: a one-line header with the payload's length, CRC-32 and
 * point count, then the line-protocol payload. A file that was cut short (disk full, a crash the
 * rename did not cover, a copy gone wrong) or changed on disk fails the check at replay, so it is
 * counted as lost instead of being sent to InfluxDB as a batch of wrong points.
 *
 * The header starts with '#', a line-protocol comment, so a spool file can still be posted by hand
 * (`curl --data-binary @file`) and InfluxDB skips the header.
 */
import * as zlib from 'node:zlib';

const MAGIC = '#netvigil-spool 1';
const HEADER_RE = /^#netvigil-spool 1 (\d+) ([0-9a-f]{8}) (\d+)\n/;

/** CRC-32 (IEEE 802.3, as zlib and gzip use). zlib.crc32 exists from Node 20.15 / 22.2 on. */
const TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

function crc32Table(buf: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < buf.length; i++) c = (TABLE[(c ^ (buf[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

const nativeCrc = (zlib as { crc32?: (b: Uint8Array) => number }).crc32;
export const crc32: (buf: Uint8Array) => number = nativeCrc ? (b) => nativeCrc(b) >>> 0 : crc32Table;

/** Header and payload as one buffer, ready for a single write loop. */
export function frame(payload: Buffer, points: number): Buffer {
  const header = `${MAGIC} ${payload.length} ${crc32(payload).toString(16).padStart(8, '0')} ${points}\n`;
  return Buffer.concat([Buffer.from(header, 'latin1'), payload]);
}

export type Unframed = { ok: true; text: string; points: number } | { ok: false; reason: string };

/**
 * Checks a file's bytes. A file without a header was written by a version before framing: it is
 * accepted only when it ends with a newline and holds `namedPoints` lines (what its name says).
 */
export function unframe(data: Buffer, namedPoints: number): Unframed {
  if (data.length === 0) return { ok: false, reason: 'empty file' };
  const head = data.subarray(0, Math.min(data.length, 80)).toString('latin1');
  const m = HEADER_RE.exec(head);
  if (!m) {
    if (head.startsWith('#netvigil-spool')) return { ok: false, reason: 'damaged header' };
    const text = data.toString('utf8');
    let lines = 0;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
    if (!text.endsWith('\n') || lines !== namedPoints) return { ok: false, reason: `unframed file with ${lines} complete lines, ${namedPoints} expected` };
    return { ok: true, text, points: namedPoints };
  }
  const len = Number(m[1]);
  const payload = data.subarray(m[0].length);
  if (payload.length !== len) return { ok: false, reason: `truncated: ${payload.length} of ${len} bytes` };
  const crc = crc32(payload).toString(16).padStart(8, '0');
  if (crc !== m[2]) return { ok: false, reason: `checksum mismatch: ${crc}, header says ${m[2]}` };
  return { ok: true, text: payload.toString('utf8'), points: Number(m[3]) };
}
