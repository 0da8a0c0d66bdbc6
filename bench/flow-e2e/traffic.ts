/**
 * SYNTHESISED traffic for the real exporters to read (softflowd -r, pmacctd pcap_savefile): a
 * classic pcap file (LINKTYPE_ETHERNET) of whole conversations, made reproducibly from a seed. The
 * exporters are real; only the packets they meter are generated, since no capture of real user
 * traffic may be shipped or replayed here.
 *
 * Two mixes:
 *   `mix`     — N conversations (TCP 70%, UDP 24%, ICMP/ICMPv6 6%; every 16th over IPv6 by default, so 6.25% of
 *               conversations and of flow records), clients spread over 10.0.0.0/8 and
 *               2001:db8:c::/48, servers from a pool of 4096 in 198.18.0.0/15 (RFC 2544's
 *               benchmarking range) and 2001:db8:5::/48; TCP with handshake, data both ways and FIN.
 *   `hosts`   — N one-exchange conversations (UDP query/answer, ICMP echo, TCP SYN/RST), each from its
 *               own client address: N distinct hosts, for the aggregation and top-talker tables.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { seededRandom } from '../../test/helpers/random.js';

export type MixKind = 'mix' | 'hosts';

const rng = seededRandom;

interface Pkt {
  ts: number;
  frame: Buffer;
}

const MAC_A = Buffer.from([0x02, 0, 0, 0, 0, 1]);
const MAC_B = Buffer.from([0x02, 0, 0, 0, 0, 2]);

function sum16(b: Buffer, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i += 2) s += (b[i]! << 8) | (i + 1 < to ? b[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/**
 * One Ethernet frame. `src`/`dst`: 4 bytes (IPv4) or 16 (IPv6). proto 6/17/1/58; for TCP `flags`,
 * for ICMP `icmpType`. Transport checksums stay 0: no exporter here verifies them.
 */
function frame(src: Buffer, dst: Buffer, proto: number, sport: number, dport: number, payload: number, flags: number, fromClient: boolean): Buffer {
  const v6 = src.length === 16;
  const l3 = v6 ? 40 : 20;
  const l4 = proto === 6 ? 20 : 8;
  const b = Buffer.alloc(14 + l3 + l4 + payload);
  (fromClient ? MAC_B : MAC_A).copy(b, 0);
  (fromClient ? MAC_A : MAC_B).copy(b, 6);
  b.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12);
  if (v6) {
    b[14] = 0x60;
    b.writeUInt16BE(l4 + payload, 18);
    b[20] = proto;
    b[21] = 64;
    src.copy(b, 22);
    dst.copy(b, 38);
  } else {
    b[14] = 0x45;
    b.writeUInt16BE(l3 + l4 + payload, 16);
    b[22] = 64;
    b[23] = proto;
    src.copy(b, 26);
    dst.copy(b, 30);
    b.writeUInt16BE(~sum16(b, 14, 34) & 0xffff, 24);
  }
  const o = 14 + l3;
  if (proto === 6 || proto === 17) {
    b.writeUInt16BE(sport, o);
    b.writeUInt16BE(dport, o + 2);
  }
  if (proto === 6) {
    b.writeUInt32BE(sport * 65537 >>> 0, o + 4);
    b[o + 12] = 0x50;
    b[o + 13] = flags;
    b.writeUInt16BE(64240, o + 14);
  } else if (proto === 17) b.writeUInt16BE(8 + payload, o + 4);
  else {
    // ICMP / ICMPv6 echo request or reply (RFC 792, RFC 4443 §4): type, code, id, sequence
    b[o] = flags;
    b.writeUInt16BE(sport, o + 4);
    b.writeUInt16BE(dport, o + 6);
  }
  return b;
}

