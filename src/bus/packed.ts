/**
 * Records as bytes for a KV bucket (the processors' outbox, the pollers' hand-off): gzipped JSON in
 * which integers stay apart from numbers, so a record written again has the same field types (an
 * InfluxDB field keeps the type it was first written with; `5i` and `5` are different points).
 */
import { gunzipSync, gzipSync } from 'node:zlib';

const replacer = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? { $i: v.toString() } : v);
const reviver = (_k: string, v: unknown): unknown => (v !== null && typeof v === 'object' && typeof (v as { $i?: unknown }).$i === 'string' ? BigInt((v as { $i: string }).$i) : v);

export function pack(v: unknown): Uint8Array {
  return gzipSync(JSON.stringify(v, replacer));
}

export function unpack<T>(b: Uint8Array): T {
  return JSON.parse(gunzipSync(b).toString('utf8'), reviver) as T;
}

/** gzip's magic number: tells a packed value from the plain JSON an earlier version stored. */
export function isPacked(b: Uint8Array): boolean {
  return b.length > 2 && b[0] === 0x1f && b[1] === 0x8b;
}
