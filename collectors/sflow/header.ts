import { ipv4ToString, ipv6ToString, type Reader } from '../../src/wire/reader.js';
import type { SampledPacket } from './types.js';

/**
 * Parser for the sampled packet header of a `sampled_header` flow record (memo §5, format 1).
 *
 * The header is cut at the agent's header size (typically 64–256 bytes), so running out of bytes
 * is normal here and NOT an error: we keep what we parsed and stop. Every read checks `remaining`
 * first, so nothing here throws.
 */

/** header_protocol values (memo §5 "header_protocol"). */
export const HEADER_ETHERNET = 1;
export const HEADER_IPV4 = 11;
export const HEADER_IPV6 = 12;
export const HEADER_MPLS = 13;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_QINQ_OLD = 0x9100;
const ETH_MPLS = 0x8847;
const ETH_MPLS_MC = 0x8848;

/** Guards against a crafted header that loops through extension headers or labels. */
const MAX_LABELS = 16;
const MAX_EXT_HEADERS = 8;

/**
 * `r` is positioned at the header bytes and its end narrowed to them (see xdr.ts `enter`); the
 * caller restores it, so this may leave `r.pos` anywhere.
 */
/** Two hex digits per byte value, built once: MAC text is formatted for every sample. */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Same text as macToString (src/wire/reader.ts), without a padStart per byte. */
export function mac(b: Uint8Array, o: number): string {
  return `${HEX[b[o] ?? 0]}:${HEX[b[o + 1] ?? 0]}:${HEX[b[o + 2] ?? 0]}:${HEX[b[o + 3] ?? 0]}:${HEX[b[o + 4] ?? 0]}:${HEX[b[o + 5] ?? 0]}`;
}

export function parseHeader(r: Reader, protocol: number, p: SampledPacket): void {
  switch (protocol) {
    case HEADER_ETHERNET:
      parseEthernet(r, p);
      return;
    case HEADER_IPV4:
      parseIpv4(r, p);
      return;
    case HEADER_IPV6:
      parseIpv6(r, p);
      return;
    case HEADER_MPLS:
      parseMpls(r, p);
      return;
    default:
      // Token ring, FDDI, PPP, 802.11 ...: kept as header_protocol + frame length only.
      return;
  }
}

function parseEthernet(r: Reader, p: SampledPacket): void {
  if (r.remaining < 14) return;
  p.dstMac = mac(r.bytes, r.pos);
  p.srcMac = mac(r.bytes, r.pos + 6);
  r.pos += 12;
  let type = r.u16('ethertype');
  // 802.1Q, 802.1ad (QinQ) and the pre-standard 0x9100 tag: outer tag first, then the inner one.
  let tags = 0;
  while ((type === ETH_VLAN || type === ETH_QINQ || type === ETH_QINQ_OLD) && tags < 4) {
    if (r.remaining < 4) return;
    const tci = r.u16('vlan_tci');
    if (tags === 0) {
      p.vlan = tci & 0x0fff;
      p.vlanPcp = tci >>> 13;
    } else if (tags === 1) {
      p.innerVlan = tci & 0x0fff;
    }
    tags++;
    type = r.u16('ethertype');
  }
  // IEEE 802.3 length field followed by LLC; only SNAP (AA AA 03 + OUI) carries an ethertype.
  if (type <= 1500) {
    if (r.remaining < 8 || r.bytes[r.pos] !== 0xaa || r.bytes[r.pos + 1] !== 0xaa) return;
    r.pos += 6;
    type = r.u16('snap_type');
  }
  p.etherType = type;
  if (type === ETH_IPV4) parseIpv4(r, p);
  else if (type === ETH_IPV6) parseIpv6(r, p);
  else if (type === ETH_MPLS || type === ETH_MPLS_MC) parseMpls(r, p);
}

/** RFC 3032 label stack; the payload type is not signalled, so guess it from the IP version nibble. */
function parseMpls(r: Reader, p: SampledPacket): void {
  const labels: number[] = [];
  while (r.remaining >= 4 && labels.length < MAX_LABELS) {
    const e = r.u32('mpls_label');
    labels.push(e >>> 12);
    if (e & 0x100) break; // bottom of stack
  }
  if (labels.length) p.mplsLabels = labels;
  if (r.remaining < 1) return;
  const nibble = (r.bytes[r.pos] ?? 0) >>> 4;
  if (nibble === 4) parseIpv4(r, p);
  else if (nibble === 6) parseIpv6(r, p);
}