function v4(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
function v6(prefix: number, n: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(0x20010db8, 0);
  b.writeUInt16BE(prefix, 4);
  b.writeUInt32BE(n >>> 0, 12);
  return b;
}

const TCP_PORTS = [443, 443, 443, 80, 22, 25, 993, 3306, 5432, 8080, 8443];
const UDP_PORTS = [53, 53, 53, 123, 443, 514, 161, 5060];

/** The packets of conversation `i`, starting at `t`. */
function conversation(kind: MixKind, i: number, t: number, r: () => number, six: boolean): Pkt[] {
  const client = six ? v6(0xc, kind === 'hosts' ? i : Math.floor(r() * 0xffffffff)) : v4(0x0a000000 + (kind === 'hosts' ? Math.imul(i, 0x9e3779b1) & 0xffffff : Math.floor(r() * 0xffffff)));
  const s = Math.floor(r() * 4096);
  const server = six ? v6(0x5, s + 1) : v4(0xc6120000 + s * 31 + 1);
  const pick = r();
  const proto = pick < 0.7 ? 6 : pick < 0.94 ? 17 : six ? 58 : 1;
  const cport = 1024 + Math.floor(r() * 64000);
  const out: Pkt[] = [];
  let ts = t;
  const add = (up: boolean, payload: number, flags = 0): void => {
    const [a, b] = up ? [client, server] : [server, client];
    const sport = proto === 6 || proto === 17 ? (up ? cport : dport) : cport;
    const dp = proto === 6 || proto === 17 ? (up ? dport : cport) : out.length;
    out.push({ ts, frame: frame(a, b, proto, sport, dp, payload, flags, up) });
    ts += 0.0005 + r() * 0.2;
  };
  const dport = proto === 6 ? TCP_PORTS[Math.floor(r() * TCP_PORTS.length)]! : UDP_PORTS[Math.floor(r() * UDP_PORTS.length)]!;
  if (proto === 1 || proto === 58) {
    const [req, rep] = proto === 1 ? [8, 0] : [128, 129];
    const n = kind === 'hosts' ? 1 : 1 + Math.floor(r() * 4);
    for (let k = 0; k < n; k++) {
      add(true, 56, req);
      add(false, 56, rep);
    }
  } else if (proto === 17) {
    const n = kind === 'hosts' || r() < 0.6 ? 1 : 2 + Math.floor(r() * 8);
    for (let k = 0; k < n; k++) {
      add(true, 40 + Math.floor(r() * 200));
      add(false, 80 + Math.floor(r() * 1100));
    }
  } else if (kind === 'hosts') {
    add(true, 0, 0x02);
    add(false, 0, 0x14);
  } else {
    add(true, 0, 0x02);
    add(false, 0, 0x12);
    add(true, 0, 0x10);
    const n = 1 + Math.floor(r() * 6);
    for (let k = 0; k < n; k++) {
      add(true, 100 + Math.floor(r() * 400), 0x18);
      add(false, 200 + Math.floor(r() * 1260), 0x18);
    }
    add(true, 0, 0x11);
    add(false, 0, 0x11);
  }
  return out;
}

export interface TrafficSummary {
  packets: number;
  conversations: number;
  ipv6Conversations: number;
}

/**
 * Writes the mix to `file`. Conversations start spread over `seconds` of capture time from a fixed
 * epoch (2026-01-01), so the file is the same for the same seed wherever it is built.
 */
export function writeTraffic(file: string, kind: MixKind, conversations: number, seed: number, ipv6Every = 16, seconds = 120): TrafficSummary {
  const r = rng(seed);
  const t0 = 1767225600;
  const fd = openSync(file, 'w');
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(65535, 16);
  hdr.writeUInt32LE(1, 20);
  writeSync(fd, hdr);
  // conversations overlap in time: keep a window of pending packets sorted by time, written once
  // no conversation still to come can start before them
  let pending: Pkt[] = [];
  let packets = 0;
  let chunk: Buffer[] = [];
  let chunkBytes = 0;
  const flush = (upTo: number): void => {
    pending.sort((a, b) => a.ts - b.ts);
    let k = 0;
    for (; k < pending.length && pending[k]!.ts < upTo; k++) {
      const p = pending[k]!;
      const h = Buffer.alloc(16);
      const sec = Math.floor(p.ts);
      h.writeUInt32LE(sec, 0);
      h.writeUInt32LE(Math.floor((p.ts - sec) * 1e6), 4);
      h.writeUInt32LE(p.frame.length, 8);
      h.writeUInt32LE(p.frame.length, 12);
      chunk.push(h, p.frame);
      chunkBytes += 16 + p.frame.length;
      packets++;
    }
    pending = pending.slice(k);
    if (chunkBytes > 1 << 20 || upTo === Infinity) {
      writeSync(fd, Buffer.concat(chunk));
      chunk = [];
      chunkBytes = 0;
    }
  };
  let six = 0;
  const step = seconds / conversations;
  for (let i = 0; i < conversations; i++) {
    const t = t0 + i * step;
    // 0: none over IPv6, 1: all (to price an IPv6 record against an IPv4 one)
    const v6 = ipv6Every > 0 && i % ipv6Every === 5 % ipv6Every;
    if (v6) six++;
    for (const p of conversation(kind, i, t, r, v6)) pending.push(p);
    // a conversation lasts under 4 s (at most 20 packets 0.2 s apart)
    if (i % 2048 === 2047) flush(t - 4);
  }
  flush(Infinity);
  closeSync(fd);
  return { packets, conversations, ipv6Conversations: six };
}
