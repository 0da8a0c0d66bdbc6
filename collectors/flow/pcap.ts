/**
 * Reads UDP datagrams out of pcap and pcapng captures for `netvigil decode`. Link types: Ethernet
 * (with 802.1Q/QinQ tags), BSD loopback, raw IP, Linux cooked v1/v2. IPv4 and IPv6 (extension
 * headers skipped); fragmented datagrams are reported, not reassembled.
 */
import { ipv4ToString, ipv6ToString } from '../../src/wire/reader.js';

export interface UdpDatagram {
  /** 1-based packet number in the capture, as Wireshark shows it. */
  packet: number;
  timeMs: number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  payload: Uint8Array;
}

export interface CaptureResult {
  datagrams: UdpDatagram[];
  /** Packets that were not UDP-over-IP or could not be parsed, with why. */
  skipped: { packet: number; reason: string }[];
}

const LINK_NULL = 0;
const LINK_ETHERNET = 1;
const LINK_RAW = 101;
const LINK_RAW_OLD = 12;
const LINK_SLL = 113;
const LINK_SLL2 = 276;
const LINK_IPV4 = 228;
const LINK_IPV6 = 229;

export function isPcap(b: Uint8Array): boolean {
  if (b.length < 24) return false;
  const m = new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
  return m === 0xa1b2c3d4 || m === 0xd4c3b2a1 || m === 0xa1b23c4d || m === 0x4d3cb2a1;
}

export function isPcapng(b: Uint8Array): boolean {
  return b.length >= 12 && b[0] === 0x0a && b[1] === 0x0d && b[2] === 0x0d && b[3] === 0x0a;
}

/** The UDP payload of one link-layer frame, or a reason it has none. */
export function udpFromFrame(link: number, f: Uint8Array): Omit<UdpDatagram, 'packet' | 'timeMs'> | string {
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  let off: number;
  let etype: number;
  switch (link) {
    case LINK_ETHERNET:
      if (f.length < 14) return 'short ethernet frame';
      etype = dv.getUint16(12);
      off = 14;
      // 802.1Q / 802.1ad (QinQ) tags
      while ((etype === 0x8100 || etype === 0x88a8) && off + 4 <= f.length) {
        etype = dv.getUint16(off + 2);
        off += 4;
      }
      break;
    case LINK_NULL:
      if (f.length < 4) return 'short loopback frame';
      // host byte order address family: 2 = AF_INET; 10/24/28/30 = AF_INET6 on various OSes
      etype = f[0] === 2 || f[3] === 2 ? 0x0800 : 0x86dd;
      off = 4;
      break;
    case LINK_SLL:
      if (f.length < 16) return 'short SLL frame';
      etype = dv.getUint16(14);
      off = 16;
      break;
    case LINK_SLL2:
      if (f.length < 20) return 'short SLL2 frame';
      etype = dv.getUint16(0);
      off = 20;
      break;
    case LINK_RAW:
    case LINK_RAW_OLD:
    case LINK_IPV4:
    case LINK_IPV6:
      if (f.length < 1) return 'empty frame';
      etype = (f[0] as number) >> 4 === 6 ? 0x86dd : 0x0800;
      off = 0;
      break;
    default:
      return `unsupported link type ${link}`;
  }
  let src: string;
  let dst: string;
  let proto: number;
  let end = f.length;
  if (etype === 0x0800) {
    if (off + 20 > f.length) return 'short IPv4 header';
    const ihl = ((f[off] as number) & 15) * 4;
    const total = dv.getUint16(off + 2);
    const frag = dv.getUint16(off + 6);
    if (frag & 0x3fff) return 'IPv4 fragment (not reassembled)';
    proto = f[off + 9] as number;
    src = ipv4ToString(dv.getUint32(off + 12));
    dst = ipv4ToString(dv.getUint32(off + 16));
    end = Math.min(f.length, off + total);
    off += ihl;
  } else if (etype === 0x86dd) {
    if (off + 40 > f.length) return 'short IPv6 header';
    proto = f[off + 6] as number;
    end = Math.min(f.length, off + 40 + dv.getUint16(off + 4));
    src = ipv6ToString(f, off + 8);
    dst = ipv6ToString(f, off + 24);
    off += 40;
    // hop-by-hop, routing, destination options (RFC 8200 §4): skip by their length
    while ((proto === 0 || proto === 43 || proto === 60) && off + 8 <= end) {
      proto = f[off] as number;
      off += 8 + (f[off + 1] as number) * 8;
    }
    if (proto === 44) return 'IPv6 fragment (not reassembled)';
  } else return `not IP (ethertype 0x${etype.toString(16)})`;
  if (proto !== 17) return `not UDP (protocol ${proto})`;
  if (off + 8 > end) return 'short UDP header';
  const ulen = dv.getUint16(off + 4);
  const pend = ulen >= 8 ? Math.min(end, off + ulen) : end;
  return { src, srcPort: dv.getUint16(off), dst, dstPort: dv.getUint16(off + 2), payload: f.subarray(off + 8, pend) };
}

function push(res: CaptureResult, link: number, packet: number, timeMs: number, frame: Uint8Array): void {
  const u = udpFromFrame(link, frame);
  if (typeof u === 'string') res.skipped.push({ packet, reason: u });
  else res.datagrams.push({ packet, timeMs, ...u });
}

export function readPcap(b: Uint8Array): CaptureResult {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = dv.getUint32(0);
  const le = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
  const nanos = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const link = dv.getUint32(20, le) & 0xffff;
  const res: CaptureResult = { datagrams: [], skipped: [] };
  let off = 24;
  let n = 0;
  while (off + 16 <= b.length) {
    n++;
    const sec = dv.getUint32(off, le);
    const frac = dv.getUint32(off + 4, le);
    const incl = dv.getUint32(off + 8, le);
    off += 16;
    if (off + incl > b.length) {
      res.skipped.push({ packet: n, reason: 'truncated record at end of capture' });
      break;
    }
    push(res, link, n, sec * 1000 + (nanos ? frac / 1e6 : frac / 1e3), b.subarray(off, off + incl));
    off += incl;
  }
  return res;
}

export function readPcapng(b: Uint8Array): CaptureResult {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const res: CaptureResult = { datagrams: [], skipped: [] };
  let le = true;
  let links: number[] = [];
  let off = 0;
  let n = 0;
  while (off + 12 <= b.length) {
    const type = dv.getUint32(off, le);
    if (type === 0x0a0d0d0a) {
      // Section Header Block: its byte-order magic decides the endianness of the section
      le = dv.getUint32(off + 8, true) === 0x1a2b3c4d;
      links = [];
    }
    const len = dv.getUint32(off + 4, le);
    if (len < 12 || off + len > b.length) {
      res.skipped.push({ packet: n + 1, reason: 'truncated block' });
      break;
    }
    if (type === 1) links.push(dv.getUint16(off + 8, le));
    else if (type === 6 && len >= 32) {
      n++;
      const ifc = dv.getUint32(off + 8, le);
      const ts = dv.getUint32(off + 12, le) * 4294967296 + dv.getUint32(off + 16, le);
      const cap = Math.min(dv.getUint32(off + 20, le), len - 32);
      // default if_tsresol is microseconds
      push(res, links[ifc] ?? LINK_ETHERNET, n, ts / 1000, b.subarray(off + 28, off + 28 + cap));
    } else if (type === 3 && len >= 16) {
      n++;
      const orig = dv.getUint32(off + 8, le);
      push(res, links[0] ?? LINK_ETHERNET, n, 0, b.subarray(off + 12, off + 12 + Math.min(orig, len - 16)));
    }
    off += len;
  }
  return res;
}
