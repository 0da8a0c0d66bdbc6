/**
 * Test-side builders for the packets an sFlow agent samples (Ethernet, 802.1Q/QinQ, MPLS, IPv4,
 * IPv6 with extension headers, TCP, UDP, ICMP). Used by the unit tests, the golden cases and the
 * pcap generator for the pmacctd test. Not used by the decoder.
 */
import { addressBytes } from '../../src/wire/address.js';

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

function be16(v: number): Uint8Array {
  return Uint8Array.of((v >>> 8) & 255, v & 255);
}

export function ipv4Bytes(a: string): Uint8Array {
  return Uint8Array.from(a.split('.').map((x) => Number(x)));
}

/** Parses an IPv6 text address. */
export function ipv6Bytes(a: string): Uint8Array {
  const b = addressBytes(a);
  if (b?.length !== 16) throw new Error(`not an IPv6 address: ${a}`);
  return b;
}

export function macBytes(m: string): Uint8Array {
  return Uint8Array.from(m.split(':').map((x) => parseInt(x, 16)));
}

export interface EthOpts {
  src?: string;
  dst?: string;
  /** VLAN tags, outer first: [{ tpid: 0x88a8, vid: 100 }, { vid: 200 }] */
  vlans?: { tpid?: number; vid: number; pcp?: number }[];
  etherType: number;
  payload: Uint8Array;
}

export function ethernet(o: EthOpts): Uint8Array {
  const parts: Uint8Array[] = [macBytes(o.dst ?? '02:00:00:00:00:02'), macBytes(o.src ?? '02:00:00:00:00:01')];
  for (const v of o.vlans ?? []) {
    parts.push(be16(v.tpid ?? 0x8100), be16(((v.pcp ?? 0) << 13) | v.vid));
  }
  parts.push(be16(o.etherType), o.payload);
  return concat(parts);
}

/** RFC 3032 label stack entries; the last one gets the bottom-of-stack bit. */
export function mpls(labels: readonly number[], payload: Uint8Array): Uint8Array {
  const parts = labels.map((l, i) => {
    const v = ((l << 12) | (i === labels.length - 1 ? 0x100 : 0) | 64) >>> 0;
    return Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  });
  return concat([...parts, payload]);
}

export interface Ipv4Opts {
  src: string;
  dst: string;
  proto: number;
  tos?: number;
  ttl?: number;
  fragOffset?: number;
  /** Option bytes (multiple of 4). */
  options?: Uint8Array;
  payload: Uint8Array;
}

export function ipv4(o: Ipv4Opts): Uint8Array {
  const opt = o.options ?? new Uint8Array(0);
  const ihl = 5 + opt.byteLength / 4;
  const h = new Uint8Array(20);
  const dv = new DataView(h.buffer);
  h[0] = 0x40 | ihl;
  h[1] = o.tos ?? 0;
  dv.setUint16(2, ihl * 4 + o.payload.byteLength);
  dv.setUint16(4, 0x1234);
  dv.setUint16(6, o.fragOffset ?? 0);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto;
  h.set(ipv4Bytes(o.src), 12);
  h.set(ipv4Bytes(o.dst), 16);
  const hdr = concat([h, opt]);
  let sum = 0;
  for (let i = 0; i < hdr.byteLength; i += 2) sum += ((hdr[i] ?? 0) << 8) | (hdr[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  new DataView(hdr.buffer).setUint16(10, ~sum & 0xffff);
  return concat([hdr, o.payload]);
}

export interface Ipv6Opts {
  src: string;
  dst: string;
  /** Upper-layer protocol after the extension headers. */
  proto: number;
  trafficClass?: number;
  flowLabel?: number;
  hopLimit?: number;
  /** Extension headers in order, each as [type, body]; body is padded to 8-byte units. */
  ext?: [number, Uint8Array][];
  payload: Uint8Array;
}

export function ipv6(o: Ipv6Opts): Uint8Array {
  const ext = o.ext ?? [];
  const extBytes: Uint8Array[] = [];
  for (let i = 0; i < ext.length; i++) {
    const [type, body] = ext[i] ?? [0, new Uint8Array(0)];
    const next = i + 1 < ext.length ? (ext[i + 1]?.[0] ?? 59) : o.proto;
    if (type === 44) {
      extBytes.push(concat([Uint8Array.of(next, 0), body.subarray(0, 6)]));
      continue;
    }
    const total = Math.ceil((body.byteLength + 2) / 8) * 8;
    const b = new Uint8Array(total);
    b[0] = next;
    b[1] = total / 8 - 1;
    b.set(body, 2);
    extBytes.push(b);
  }
  const payload = concat([...extBytes, o.payload]);
  const h = new Uint8Array(40);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, ((6 << 28) | ((o.trafficClass ?? 0) << 20) | (o.flowLabel ?? 0)) >>> 0);
  dv.setUint16(4, payload.byteLength);
  h[6] = ext.length ? (ext[0]?.[0] ?? o.proto) : o.proto;
  h[7] = o.hopLimit ?? 64;
  h.set(ipv6Bytes(o.src), 8);
  h.set(ipv6Bytes(o.dst), 24);
  return concat([h, payload]);
}

export function tcp(sport: number, dport: number, flags: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = new Uint8Array(20);
  const dv = new DataView(h.buffer);
  dv.setUint16(0, sport);
  dv.setUint16(2, dport);
  dv.setUint32(4, 1000);
  h[12] = 5 << 4;
  h[13] = flags & 0xff;
  dv.setUint16(14, 65535);
  return concat([h, payload]);
}

export function udp(sport: number, dport: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = new Uint8Array(8);
  const dv = new DataView(h.buffer);
  dv.setUint16(0, sport);
  dv.setUint16(2, dport);
  dv.setUint16(4, 8 + payload.byteLength);
  return concat([h, payload]);
}

export function icmp(type: number, code: number): Uint8Array {
  return Uint8Array.of(type, code, 0, 0, 0, 1, 0, 1);
}
