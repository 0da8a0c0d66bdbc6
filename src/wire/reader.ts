import { DecodeError } from '../errors.js';

/**
 * Bounds-checked big-endian cursor over one datagram.
 *
 * The DataView is built with offset AND length: Node pools small Buffers, so a view without a length
 * would read the neighbouring datagram's bytes. Every read checks the remaining length first and
 * throws a DecodeError naming the protocol, offset and field.
 */
export class Reader {
  readonly view: DataView;
  readonly bytes: Uint8Array;
  readonly protocol: string;
  pos: number;
  end: number;

  constructor(buf: Uint8Array, protocol: string, start = 0, end = buf.byteLength, view?: DataView) {
    this.bytes = buf;
    // a sub-reader shares its parent's view of the same bytes (one DataView per datagram)
    this.view = view ?? new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.protocol = protocol;
    this.pos = start;
    this.end = Math.min(end, buf.byteLength);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number, field: string): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new DecodeError(this.protocol, this.pos, field, 'truncated', `need ${n} bytes, have ${this.end - this.pos}`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.pos++);
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  u64(field: string): bigint {
    this.need(8, field);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }
  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }
  /** A view of the next n bytes (no copy). */
  slice(n: number, field: string): Uint8Array {
    this.need(n, field);
    const s = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  /**
   * A sub-reader over the next n bytes, advancing this one past them. Used for length-prefixed
   * structures so a lying inner length cannot escape its parent.
   */
  sub(n: number, field: string): Reader {
    this.need(n, field);
    const r = new Reader(this.bytes, this.protocol, this.pos, this.pos + n, this.view);
    this.pos += n;
    return r;
  }
  fail(field: string, reason: string, detail?: string): never {
    throw new DecodeError(this.protocol, this.pos, field, reason, detail);
  }
}

/** Decimal text of 0..255, alone and followed by '.', built once (addresses are formatted per flow). */
const DEC: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));
const DEC_DOT: readonly string[] = DEC.map((s) => `${s}.`);

/** Canonical text of an IPv4 address held in a 32-bit number. */
export function ipv4ToString(v: number): string {
  return (
    (DEC_DOT[(v >>> 24) & 255] as string) +
    (DEC_DOT[(v >>> 16) & 255] as string) +
    (DEC_DOT[(v >>> 8) & 255] as string) +
    (DEC[v & 255] as string)
  );
}

/** Lower-case hex of 0..255 without and with a leading zero, built once (IPv6 words are formatted per flow). */
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16));
const HEX_BYTE2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Same text as `w.toString(16)` for a 16-bit word. */
function hex16(w: number): string {
  return w < 256 ? (HEX_BYTE[w] as string) : (HEX_BYTE[w >>> 8] as string) + (HEX_BYTE2[w & 255] as string);
}

/** Words [from, to) of the address at `off`, in hex, joined by ':'. */
function hexWords(b: Uint8Array, off: number, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) {
    const o = off + 2 * i;
    s += (i > from ? ':' : '') + hex16(((b[o] ?? 0) << 8) | (b[o + 1] ?? 0));
  }
  return s;
}

/** Canonical (RFC 5952) text of a 16-byte IPv6 address. */
export function ipv6ToString(b: Uint8Array, off = 0): string {
  // longest run of >= 2 zero words becomes "::" (first one wins on a tie); no word array, no closures
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    const o = off + 2 * i;
    if ((b[o] ?? 0) === 0 && (b[o + 1] ?? 0) === 0) {
      if (runStart < 0) runStart = i;
      const len = i + 1 - runStart;
      if (len > bestLen && len >= 2) {
        bestStart = runStart;
        bestLen = len;
      }
    } else {
      runStart = -1;
    }
  }
  // IPv4-mapped ::ffff:a.b.c.d keeps its dotted form.
  if (bestStart === 0 && bestLen === 5 && b[off + 10] === 0xff && b[off + 11] === 0xff) {
    return `::ffff:${b[off + 12]}.${b[off + 13]}.${b[off + 14]}.${b[off + 15]}`;
  }
  if (bestStart < 0) return hexWords(b, off, 0, 8);
  return `${hexWords(b, off, 0, bestStart)}::${hexWords(b, off, bestStart + bestLen, 8)}`;
}

const HEX_DIGITS = '0123456789abcdef';

/** Hex text of a byte value's high and low nibble, as char codes. */
function hi(v: number): number {
  return HEX_DIGITS.charCodeAt(v >>> 4);
}
function lo(v: number): number {
  return HEX_DIGITS.charCodeAt(v & 15);
}

/** "aa:bb:cc:dd:ee:ff" built as one flat string (no per-byte pieces: MACs are formatted per flow). */
export function macToString(b: Uint8Array, off = 0): string {
  const a = b[off] ?? 0;
  const c = b[off + 1] ?? 0;
  const d = b[off + 2] ?? 0;
  const e = b[off + 3] ?? 0;
  const f = b[off + 4] ?? 0;
  const g = b[off + 5] ?? 0;
  return String.fromCharCode(hi(a), lo(a), 58, hi(c), lo(c), 58, hi(d), lo(d), 58, hi(e), lo(e), 58, hi(f), lo(f), 58, hi(g), lo(g));
}
