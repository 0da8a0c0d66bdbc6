/**
 * A tiny classic-pcap writer (LINKTYPE_ETHERNET) and traffic generator for real-exporter tests:
 * softflowd reads the file with -r and exports flows for exactly this traffic.
 */
import { addressBytes } from '../../src/wire/address.js';

export interface PacketSpec {
  /** Seconds since the epoch (fractional). */
  ts: number;
  src: string;
  dst: string;
  proto: 6 | 17;
  srcPort: number;
  dstPort: number;
  /** Payload length in zero bytes, or the payload itself. */
  payload: number | Uint8Array;
  /** TCP flags byte (default ACK). */
  flags?: number;
}

function ip4(s: string): number[] {
  return s.split('.').map(Number);
}

/** 16 bytes of an IPv6 address written with or without "::". */
export function ip6(s: string): Uint8Array {
  const b = addressBytes(s);
  if (b?.length !== 16) throw new Error(`not an IPv6 address: ${s}`);
  return b;
}

function checksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Ethernet + IPv4 or IPv6 (when the addresses contain ':') + TCP/UDP frame with `payload` zero bytes. */
export function frame(p: PacketSpec): Uint8Array {
  const v6 = p.src.includes(':');
  const l3len = v6 ? 40 : 20;
  const l4len = p.proto === 6 ? 20 : 8;
  const plen = typeof p.payload === 'number' ? p.payload : p.payload.length;
  const ipLen = l3len + l4len + plen;
  const out = new Uint8Array(14 + ipLen);
  const dv = new DataView(out.buffer);
  out.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1], 0);
  dv.setUint16(12, v6 ? 0x86dd : 0x0800);
  const ip = 14;
  if (v6) {
    out[ip] = 0x60;
    dv.setUint16(ip + 4, l4len + plen);
    out[ip + 6] = p.proto;
    out[ip + 7] = 64;
    out.set(ip6(p.src), ip + 8);
    out.set(ip6(p.dst), ip + 24);
  } else {
    out[ip] = 0x45;
    dv.setUint16(ip + 2, ipLen);
    out[ip + 8] = 64;
    out[ip + 9] = p.proto;
    out.set(ip4(p.src), ip + 12);
    out.set(ip4(p.dst), ip + 16);
    dv.setUint16(ip + 10, checksum(out.subarray(ip, ip + 20)));
  }
  const l4 = ip + l3len;
  dv.setUint16(l4, p.srcPort);
  dv.setUint16(l4 + 2, p.dstPort);
  if (p.proto === 6) {
    out[l4 + 12] = 0x50;
    out[l4 + 13] = p.flags ?? 0x10;
    dv.setUint16(l4 + 14, 65535);
  } else {
    dv.setUint16(l4 + 4, 8 + plen);
  }
  if (typeof p.payload !== 'number') out.set(p.payload, l4 + l4len);
  return out;
}

export function writePcap(packets: PacketSpec[]): Uint8Array {
  const frames = packets.map(frame);
  const total = 24 + frames.reduce((a, f) => a + 16 + f.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, 1, true);
  let off = 24;
  packets.forEach((p, i) => {
    const f = frames[i] as Uint8Array;
    const sec = Math.floor(p.ts);
    dv.setUint32(off, sec, true);
    dv.setUint32(off + 4, Math.round((p.ts - sec) * 1e6), true);
    dv.setUint32(off + 8, f.length, true);
    dv.setUint32(off + 12, f.length, true);
    out.set(f, off + 16);
    off += 16 + f.length;
  });
  return out;
}

/**
 * Deterministic mixed traffic: `flows` conversations of TCP and UDP with varied sizes, each a few
 * packets, spread over a few seconds starting at `t0`; every `ipv6Every`-th one over IPv6.
 */
export function makeTraffic(flows: number, t0: number, opts: { ipv6Every?: number } = {}): PacketSpec[] {
  const out: PacketSpec[] = [];
  for (let i = 0; i < flows; i++) {
    const tcp = i % 3 !== 2;
    const n = 1 + (i % 5);
    const v6 = opts.ipv6Every !== undefined && i % opts.ipv6Every === 0;
    for (let k = 0; k < n; k++) {
      out.push({
        ts: t0 + i * 0.01 + k * 0.2,
        src: v6 ? `2001:db8:0:${i.toString(16)}::1` : `10.0.${(i >> 8) & 255}.${(i & 255) || 1}`,
        dst: v6 ? `2001:db8:ffff::${(10 + i).toString(16)}` : `192.168.${i % 7}.${10 + (i % 200)}`,
        proto: tcp ? 6 : 17,
        srcPort: 20000 + i,
        dstPort: tcp ? 443 : 53,
        payload: 50 + ((i * 37 + k * 11) % 900),
        flags: tcp ? (k === 0 ? 0x02 : k === n - 1 ? 0x11 : 0x18) : undefined,
      });
    }
  }
  out.sort((a, b) => a.ts - b.ts);
  return out;
}
