/**
 * The replayed exports, generated here (no capture is committed): a ring of distinct datagrams per
 * protocol shaped like a router's / switch's exports, plus the template datagram v9 and IPFIX need
 * first. The sender stamps each datagram's header sequence number just before sending it, so every
 * receiver sees one exporter counting up without gaps, as a real one does.
 */
import { counterSample, datagram, genericCounters, u32Block } from '../../collectors/sflow/testutil.js';
import { switchFlowSample } from '../sflow-traffic.js';
import { Bytes, ipfixMessage, ipfixTemplate, set, v9Message, v9Template, type FieldDef } from '../../test/helpers/flow-build.js';

export const PROTOCOLS = ['v9', 'ipfix', 'sflow'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export interface Replay {
  protocol: Protocol | 'v5';
  /** Sent once at the start of every run (v9/IPFIX template); none for sFlow. */
  preamble: Buffer[];
  ring: Buffer[];
  /** Flow records (v9/IPFIX) or flow samples (sFlow) per ring datagram. */
  recordsPer: number;
  /** Sum of the `packets` a pmacct memory table adds up per ring datagram (aligned with `ring`). */
  packets: number[];
  /** Byte offset of the header sequence number, and what one datagram advances it by. */
  seqOffset: number;
  seqStep: number;
  /** Per ring datagram, when they differ (captures): flow records, and the sequence advance. */
  records?: number[];
  seqSteps?: number[];
}

const RING = 1024;
const RECS = 30;
const SAMPLES = 7;
const TEMPLATE_ID = 256;
/** The 17 fields of softflowd's / a Cisco router's v4 template (same as bench/netflow.bench.ts). */
const FIELDS: FieldDef[] = [[8, 4], [12, 4], [15, 4], [7, 2], [11, 2], [4, 1], [6, 1], [5, 1], [1, 4], [2, 4], [10, 2], [14, 2], [16, 2], [17, 2], [22, 4], [21, 4], [61, 1]];

/** 30 flow records; addresses spread so the top-talker tables fill as they would in production. */
function body(d: number): { bytes: Uint8Array; packets: number } {
  const b = new Bytes();
  let packets = 0;
  for (let r = 0; r < RECS; r++) {
    const i = d * RECS + r;
    const p = 1 + (i % 40);
    packets += p;
    b.u32(0x0a000000 + i).u32(0xc0a80000 + ((i * 7919) % 65536)).u32(0x0a0000fe).u16(1024 + (i % 60000)).u16(443).u8(i % 3 ? 6 : 17).u8(0x18).u8(0);
    b.u32(1500 * p).u32(p).u16(1 + (i % 48)).u16(49).u16(64512).u16(15169).u32(1_000_000 + i).u32(1_005_000 + i).u8(0);
  }
  return { bytes: b.build(), packets };
}

function v9(): Replay {
  const hdr = (seq: number) => ({ uptime: 2_000_000, secs: Math.floor(Date.now() / 1000), seq, sourceId: 1 });
  const ring: Buffer[] = [];
  const packets: number[] = [];
  for (let d = 0; d < RING; d++) {
    const b = body(d);
    ring.push(Buffer.from(v9Message(hdr(0), [set(TEMPLATE_ID, b.bytes)])));
    packets.push(b.packets);
  }
  const preamble = [Buffer.from(v9Message(hdr(0), [set(0, v9Template(TEMPLATE_ID, FIELDS))]))];
  // RFC 3954 §5.1: the sequence counts export packets (offset 12 of the header)
  return { protocol: 'v9', preamble, ring, recordsPer: RECS, packets, seqOffset: 12, seqStep: 1 };
}

function ipfix(): Replay {
  const hdr = { secs: Math.floor(Date.now() / 1000), seq: 0, domain: 1 };
  const ring: Buffer[] = [];
  const packets: number[] = [];
  for (let d = 0; d < RING; d++) {
    const b = body(d);
    ring.push(Buffer.from(ipfixMessage(hdr, [set(TEMPLATE_ID, b.bytes)])));
    packets.push(b.packets);
  }
  const preamble = [Buffer.from(ipfixMessage(hdr, [set(2, ipfixTemplate(TEMPLATE_ID, FIELDS))]))];
  // RFC 7011 §3.1: the sequence counts data records sent before this message (offset 8)
  return { protocol: 'ipfix', preamble, ring, recordsPer: RECS, packets, seqOffset: 8, seqStep: RECS };
}

/** 7 flow samples of 128-byte raw headers + extended_switch (as bench/sflow.bench.ts), every 16th
 * datagram with counter samples appended, as a switch interleaves them. */
function sflow(agent: string): Replay {
  const ring: Buffer[] = [];
  const packets: number[] = [];
  let seq = 0;
  for (let d = 0; d < RING; d++) {
    const samples = [];
    for (let s = 0; s < SAMPLES; s++) {
      const i = d * SAMPLES + s;
      samples.push(switchFlowSample(i, ++seq));
    }
    if (d % 16 === 0) {
      const ifIndex = 1 + ((d / 16) % 48);
      samples.push(counterSample({ sequence: d / 16 + 1, sourceIndex: ifIndex, records: [genericCounters({ ifIndex, inOctets: BigInt(d) << 20n, inUcast: d * 100, outOctets: BigInt(d) << 19n, outUcast: d * 90 }), u32Block(2, new Array<number>(13).fill(0))] }));
    }
    // the agent is the sender's own address, as when a switch exports from its management IP
    ring.push(Buffer.from(datagram({ agent, sequence: 0, uptimeMs: 1_000_000, samples })));
    // pmacct (no renormalization) counts one packet per flow sample
    packets.push(SAMPLES);
  }
  // sFlow v5 §5.4: version, address type, IPv4 agent, sub-agent id, then the datagram sequence
  return { protocol: 'sflow', preamble: [], ring, recordsPer: SAMPLES, packets, seqOffset: 16, seqStep: 1 };
}

/** `source`: the sender's address; sFlow carries it as the agent address too. */
export function buildReplay(p: Protocol, source = '127.0.0.1'): Replay {
  return p === 'v9' ? v9() : p === 'ipfix' ? ipfix() : sflow(source);
}

/** Datagrams, records and pmacct packets a run of `count` datagrams carries (preamble first). */
export function runTotals(r: Replay, count: number): { records: number; packets: number } {
  const data = Math.max(0, count - r.preamble.length);
  let packets = 0;
  for (let i = 0; i < data; i++) packets += r.packets[i % r.ring.length] as number;
  return { records: data * r.recordsPer, packets };
}
