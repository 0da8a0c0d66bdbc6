/**
 * BigInts for 0..65535, made once: ports, VLANs, protocols, lengths and interface indexes are most
 * of a flow sample's integer fields, and BigInt() allocates on every call. A bigint is immutable,
 * so handing the same one to many Records is safe.
 */
const SMALL: readonly bigint[] = Array.from({ length: 65536 }, (_, i) => BigInt(i));

/** BigInt(v) for an unsigned 32-bit value off the wire, without allocating below 65536. */
export function big(v: number): bigint {
  return v < 65536 ? (SMALL[v] as bigint) : BigInt(v);
}
