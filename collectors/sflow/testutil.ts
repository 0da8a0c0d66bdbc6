/**
 * A small test-side sFlow v5 encoder (memo §5 XDR layouts): it builds the datagrams for the unit
 * tests, the golden cases, the fuzz seeds and the benchmark. Independent of the decoder's code.
 */
import { concat, ipv4Bytes, ipv6Bytes, macBytes } from './testpackets.js';

export class Xdr {
  private parts: Uint8Array[] = [];
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0);
    this.parts.push(b);
    return this;
  }
  u64(v: bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v);
    this.parts.push(b);
    return this;
  }
  f32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v);
    this.parts.push(b);
    return this;
  }
  /** Fixed opaque, padded to 4. */
  fixed(b: Uint8Array): this {
    this.parts.push(b, new Uint8Array((4 - (b.byteLength & 3)) & 3));
    return this;
  }
  /** Variable opaque<>: length, bytes, pad. */
  opaque(b: Uint8Array): this {
    return this.u32(b.byteLength).fixed(b);
  }
  string(s: string): this {
    return this.opaque(new TextEncoder().encode(s));
  }
  /** memo §5 address: '' = unknown (type 0), dotted = IPv4, otherwise IPv6. */
  addr(a: string): this {
    if (a === '') return this.u32(0);
    if (a.includes(':')) return this.u32(2).fixed(ipv6Bytes(a));
    return this.u32(1).fixed(ipv4Bytes(a));
  }
  raw(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }
  bytes(): Uint8Array {
    return concat(this.parts);
  }
}

/** A format/length/body triple: a sample or a record. */
export interface Tlv {
  format: number;
  body: Uint8Array;
}

const tlv = (format: number, x: Xdr): Tlv => ({ format, body: x.bytes() });

function writeTlvs(x: Xdr, items: readonly Tlv[]): Xdr {
  x.u32(items.length);
  for (const t of items) x.u32(t.format).u32(t.body.byteLength).raw(t.body);
  return x;
}

export interface DatagramOpts {
  agent?: string;
  subAgentId?: number;
  sequence?: number;
  uptimeMs?: number;
  samples: readonly Tlv[];
}

export function datagram(o: DatagramOpts): Uint8Array {
  const x = new Xdr().u32(5).addr(o.agent ?? '192.0.2.1').u32(o.subAgentId ?? 0).u32(o.sequence ?? 1).u32(o.uptimeMs ?? 60_000);
  return writeTlvs(x, o.samples).bytes();
}

export interface FlowSampleOpts {
  sequence?: number;
  sourceType?: number;
  sourceIndex?: number;
  samplingRate?: number;
  samplePool?: number;
  drops?: number;
  /** [format, value]; a bare number is format 0 (ifIndex). */
  input?: number | [number, number];
  output?: number | [number, number];
  expanded?: boolean;
  records: readonly Tlv[];
}

export function flowSample(o: FlowSampleOpts): Tlv {
  const expanded = o.expanded ?? false;
  const x = new Xdr().u32(o.sequence ?? 1);
  const st = o.sourceType ?? 0;
  const si = o.sourceIndex ?? 1;
  if (expanded) x.u32(st).u32(si);
  else x.u32(((st << 24) | (si & 0xffffff)) >>> 0);
  x.u32(o.samplingRate ?? 1).u32(o.samplePool ?? 1).u32(o.drops ?? 0);
  for (const i of [o.input ?? 1, o.output ?? 2]) {
    const [f, v] = typeof i === 'number' ? [0, i] : i;
    if (expanded) x.u32(f).u32(v);
    else x.u32(((f << 30) | (v & 0x3fffffff)) >>> 0);
  }
  return tlv(expanded ? 3 : 1, writeTlvs(x, o.records));
}

export function counterSample(o: { sequence?: number; sourceType?: number; sourceIndex?: number; expanded?: boolean; records: readonly Tlv[] }): Tlv {
  const expanded = o.expanded ?? false;
  const x = new Xdr().u32(o.sequence ?? 1);
  if (expanded) x.u32(o.sourceType ?? 0).u32(o.sourceIndex ?? 1);
  else x.u32((((o.sourceType ?? 0) << 24) | ((o.sourceIndex ?? 1) & 0xffffff)) >>> 0);
  return tlv(expanded ? 4 : 2, writeTlvs(x, o.records));
}

