/**
 * Generated exporter traffic for `netvigil run --demo`: NetFlow v9 (RFC 3954) and sFlow v5
 * (sflow_version_5.txt) datagrams shaped like a small edge router's, with documentation addresses
 * (RFC 5737). Written from the specifications, independent of our decoders.
 */

/** Big-endian byte writer. */
class Out {
  private b: number[] = [];
  u8(v: number): this {
    this.b.push(v & 255);
    return this;
  }
  u16(v: number): this {
    return this.u8(v >>> 8).u8(v);
  }
  u32(v: number): this {
    return this.u16(Math.floor(v / 65536) & 0xffff).u16(v & 0xffff);
  }
  u64(v: number): this {
    return this.u32(Math.floor(v / 2 ** 32)).u32(v % 2 ** 32);
  }
  ip4(s: string): this {
    for (const p of s.split('.')) this.u8(Number(p));
    return this;
  }
  bytes(a: ArrayLike<number>): this {
    for (let i = 0; i < a.length; i++) this.u8(a[i] ?? 0);
    return this;
  }
  pad4(): this {
    while (this.b.length % 4) this.u8(0);
    return this;
  }
  get length(): number {
    return this.b.length;
  }
  build(): Uint8Array {
    return Uint8Array.from(this.b);
  }
}

/** One conversation the demo router sees; volumes grow a little each round. */
export interface Conversation {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  proto: 6 | 17;
  inIf: number;
  outIf: number;
  packets: number;
  bytesPerPacket: number;
}

export const CONVERSATIONS: readonly Conversation[] = [
  { src: '192.0.2.10', dst: '198.51.100.20', srcPort: 51514, dstPort: 443, proto: 6, inIf: 1, outIf: 2, packets: 120, bytesPerPacket: 1200 },
  { src: '198.51.100.20', dst: '192.0.2.10', srcPort: 443, dstPort: 51514, proto: 6, inIf: 2, outIf: 1, packets: 80, bytesPerPacket: 80 },
  { src: '192.0.2.11', dst: '203.0.113.53', srcPort: 40211, dstPort: 53, proto: 17, inIf: 1, outIf: 2, packets: 4, bytesPerPacket: 74 },
  { src: '192.0.2.12', dst: '203.0.113.123', srcPort: 123, dstPort: 123, proto: 17, inIf: 1, outIf: 2, packets: 1, bytesPerPacket: 76 },
  { src: '203.0.113.9', dst: '192.0.2.22', srcPort: 50022, dstPort: 22, proto: 6, inIf: 2, outIf: 3, packets: 30, bytesPerPacket: 140 },
];

const V9_TEMPLATE_ID = 256;
/** (field type, length): IN_BYTES, IN_PKTS, PROTOCOL, TCP_FLAGS, L4_SRC_PORT, IPV4_SRC_ADDR, INPUT_SNMP, L4_DST_PORT, IPV4_DST_ADDR, OUTPUT_SNMP, LAST_SWITCHED, FIRST_SWITCHED (RFC 3954 section 8). */
const V9_FIELDS: readonly [number, number][] = [[1, 4], [2, 4], [4, 1], [6, 1], [7, 2], [8, 4], [10, 2], [11, 2], [12, 4], [14, 2], [21, 4], [22, 4]];

/** A NetFlow v9 export packet: the template FlowSet when asked (exporters resend it periodically), then one data FlowSet. */
export function netflowV9(h: { uptimeMs: number; unixSecs: number; seq: number; sourceId: number; withTemplate: boolean }, flows: readonly Conversation[], round: number): Uint8Array {
  const sets: Uint8Array[] = [];
  if (h.withTemplate) {
    const t = new Out().u16(0).u16(8 + 4 * V9_FIELDS.length).u16(V9_TEMPLATE_ID).u16(V9_FIELDS.length);
    for (const [type, len] of V9_FIELDS) t.u16(type).u16(len);
    sets.push(t.build());
  }
  const d = new Out();
  for (const f of flows) {
    const packets = f.packets * (1 + (round % 3));
    d.u32(packets * f.bytesPerPacket).u32(packets).u8(f.proto).u8(f.proto === 6 ? 0x18 : 0).u16(f.srcPort).ip4(f.src).u16(f.inIf);
    d.u16(f.dstPort).ip4(f.dst).u16(f.outIf).u32(h.uptimeMs - 100).u32(h.uptimeMs - 900);
  }
  d.pad4();
  sets.push(new Out().u16(V9_TEMPLATE_ID).u16(4 + d.length).bytes(d.build()).build());
  // count = records in the packet, template and data alike (RFC 3954 section 5.1)
  const out = new Out().u16(9).u16(flows.length + (h.withTemplate ? 1 : 0)).u32(h.uptimeMs).u32(h.unixSecs).u32(h.seq).u32(h.sourceId);
  for (const s of sets) out.bytes(s);
  return out.build();
}

