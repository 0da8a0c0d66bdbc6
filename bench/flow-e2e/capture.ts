/**
 * Reading a capture of an exporter back: the UDP payloads of a classic pcap written by dumpcap on
 * `lo`, and for each datagram what the receivers must account for — flow records (the unit
 * netvigil and nfcapd/sfcapd count), the `packets` a pmacct memory table adds up, and how far the
 * header sequence number moves. This walker is deliberately independent of collectors/: it only
 * counts records, so the bench does not judge netvigil with netvigil's own decoder.
 *
 * Sequence numbers: v5 counts flows (Cisco's v5 format), v9 export packets (RFC 3954 §5.1), IPFIX
 * data records (RFC 7011 §3.1), sFlow datagrams (sFlow v5 §5.4). A gap means the capture lost an
 * export, and the capture is refused.
 */
import { readFileSync } from 'node:fs';
import type { Replay } from './datagrams.js';

export type CaptureProtocol = 'v5' | 'v9' | 'ipfix' | 'sflow';

export interface CaptureStats {
  protocol: CaptureProtocol;
  datagrams: number;
  /** Flow records (v5/v9/IPFIX) or flow samples (sFlow). */
  records: number;
  /** Of those, IPv6 (v9/IPFIX template holds field 27; sFlow raw header is IPv6). */
  ipv6Records: number;
  /** Options data records (v9/IPFIX): sampling and interface information. */
  optionRecords: number;
  /** Template and options-template records. */
  templates: number;
  bytes: number;
}

export interface CaptureInfo {
  datagrams: Buffer[];
  records: number[];
  packets: number[];
  seqSteps: number[];
  seqOffset: number;
  stats: CaptureStats;
}

/** UDP payloads of an Ethernet (or Linux cooked, as `any` gives) classic pcap, IPv4 only. */
export function readUdpPcap(file: Buffer): Buffer[] {
  const magic = file.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error('not a little-endian classic pcap');
  const link = file.readUInt32LE(20);
  const l2 = link === 1 ? 14 : link === 113 ? 16 : -1;
  if (l2 < 0) throw new Error(`pcap link type ${link} not handled`);
  const out: Buffer[] = [];
  for (let o = 24; o + 16 <= file.length; ) {
    const caplen = file.readUInt32LE(o + 8);
    const wire = file.readUInt32LE(o + 12);
    const f = file.subarray(o + 16, o + 16 + caplen);
    o += 16 + caplen;
    if (caplen !== wire) throw new Error('pcap frame truncated by the snap length');
    if ((f[l2] ?? 0) >> 4 !== 4 || f[l2 + 9] !== 17) continue;
    const udp = l2 + ((f[l2]! & 0x0f) << 2);
    out.push(Buffer.from(f.subarray(udp + 8, udp + f.readUInt16BE(udp + 4))));
  }
  return out;
}

interface Template {
  length: number;
  /** Offsets of fixed fields; -1 entries after a variable-length one (IPFIX, RFC 7011 §7). */
  fields: { type: number; len: number }[];
  options: boolean;
  packetsAt: number;
  packetsLen: number;
  v6: boolean;
}

function template(fields: { type: number; len: number }[], options: boolean): Template {
  let length = 0;
  let packetsAt = -1;
  let packetsLen = 0;
  for (const f of fields) {
    // IN_PKTS / packetDeltaCount (type 2), as pmacct's `packets` counter reads it
    if (f.type === 2 && packetsAt < 0) [packetsAt, packetsLen] = [length, f.len];
    length += f.len === 0xffff ? 0 : f.len;
  }
  return { length, fields, options, packetsAt, packetsLen, v6: fields.some((f) => f.type === 27) };
}

function uint(b: Buffer, o: number, len: number): number {
  let v = 0;
  for (let i = 0; i < len; i++) v = v * 256 + b[o + i]!;
  return v;
}

