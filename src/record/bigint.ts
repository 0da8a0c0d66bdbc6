/**
 * BigInts for 0..65535, made once: ports, protocols, flags, VLANs, interface indexes and 16-bit
 * ASNs are most of a flow's integer fields, and BigInt() allocates on every call. A bigint is
 * immutable, so handing the same one to many Records is safe.
 */
const SMALL: readonly bigint[] = Array.from({ length: 65536 }, (_, i) => BigInt(i));

/** An integer field value (Records write bigint as an integer), without allocating below 65536. */
export function big(v: number): bigint {
  return v >= 0 && v < 65536 && Number.isInteger(v) ? (SMALL[v] as bigint) : BigInt(Math.trunc(v));
}