function parseIpv4(r: Reader, p: SampledPacket): void {
  if (r.remaining < 20) return;
  const start = r.pos;
  const vihl = r.u8('ip_vihl');
  if (vihl >>> 4 !== 4) return;
  p.ipVersion = 4;
  p.tos = r.u8('ip_tos');
  p.ipLength = r.u16('ip_len');
  r.pos += 2; // identification
  const frag = r.u16('ip_frag');
  p.fragOffset = frag & 0x1fff;
  p.ttl = r.u8('ip_ttl');
  p.proto = r.u8('ip_proto');
  r.pos += 2; // checksum
  p.srcAddr = ipv4ToString(r.u32('ip_src'));
  p.dstAddr = ipv4ToString(r.u32('ip_dst'));
  const ihl = (vihl & 15) * 4;
  if (ihl < 20 || start + ihl > r.end) return;
  r.pos = start + ihl;
  // Only the first fragment carries the transport header (RFC 791).
  if (p.fragOffset === 0) parseL4(r, p, p.proto);
}

function parseIpv6(r: Reader, p: SampledPacket): void {
  if (r.remaining < 40) return;
  const w = r.u32('ip6_vtcfl');
  if (w >>> 28 !== 6) return;
  p.ipVersion = 6;
  p.tos = (w >>> 20) & 0xff;
  p.flowLabel = w & 0xfffff;
  p.ipLength = r.u16('ip6_plen');
  let next = r.u8('ip6_next');
  p.ttl = r.u8('ip6_hlim');
  p.srcAddr = ipv6ToString(r.bytes, r.pos);
  p.dstAddr = ipv6ToString(r.bytes, r.pos + 16);
  r.pos += 32;
  // RFC 8200 §4: walk the extension header chain to the upper-layer header.
  for (let i = 0; i < MAX_EXT_HEADERS; i++) {
    if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
      if (r.remaining < 8) {
        p.proto = next;
        return;
      }
      const nh = r.bytes[r.pos] ?? 0;
      const len = ((r.bytes[r.pos + 1] ?? 0) + 1) * 8;
      if (len > r.remaining) {
        p.proto = next;
        return;
      }
      r.pos += len;
      next = nh;
    } else if (next === 44) {
      // Fragment header: fixed 8 bytes; only offset 0 carries the transport header.
      if (r.remaining < 8) {
        p.proto = next;
        return;
      }
      const nh = r.bytes[r.pos] ?? 0;
      p.fragOffset = r.view.getUint16(r.pos + 2) >>> 3;
      r.pos += 8;
      next = nh;
      if (p.fragOffset !== 0) {
        p.proto = next;
        return;
      }
    } else if (next === 51) {
      // Authentication header (RFC 4302): length in 4-byte units minus 2.
      if (r.remaining < 8) {
        p.proto = next;
        return;
      }
      const nh = r.bytes[r.pos] ?? 0;
      const len = ((r.bytes[r.pos + 1] ?? 0) + 2) * 4;
      if (len > r.remaining) {
        p.proto = next;
        return;
      }
      r.pos += len;
      next = nh;
    } else {
      break;
    }
  }
  p.proto = next;
  parseL4(r, p, next);
}

function parseL4(r: Reader, p: SampledPacket, proto: number): void {
  if (proto === 6) {
    if (r.remaining < 14) return;
    p.srcPort = r.view.getUint16(r.pos);
    p.dstPort = r.view.getUint16(r.pos + 2);
    // Byte 13 carries CWR..FIN, the 8 bits NetFlow's tcp_flags also holds.
    p.tcpFlags = r.bytes[r.pos + 13] ?? 0;
  } else if (proto === 17 || proto === 132 || proto === 136 || proto === 33) {
    // UDP, SCTP, UDP-Lite, DCCP: ports lead the header.
    if (r.remaining < 4) return;
    p.srcPort = r.view.getUint16(r.pos);
    p.dstPort = r.view.getUint16(r.pos + 2);
  } else if (proto === 1 || proto === 58) {
    if (r.remaining < 2) return;
    p.icmpType = r.bytes[r.pos] ?? 0;
    p.icmpCode = r.bytes[r.pos + 1] ?? 0;
    // NetFlow convention (type << 8 | code in the destination port) so both sources aggregate alike.
    p.srcPort = 0;
    p.dstPort = (p.icmpType << 8) | p.icmpCode;
  }
}