/** Length of one IPFIX record starting at `o` (variable-length fields: RFC 7011 §7). */
function recordLength(b: Buffer, o: number, t: Template): number {
  if (!t.fields.some((f) => f.len === 0xffff)) return t.length;
  let p = o;
  for (const f of t.fields) {
    if (f.len !== 0xffff) p += f.len;
    else {
      const l = b[p]!;
      p += l < 255 ? 1 + l : 3 + b.readUInt16BE(p + 1);
    }
  }
  return p - o;
}

interface One {
  records: number;
  packets: number;
  seq: number;
  seqStep: number;
  v6: number;
  options: number;
  templates: number;
}

function netflow(b: Buffer, ipfix: boolean, templates: Map<number, Template>): One {
  const one: One = { records: 0, packets: 0, seq: b.readUInt32BE(ipfix ? 8 : 12), seqStep: ipfix ? 0 : 1, v6: 0, options: 0, templates: 0 };
  const end = ipfix ? b.readUInt16BE(2) : b.length;
  for (let o = ipfix ? 16 : 20; o + 4 <= end; ) {
    const id = b.readUInt16BE(o);
    const len = b.readUInt16BE(o + 2);
    if (len < 4 || o + len > end) throw new Error(`set ${id} of length ${len} overruns the datagram`);
    const setEnd = o + len;
    let p = o + 4;
    if (id === (ipfix ? 2 : 0) || id === (ipfix ? 3 : 1)) {
      const options = id === (ipfix ? 3 : 1);
      while (p + 4 <= setEnd) {
        const tid = b.readUInt16BE(p);
        let count: number;
        if (!ipfix && options) {
          count = (b.readUInt16BE(p + 2) + b.readUInt16BE(p + 4)) / 4;
          p += 6;
        } else {
          count = b.readUInt16BE(p + 2);
          p += ipfix && options ? 6 : 4;
        }
        if (tid < 256) break; // padding
        const fields: { type: number; len: number }[] = [];
        for (let k = 0; k < count; k++) {
          const type = b.readUInt16BE(p);
          fields.push({ type: type & 0x7fff, len: b.readUInt16BE(p + 2) });
          p += ipfix && type & 0x8000 ? 8 : 4;
        }
        templates.set(tid, template(fields, options));
        one.templates++;
      }
    } else if (id >= 256) {
      const t = templates.get(id);
      if (!t) throw new Error(`data set ${id} before its template`);
      while (p + Math.max(1, t.length) <= setEnd) {
        const l = recordLength(b, p, t);
        if (t.options) one.options++;
        else {
          one.records++;
          if (t.v6) one.v6++;
          if (t.packetsAt >= 0) one.packets += uint(b, p + t.packetsAt, t.packetsLen);
        }
        if (ipfix) one.seqStep++;
        p += l;
      }
    }
    o = setEnd;
  }
  return one;
}

function v5(b: Buffer): One {
  const n = b.readUInt16BE(2);
  let packets = 0;
  // 24-byte header, 48-byte records with dPkts at offset 16 (Cisco NetFlow v5 format)
  for (let i = 0; i < n; i++) packets += b.readUInt32BE(24 + i * 48 + 16);
  return { records: n, packets, seq: b.readUInt32BE(16), seqStep: n, v6: 0, options: 0, templates: 0 };
}

/** sFlow v5: flow samples (formats 1 and 3), each a packet in pmacct's table (no renormalization). */
function sflow(b: Buffer): One {
  const a = b.readUInt32BE(4) === 2 ? 16 : 4;
  const one: One = { records: 0, packets: 0, seq: b.readUInt32BE(12 + a), seqStep: 1, v6: 0, options: 0, templates: 0 };
  const n = b.readUInt32BE(20 + a);
  let o = 24 + a;
  for (let i = 0; i < n; i++) {
    const tag = b.readUInt32BE(o);
    const len = b.readUInt32BE(o + 4);
    const body = o + 8;
    if (tag === 1 || tag === 3) {
      one.records++;
      one.packets++;
      // the raw packet header record (format 1) of Ethernet, wherever it is among the records;
      // its ethertype after any 802.1Q tag
      const nrec = b.readUInt32BE(body + (tag === 1 ? 28 : 40));
      for (let k = 0, r = body + (tag === 1 ? 32 : 44); k < nrec && r + 8 <= body + len; k++, r += 8 + b.readUInt32BE(r + 4)) {
        if (b.readUInt32BE(r) !== 1 || b.readUInt32BE(r + 8) !== 1) continue;
        const h = r + 24;
        let et = b.readUInt16BE(h + 12);
        if (et === 0x8100) et = b.readUInt16BE(h + 16);
        if (et === 0x86dd) one.v6++;
      }
    }
    o = body + len;
  }
  return one;
}