/** Ethernet + IPv4 + TCP/UDP headers of one sampled packet (what an sFlow agent copies). */
function sampledHeader(f: Conversation): Uint8Array {
  const l4 = f.proto === 6
    ? new Out().u16(f.srcPort).u16(f.dstPort).u32(1000).u32(2000).u8(0x50).u8(0x18).u16(64240).u16(0).u16(0)
    : new Out().u16(f.srcPort).u16(f.dstPort).u16(f.bytesPerPacket - 20).u16(0);
  const ipLen = f.bytesPerPacket;
  const ip = new Out().u8(0x45).u8(0).u16(ipLen).u16(0x1c46).u16(0x4000).u8(64).u8(f.proto).u16(0).ip4(f.src).ip4(f.dst);
  return new Out().bytes([0x02, 0, 0, 0, 0, 0x02]).bytes([0x02, 0, 0, 0, 0, 0x01]).u16(0x0800).bytes(ip.build()).bytes(l4.build()).build();
}

const SAMPLING_RATE = 1000;

/**
 * An agent's per-source counters: sample sequence numbers run per source (sFlow v5, 5.4.1), and
 * the sample pool grows by about the sampling rate per sample.
 */
export class SflowAgentState {
  private seqs = new Map<string, number>();
  private pools = new Map<number, number>();
  next(kind: 'flow' | 'counters', source: number): number {
    const k = `${kind}:${source}`;
    const n = (this.seqs.get(k) ?? 0) + 1;
    this.seqs.set(k, n);
    return n;
  }
  pool(source: number): number {
    const p = (this.pools.get(source) ?? 0) + SAMPLING_RATE;
    this.pools.set(source, p);
    return p;
  }
}

/** An sFlow v5 datagram: one flow sample per conversation and, when asked, counter samples of interfaces 1-3. */
export function sflowV5(h: { agent: string; seq: number; uptimeMs: number; withCounters: boolean }, state: SflowAgentState, flows: readonly Conversation[], round: number): Uint8Array {
  const samples: Uint8Array[] = [];
  flows.forEach((f) => {
    const hdr = sampledHeader(f);
    const rec = new Out().u32(1).u32(f.bytesPerPacket + 18).u32(4).u32(hdr.length).bytes(hdr).pad4().build();
    const body = new Out().u32(state.next('flow', f.inIf)).u32(f.inIf).u32(SAMPLING_RATE).u32(state.pool(f.inIf)).u32(0);
    body.u32(f.inIf).u32(f.outIf).u32(1).u32(1).u32(rec.length).bytes(rec);
    samples.push(new Out().u32(1).u32(body.length).bytes(body.build()).build());
  });
  if (h.withCounters) {
    for (const ifIndex of [1, 2, 3]) {
      const octets = (round + 1) * 1_250_000 * ifIndex;
      const c = new Out().u32(ifIndex).u32(6).u64(1_000_000_000).u32(1).u32(3);
      c.u64(octets).u32(Math.floor(octets / 800)).u32(12).u32(3).u32(0).u32(0).u32(0);
      c.u64(octets * 2).u32(Math.floor(octets / 400)).u32(10).u32(2).u32(0).u32(0).u32(0);
      const body = new Out().u32(state.next('counters', ifIndex)).u32(ifIndex).u32(1).u32(1).u32(c.length).bytes(c.build());
      samples.push(new Out().u32(2).u32(body.length).bytes(body.build()).build());
    }
  }
  const out = new Out().u32(5).u32(1).ip4(h.agent).u32(0).u32(h.seq).u32(h.uptimeMs).u32(samples.length);
  for (const s of samples) out.bytes(s);
  return out.build();
}