/** sflow_drops.txt §2 discarded_packet (sample format 5). */
export function discardSample(o: { sequence?: number; sourceType?: number; sourceIndex?: number; drops?: number; input?: number; output?: number; reason: number; records: readonly Tlv[] }): Tlv {
  const x = new Xdr().u32(o.sequence ?? 1).u32(o.sourceType ?? 0).u32(o.sourceIndex ?? 1);
  x.u32(o.drops ?? 0).u32(o.input ?? 0).u32(o.output ?? 0).u32(o.reason);
  return tlv(5, writeTlvs(x, o.records));
}

// ---- flow records ----
export function sampledHeader(header: Uint8Array, frameLength: number, protocol = 1, stripped = 4): Tlv {
  return tlv(1, new Xdr().u32(protocol).u32(frameLength).u32(stripped).opaque(header));
}
export function sampledEthernet(length: number, src: string, dst: string, type: number): Tlv {
  return tlv(2, new Xdr().u32(length).fixed(macBytes(src)).fixed(macBytes(dst)).u32(type));
}
export interface SampledIp {
  length: number;
  proto: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  tcpFlags?: number;
  tos?: number;
}
export function sampledIp(o: SampledIp): Tlv {
  const v6 = o.src.includes(':');
  const x = new Xdr().u32(o.length).u32(o.proto);
  x.fixed(v6 ? ipv6Bytes(o.src) : ipv4Bytes(o.src)).fixed(v6 ? ipv6Bytes(o.dst) : ipv4Bytes(o.dst));
  x.u32(o.srcPort).u32(o.dstPort).u32(o.tcpFlags ?? 0).u32(o.tos ?? 0);
  return tlv(v6 ? 4 : 3, x);
}
export function extSwitch(srcVlan: number, srcPri: number, dstVlan: number, dstPri: number): Tlv {
  return tlv(1001, new Xdr().u32(srcVlan).u32(srcPri).u32(dstVlan).u32(dstPri));
}
export function extRouter(nextHop: string, srcMask: number, dstMask: number): Tlv {
  return tlv(1002, new Xdr().addr(nextHop).u32(srcMask).u32(dstMask));
}
export function extGateway(o: { nextHop: string; as: number; srcAs: number; srcPeerAs: number; path: [number, number[]][]; communities?: number[]; localPref?: number }): Tlv {
  const x = new Xdr().addr(o.nextHop).u32(o.as).u32(o.srcAs).u32(o.srcPeerAs).u32(o.path.length);
  for (const [type, ases] of o.path) {
    x.u32(type).u32(ases.length);
    for (const a of ases) x.u32(a);
  }
  const c = o.communities ?? [];
  x.u32(c.length);
  for (const v of c) x.u32(v);
  return tlv(1003, x.u32(o.localPref ?? 100));
}
export function record(format: number, build: (x: Xdr) => void): Tlv {
  const x = new Xdr();
  build(x);
  return tlv(format, x);
}

// ---- counter records ----
export interface GenericCounters {
  ifIndex: number;
  ifType?: number;
  speed?: bigint;
  direction?: number;
  status?: number;
  inOctets: bigint;
  inUcast: number;
  inMcast?: number;
  inBcast?: number;
  inDiscards?: number;
  inErrors?: number;
  inUnknown?: number;
  outOctets: bigint;
  outUcast: number;
  outMcast?: number;
  outBcast?: number;
  outDiscards?: number;
  outErrors?: number;
  promiscuous?: number;
}
export function genericCounters(c: GenericCounters): Tlv {
  const x = new Xdr().u32(c.ifIndex).u32(c.ifType ?? 6).u64(c.speed ?? 1_000_000_000n).u32(c.direction ?? 1).u32(c.status ?? 3);
  x.u64(c.inOctets).u32(c.inUcast).u32(c.inMcast ?? 0).u32(c.inBcast ?? 0).u32(c.inDiscards ?? 0).u32(c.inErrors ?? 0).u32(c.inUnknown ?? 0);
  x.u64(c.outOctets).u32(c.outUcast).u32(c.outMcast ?? 0).u32(c.outBcast ?? 0).u32(c.outDiscards ?? 0).u32(c.outErrors ?? 0);
  return tlv(1, x.u32(c.promiscuous ?? 0));
}
/** A counter block of 32-bit words (ethernet = 13 words, etc.). */
export function u32Block(format: number, words: readonly number[]): Tlv {
  const x = new Xdr();
  for (const w of words) x.u32(w);
  return tlv(format, x);
}