export function analyse(datagrams: Buffer[]): CaptureInfo {
  if (datagrams.length === 0) throw new Error('capture holds no datagrams');
  const first = datagrams[0]!;
  const w = first.readUInt16BE(0);
  const protocol: CaptureProtocol | undefined = w === 0 && first.readUInt32BE(0) === 5 ? 'sflow' : w === 5 ? 'v5' : w === 9 ? 'v9' : w === 10 ? 'ipfix' : undefined;
  if (!protocol) throw new Error(`unknown export version ${first.readUInt32BE(0)}`);
  const templates = new Map<number, Template>();
  const info: CaptureInfo = { datagrams, records: [], packets: [], seqSteps: [], seqOffset: 0, stats: { protocol, datagrams: datagrams.length, records: 0, ipv6Records: 0, optionRecords: 0, templates: 0, bytes: 0 } };
  info.seqOffset = protocol === 'v5' ? 16 : protocol === 'v9' ? 12 : protocol === 'ipfix' ? 8 : datagrams[0]!.readUInt32BE(4) === 2 ? 28 : 16;
  const ones = datagrams.map((b, i) => {
    try {
      return protocol === 'sflow' ? sflow(b) : protocol === 'v5' ? v5(b) : netflow(b, protocol === 'ipfix', templates);
    } catch (e) {
      throw new Error(`datagram ${i}: ${(e as Error).message}`);
    }
  });
  // exporters differ in when they count: the header may hold the count before this message (the
  // RFCs) or after it (softflowd's IPFIX counts this message's flow records in); one convention,
  // read off the first pair, must hold for the whole capture
  const flows = (o: One): number => (protocol === 'ipfix' ? o.records : o.seqStep);
  const after = ones.length > 1 && ones[1]!.seq - ones[0]!.seq !== ones[0]!.seqStep && ones[1]!.seq - ones[0]!.seq === flows(ones[1]!);
  ones.forEach((one, i) => {
    const next = ones[(i + 1) % ones.length]!;
    const step = after ? flows(next) : one.seqStep;
    if (i + 1 < ones.length && ((one.seq + step) >>> 0) !== next.seq) throw new Error(`sequence gap after datagram ${i}: ${one.seq} then ${next.seq}, step ${step}`);
    info.records.push(one.records);
    info.packets.push(one.packets);
    info.seqSteps.push(step);
    const s = info.stats;
    s.records += one.records;
    s.ipv6Records += one.v6;
    s.optionRecords += one.options;
    s.templates += one.templates;
    s.bytes += datagrams[i]!.length;
  });
  return info;
}

/**
 * A capture as the sender replays it: from its first datagram (the templates), in a ring; for
 * sFlow the agent address is set to `source`, so a second exporter (127.0.0.2) is a second agent.
 */
export function captureReplay(file: string, source: string): Replay {
  const info = analyse(readUdpPcap(readFileSync(file)));
  if (info.stats.protocol === 'sflow' && info.datagrams[0]!.readUInt32BE(4) === 1) {
    const a = Buffer.from(source.split('.').map(Number));
    for (const d of info.datagrams) a.copy(d, 8);
  }
  return { protocol: info.stats.protocol, preamble: [], ring: info.datagrams, recordsPer: info.stats.records / info.datagrams.length, records: info.records, packets: info.packets, seqOffset: info.seqOffset, seqStep: 0, seqSteps: info.seqSteps };
}
