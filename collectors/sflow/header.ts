import { ip6Key } from '../../src/wire/ip6key.js';
import type { Reader } from '../../src/wire/reader.js';
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

/*
 * `r` is positioned at the header bytes and its end narrowed to them (see xdr.ts `enter`); the
 * caller restores it, so these may leave `r.pos` anywhere. Each parser checks `remaining` once for
 * a fixed-size part and then reads that part directly, without a bounds check per field.
 */

function parseEthernet(r: Reader, p: SampledPacket): void {
  if (r.remaining < 14) return;
  const b = r.bytes;
  const v = r.view;
  let pos = r.pos;
  p.setMacs(b, pos, pos + 6);
  let type = v.getUint16(pos + 12);
  pos += 14;
  // 802.1Q, 802.1ad (QinQ) and the pre-standard 0x9100 tag: outer tag first, then the inner one.
  let tags = 0;
  while ((type === ETH_VLAN || type === ETH_QINQ || type === ETH_QINQ_OLD) && tags < 4) {
    if (r.end - pos < 4) return;
    const tci = v.getUint16(pos);
    if (tags === 0) {
      p.vlan = tci & 0x0fff;
      p.vlanPcp = tci >>> 13;
    } else if (tags === 1) {
      p.innerVlan = tci & 0x0fff;
    }
    tags++;
    type = v.getUint16(pos + 2);
    pos += 4;
  }
  // IEEE 802.3 length field followed by LLC; only SNAP (AA AA 03 + OUI) carries an ethertype.
  if (type <= 1500) {
    if (r.end - pos < 8 || b[pos] !== 0xaa || b[pos + 1] !== 0xaa) return;
    type = v.getUint16(pos + 6);
    pos += 8;
  }
  r.pos = pos;
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
  const b = r.bytes;
  const v = r.view;
  const start = r.pos;
  const vihl = b[start] ?? 0;
  if (vihl >>> 4 !== 4) return;
  p.ipVersion = 4;
  p.tos = b[start + 1] ?? 0;
  p.ipLength = v.getUint16(start + 2);
  // identification at +4, checksum at +10
  const fragOffset = v.getUint16(start + 6) & 0x1fff;
  p.fragOffset = fragOffset;
  p.ttl = b[start + 8] ?? 0;
  const proto = b[start + 9] ?? 0;
  p.proto = proto;
  const src = v.getUint32(start + 12);
  const dst = v.getUint32(start + 16);
  p.srcKey = src;
  p.dstKey = dst;
  p.srcAddr = undefined; // text of the keys, made when read (types.ts)
  p.dstAddr = undefined;
  const ihl = (vihl & 15) * 4;
  if (ihl < 20 || start + ihl > r.end) return;
  r.pos = start + ihl;
  // Only the first fragment carries the transport header (RFC 791).
  if (fragOffset === 0) parseL4(r, p, proto);
}

function parseIpv6(r: Reader, p: SampledPacket): void {
  if (r.remaining < 40) return;
  const b = r.bytes;
  const start = r.pos;
  const w = r.view.getUint32(start);
  if (w >>> 28 !== 6) return;
  p.ipVersion = 6;
  p.tos = (w >>> 20) & 0xff;
  p.flowLabel = w & 0xfffff;
  p.ipLength = r.view.getUint16(start + 4);
  let next = b[start + 6] ?? 0;
  p.ttl = b[start + 7] ?? 0;
  p.srcKey = ip6Key(b, start + 8);
  p.dstKey = ip6Key(b, start + 24);
  p.srcAddr = undefined;
  p.dstAddr = undefined;
  r.pos = start + 40;
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
