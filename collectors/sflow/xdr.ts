import { Reader, ipv4ToString } from '../../src/wire/reader.js';
import { ip6Key, ip6KeyText } from '../../src/wire/ip6key.js';

/**
 * XDR helpers for sFlow (memo §4: XDR, RFC 4506, everything padded to 4 bytes). Every variable
 * length read is capped against the bytes that remain before anything is allocated.
 */

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * memo §5 "address" as a key: IPv4 as uint32, IPv6 as its byte key (src/wire/ip6key.ts), '' for
 * type 0 (unknown); the flow view keys by it without parsing text back.
 */
export function readAddressKey(r: Reader, field: string): number | string {
  const type = r.u32(field);
  if (type === 1) return r.u32(field);
  if (type === 2) {
    r.need(16, field);
    const k = ip6Key(r.bytes, r.pos);
    r.pos += 16;
    return k;
  }
  if (type === 0) return '';
  return r.fail(field, 'bad_address_type', `address type ${type}`);
}

/** Text of an address key ('' stays ''). */
export function addressKeyText(k: number | string): string {
  return typeof k === 'number' ? ipv4ToString(k) : k === '' ? '' : ip6KeyText(k);
}

/** memo §5 "address": type 0 unknown (no body), 1 IPv4, 2 IPv6. Returns '' for unknown. */
export function readAddress(r: Reader, field: string): string {
  return addressKeyText(readAddressKey(r, field));
}

/**
 * XDR string<max>: length, bytes, pad to 4. `max` is a sanity cap, looser than the memo's limits
 * (hostname<64>, os_release<32>) so a chatty agent is not dropped; past the record's end fails.
 */
export function readString(r: Reader, field: string, max = 1024): string {
  const n = r.u32(field);
  if (n > max) r.fail(field, 'bad_length', `string of ${n} bytes`);
  const s = utf8.decode(r.slice(n, field));
  skipPad(r, n, field);
  return s;
}

/**
 * Pads are required by XDR, but some agents omit the final pad of a record; since each record
 * is read through its own sub-reader, a missing trailing pad is tolerated.
 */
function skipPad(r: Reader, n: number, _field: string): void {
  const pad = (4 - (n & 3)) & 3;
  r.pos = Math.min(r.pos + pad, r.end);
}

/** XDR unsigned int<>: the count is checked against the remaining bytes before allocating. */
export function readU32Array(r: Reader, field: string): number[] {
  const n = r.u32(field);
  if (n * 4 > r.remaining) r.fail(field, 'bad_count', `${n} entries`);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = r.u32(field);
  return out;
}

/** Hex text of 16 bytes as an RFC 4122 UUID. */
export function uuidToString(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += (b[i] ?? 0).toString(16).padStart(2, '0');
  }
  return s;
}

/**
 * The fixed part of a structure as `fields.length` consecutive u32 words, checked once: returns the
 * offset of the first word (read them through `r.view`) and moves past them. If they do not all fit,
 * it reads them one by one so the DecodeError names the first missing field at its offset, exactly
 * as per-field reads would. One check instead of one Reader call per word on the per-sample path.
 */
export function words(r: Reader, fields: readonly string[]): number {
  const o = r.pos;
  if (o + fields.length * 4 > r.end) for (const f of fields) r.u32(f);
  r.pos = o + fields.length * 4;
  return o;
}

/**
 * Length-prefixed structures (samples, records) are read inside a window: `enter` checks the
 * declared length against what remains and narrows `r.end` to it, so an inner read can neither
 * pass the structure's end nor reach the next one (the guarantee of Reader.sub, without allocating
 * a Reader and a DataView per record on the hot path). `leave` jumps to the structure's end,
 * skipping whatever the decoder did not read, and restores the outer end. If a read throws, the
 * whole datagram is dropped, so the reader is never used again unrestored.
 */
export function enter(r: Reader, len: number, field: string): number {
  r.need(len, field);
  const outer = r.end;
  r.end = r.pos + len;
  return outer;
}
export function leave(r: Reader, outer: number): void {
  r.pos = r.end;
  r.end = outer;
}
