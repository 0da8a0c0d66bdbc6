/**
 * Reading one element value by its abstract type (RFC 7011 §6.1), with reduced-size integers
 * (§6.2). Callers have checked that `len` bytes are there.
 */
import { ip6Key } from '../../src/wire/ip6key.js';
import { macToString } from '../../src/wire/reader.js';
import type { Value } from './compile.js';
import { Kind } from './elements.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });
const TWO32 = 4294967296;
/** Seconds between the NTP era (1900) and the Unix epoch, for RFC 7011 §6.1.9-10 timestamps. */
const NTP_UNIX_DELTA = 2208988800;

function readUnsigned(view: DataView, bytes: Uint8Array, pos: number, len: number): number | bigint {
  switch (len) {
    case 1:
      return bytes[pos] as number;
    case 2:
      return view.getUint16(pos);
    case 4:
      return view.getUint32(pos);
    case 8: {
      const hi = view.getUint32(pos);
      // below 2^53 a double is exact; above it the counter stays a bigint
      return hi < 0x200000 ? hi * TWO32 + view.getUint32(pos + 4) : view.getBigUint64(pos);
    }
    default: {
      let v = 0;
      for (let k = 0; k < len; k++) v = v * 256 + (bytes[pos + k] as number);
      if (v <= Number.MAX_SAFE_INTEGER) return v;
      let b = 0n;
      for (let k = 0; k < len; k++) b = (b << 8n) | BigInt(bytes[pos + k] as number);
      return b;
    }
  }
}

function readSigned(view: DataView, bytes: Uint8Array, pos: number, len: number): number | bigint {
  switch (len) {
    case 1:
      return view.getInt8(pos);
    case 2:
      return view.getInt16(pos);
    case 4:
      return view.getInt32(pos);
    case 8: {
      const v = view.getBigInt64(pos);
      return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
    }
    default: {
      // reduced-size signed (RFC 7011 §6.2): sign-extend from the top bit of the first byte
      let v = 0;
      for (let k = 0; k < len; k++) v = v * 256 + (bytes[pos + k] as number);
      return (bytes[pos] as number) & 0x80 ? v - 2 ** (8 * len) : v;
    }
  }
}

export function readValue(kind: Kind, view: DataView, bytes: Uint8Array, pos: number, len: number): Value {
  switch (kind) {
    case Kind.Unsigned:
      return readUnsigned(view, bytes, pos, len);
    case Kind.Signed:
      return readSigned(view, bytes, pos, len);
    case Kind.Float:
      return len === 4 ? view.getFloat32(pos) : view.getFloat64(pos);
    case Kind.Boolean:
      // RFC 7011 §6.1.5: 1 is true, 2 is false
      return bytes[pos] === 1;
    case Kind.Mac:
      return macToString(bytes, pos);
    case Kind.String: {
      // fixed-length v9/IPFIX string fields come zero-padded (PAN-OS App-ID, interface names)
      let n = len;
      while (n > 0 && bytes[pos + n - 1] === 0) n--;
      return utf8.decode(bytes.subarray(pos, pos + n));
    }
    case Kind.DateSeconds:
      return view.getUint32(pos) * 1000;
    case Kind.DateMillis:
      return view.getUint32(pos) * TWO32 + view.getUint32(pos + 4);
    case Kind.DateMicros:
    case Kind.DateNanos: {
      // NTP format: seconds since 1900 and a binary fraction of a second
      const sec = view.getUint32(pos) - NTP_UNIX_DELTA;
      return sec * 1000 + (view.getUint32(pos + 4) / TWO32) * 1000;
    }
    case Kind.Ipv4:
      return view.getUint32(pos);
    case Kind.Ipv6:
      // a key, not text: text is made only where it is written (src/wire/ip6key.ts)
      return ip6Key(bytes, pos);
    case Kind.List:
      return undefined;
    default:
      return bytes.subarray(pos, pos + len);
  }
}
