/**
 * Peer addresses from table indexes: INET-ADDRESS-MIB (RFC 4001) InetAddressType + InetAddress as
 * they appear in an OID. RFC 4001 section 4.1 and RFC 2578 section 7.7 encode a variable-length
 * InetAddress in an index as a length sub-identifier followed by one sub-identifier per octet;
 * JUNIPER's BGP4-V2-MIB-JUNIPER agents leave the length out (the type fixes it), so both layouts
 * are decoded. Addresses come out as text: dotted IPv4, RFC 5952 IPv6, `%zone` for the z types.
 */

/** InetAddressType (RFC 4001 section 3): octets of each address type. */
const TYPE_LENGTH: Readonly<Record<number, number>> = { 1: 4, 2: 16, 3: 8, 4: 20 };

/** RFC 5952 section 4: lowercase, no leading zeros, the longest run of two or more zero groups as `::` (the first on a tie). */
export function ipv6Text(octets: readonly number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((octets[i] ?? 0) << 8) | (octets[i + 1] ?? 0));
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

function addressText(type: number, octets: readonly number[]): string | undefined {
  if (octets.length !== TYPE_LENGTH[type] || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) return undefined;
  // The z types append a 4-octet zone index in network order (RFC 4001 InetAddressIPv4z / IPv6z).
  const zone = (from: number) => '%' + String(octets.slice(from).reduce((a, b) => a * 256 + b, 0));
  switch (type) {
    case 1:
      return octets.join('.');
    case 2:
      return ipv6Text(octets);
    case 3:
      return octets.slice(0, 4).join('.') + zone(4);
    case 4:
      return ipv6Text(octets.slice(0, 16)) + zone(16);
  }
  return undefined;
}

export interface DecodedAddress {
  type: 'ipv4' | 'ipv6';
  text: string;
  /** Sub-identifiers consumed, type included. */
  used: number;
}

/**
 * The InetAddressType + InetAddress pair starting at `parts[at]`; undefined when the type is
 * unknown or the octets do not fit it (a malformed index is never guessed at).
 */
export function inetFromIndex(parts: readonly number[], at: number, lengthPrefixed: boolean): DecodedAddress | undefined {
  const type = parts[at];
  if (type === undefined) return undefined;
  const expected = TYPE_LENGTH[type];
  if (expected === undefined) return undefined;
  const len = lengthPrefixed ? parts[at + 1] : expected;
  const start = at + (lengthPrefixed ? 2 : 1);
  if (len !== expected || start + len > parts.length) return undefined;
  const text = addressText(type, parts.slice(start, start + len));
  return text === undefined ? undefined : { type: type === 1 || type === 3 ? 'ipv4' : 'ipv6', text, used: start + len - at };
}

export const indexParts = (index: string | undefined): number[] => (index ? index.split('.').map(Number) : []);

/** AFI (IANA address family numbers) and SAFI (RFC 4760 / IANA) as names; others stay numbers. */
export const AFI: Readonly<Record<string, string>> = { '1': 'ipv4', '2': 'ipv6', '25': 'l2vpn' };
export const SAFI: Readonly<Record<string, string>> = { '1': 'unicast', '2': 'multicast', '4': 'labeled_unicast', '5': 'mvpn', '65': 'vpls', '70': 'evpn', '128': 'vpn', '132': 'rtfilter', '133': 'flow' };
