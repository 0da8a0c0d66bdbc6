/**
 * Typed SNMP values: the one place raw net-snmp varbind values become something we trust.
 * Pure (no sockets), so every conversion is unit-tested.
 */

/** ASN.1 / SMIv2 application types as net-snmp numbers them (RFC 2578 section 7.1). */
export const AsnType = {
  Boolean: 1,
  Integer: 2,
  OctetString: 4,
  Null: 5,
  OID: 6,
  IpAddress: 64,
  Counter: 65,
  Gauge: 66,
  TimeTicks: 67,
  Opaque: 68,
  Counter64: 70,
  NoSuchObject: 128,
  NoSuchInstance: 129,
  EndOfMibView: 130,
} as const;

/**
 * A decoded value. Integers of every SMI flavour become bigint so Counter64 stays exact; `counter`
 * keeps the width so rate code knows where a counter wraps (RFC 2578 7.1.6 / 7.1.10).
 */
export type SnmpValue =
  | { kind: 'int'; value: bigint; counterBits?: 32 | 64; ticks?: boolean }
  /** `octets`: the bytes as received (set by convertValue), for columns that are bytes, not text (ifPhysAddress). */
  | { kind: 'text'; value: string; octets?: Uint8Array }
  | { kind: 'bytes'; value: Buffer }
  | { kind: 'oid'; value: string }
  | { kind: 'ip'; value: string }
  | { kind: 'missing'; reason: 'noSuchObject' | 'noSuchInstance' | 'endOfMibView' | 'null' };

export interface Vb {
  oid: string;
  value: SnmpValue;
}

/** Counter64 arrives as a Buffer of 1-9 bytes (big-endian, maybe a leading 0x00 sign byte). */
export function bufferToBigint(b: Uint8Array): bigint {
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return v & 0xffff_ffff_ffff_ffffn;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * DisplayString (RFC 2579) is printable ASCII, but vendors put UTF-8 in ifAlias; anything else
 * (MAC addresses, binary) is not text. Trailing NULs are C-string padding some agents send.
 */
export function decodeOctets(b: Uint8Array): { kind: 'text'; value: string } | { kind: 'bytes'; value: Buffer } {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  const body = b.subarray(0, end);
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return { kind: 'bytes', value: Buffer.from(b) };
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) return { kind: 'bytes', value: Buffer.from(b) };
  return { kind: 'text', value: text };
}

function toBigint(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.trunc(v));
  if (Buffer.isBuffer(v)) return bufferToBigint(v);
  return undefined;
}

/** Converts one raw varbind (type number + loosely typed value) into an SnmpValue. */
export function convertValue(type: number | undefined, raw: unknown): SnmpValue {
  switch (type) {
    case AsnType.NoSuchObject:
      return { kind: 'missing', reason: 'noSuchObject' };
    case AsnType.NoSuchInstance:
      return { kind: 'missing', reason: 'noSuchInstance' };
    case AsnType.EndOfMibView:
      return { kind: 'missing', reason: 'endOfMibView' };
    case AsnType.Null:
      return { kind: 'missing', reason: 'null' };
    case AsnType.Counter64: {
      const v = toBigint(raw);
      return v === undefined ? { kind: 'missing', reason: 'null' } : { kind: 'int', value: v, counterBits: 64 };
    }
    case AsnType.Counter: {
      const v = toBigint(raw);
      return v === undefined ? { kind: 'missing', reason: 'null' } : { kind: 'int', value: v & 0xffff_ffffn, counterBits: 32 };
    }
    case AsnType.TimeTicks: {
      const v = toBigint(raw);
      return v === undefined ? { kind: 'missing', reason: 'null' } : { kind: 'int', value: v, ticks: true };
    }
    case AsnType.Integer:
    case AsnType.Gauge: {
      const v = toBigint(raw);
      return v === undefined ? { kind: 'missing', reason: 'null' } : { kind: 'int', value: v };
    }
    case AsnType.Boolean:
      return { kind: 'int', value: raw ? 1n : 0n };
    case AsnType.OctetString:
    case AsnType.Opaque:
      if (Buffer.isBuffer(raw)) {
        const v: SnmpValue = decodeOctets(raw);
        if (v.kind === 'text') v.octets = raw;
        return v;
      }
      return { kind: 'text', value: String(raw ?? '') };
    case AsnType.OID:
      return { kind: 'oid', value: String(raw ?? '') };
    case AsnType.IpAddress:
      return { kind: 'ip', value: String(raw ?? '') };
    default:
      return { kind: 'missing', reason: 'null' };
  }
}

/** A value as a tag: text as is, bytes as colon hex (MAC style), numbers in decimal. */
export function valueAsText(v: SnmpValue): string | undefined {
  switch (v.kind) {
    case 'int':
      return v.value.toString();
    case 'text':
    case 'oid':
    case 'ip':
      return v.value;
    case 'bytes':
      return [...v.value].map((b) => b.toString(16).padStart(2, '0')).join(':');
    case 'missing':
      return undefined;
  }
}

/** The bytes of an octet string, whichever way it decoded (a MAC may happen to be printable). */
export function valueAsOctets(v: SnmpValue | undefined): Uint8Array | undefined {
  if (v?.kind === 'bytes') return v.value;
  if (v?.kind === 'text') return v.octets ?? Buffer.from(v.value, 'utf8');
  return undefined;
}

export function valueAsBigint(v: SnmpValue | undefined): bigint | undefined {
  return v?.kind === 'int' ? v.value : undefined;
}

/**
 * Compares dotted OIDs numerically (lexicographic order of RFC 3416 4.2.2 GetNext). Runs once per
 * walked value, so it scans characters instead of splitting strings.
 */
export function compareOids(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    let x = 0;
    let y = 0;
    let c: number;
    while (i < a.length && (c = a.charCodeAt(i)) !== 46) {
      x = x * 10 + (c - 48);
      i++;
    }
    while (j < b.length && (c = b.charCodeAt(j)) !== 46) {
      y = y * 10 + (c - 48);
      j++;
    }
    if (x !== y) return x - y;
    i++;
    j++;
  }
  return (i < a.length ? 1 : 0) - (j < b.length ? 1 : 0);
}

export function isUnder(oid: string, root: string): boolean {
  return oid.startsWith(root + '.');
}
