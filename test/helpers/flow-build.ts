/**
 * Builds NetFlow v5 / v9 / IPFIX datagrams byte by byte from RFC layouts, for tests and benches.
 * Independent of the decoders under test: it only writes what the RFCs describe.
 */
export class Bytes {
  private parts: number[] = [];
  u8(v: number): this {
    this.parts.push(v & 255);
    return this;
  }
  u16(v: number): this {
    return this.u8(v >>> 8).u8(v);
  }
  u32(v: number): this {
    return this.u16(Math.floor(v / 65536) & 0xffff).u16(v & 0xffff);
  }
  u64(v: bigint): this {
    return this.u32(Number(v >> 32n)).u32(Number(v & 0xffffffffn));
  }
  ip4(s: string): this {
    for (const p of s.split('.')) this.u8(Number(p));
    return this;
  }
  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.u8(b[i] as number);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  build(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface V5FlowSpec {
  src: string;
  dst: string;
  nextHop?: string;
  input?: number;
  output?: number;
  packets: number;
  bytes: number;
  first: number;
  last: number;
  srcPort: number;
  dstPort: number;
  tcpFlags?: number;
  proto: number;
  tos?: number;
  srcAs?: number;
  dstAs?: number;
}

export function buildV5(h: { uptime: number; secs: number; nsecs?: number; seq: number; sampling?: number }, flows: V5FlowSpec[]): Uint8Array {
  const b = new Bytes().u16(5).u16(flows.length).u32(h.uptime).u32(h.secs).u32(h.nsecs ?? 0).u32(h.seq).u8(0).u8(0).u16(h.sampling ?? 0);
  for (const f of flows) {
    b.ip4(f.src).ip4(f.dst).ip4(f.nextHop ?? '0.0.0.0').u16(f.input ?? 0).u16(f.output ?? 0).u32(f.packets).u32(f.bytes);
    b.u32(f.first).u32(f.last).u16(f.srcPort).u16(f.dstPort).u8(0).u8(f.tcpFlags ?? 0).u8(f.proto).u8(f.tos ?? 0);
    b.u16(f.srcAs ?? 0).u16(f.dstAs ?? 0).u8(24).u8(24).u16(0);
  }
  return b.build();
}

/** A flowset/set: id + length + body, padded to 4 bytes when asked. */
export function set(id: number, body: Uint8Array, pad = 0): Uint8Array {
  const b = new Bytes().u16(id).u16(4 + body.length + pad).raw(body);
  for (let i = 0; i < pad; i++) b.u8(0);
  return b.build();
}

export type FieldDef = [id: number, length: number, pen?: number];

export function v9Template(id: number, fields: FieldDef[]): Uint8Array {
  const b = new Bytes().u16(id).u16(fields.length);
  for (const [t, l] of fields) b.u16(t).u16(l);
  return b.build();
}

export function v9OptionsTemplate(id: number, scope: FieldDef[], opts: FieldDef[]): Uint8Array {
  const b = new Bytes().u16(id).u16(scope.length * 4).u16(opts.length * 4);
  for (const [t, l] of [...scope, ...opts]) b.u16(t).u16(l);
  return b.build();
}

export function ipfixTemplate(id: number, fields: FieldDef[], scopeCount?: number): Uint8Array {
  const b = new Bytes().u16(id).u16(fields.length);
  if (scopeCount !== undefined) b.u16(scopeCount);
  for (const [t, l, pen] of fields) {
    if (pen) b.u16(t | 0x8000).u16(l).u32(pen);
    else b.u16(t).u16(l);
  }
  return b.build();
}

export function v9Message(h: { uptime: number; secs: number; seq: number; sourceId: number; count?: number }, sets: Uint8Array[]): Uint8Array {
  const b = new Bytes().u16(9).u16(h.count ?? sets.length).u32(h.uptime).u32(h.secs).u32(h.seq).u32(h.sourceId);
  for (const s of sets) b.raw(s);
  return b.build();
}

export function ipfixMessage(h: { secs: number; seq: number; domain: number }, sets: Uint8Array[]): Uint8Array {
  const len = 16 + sets.reduce((a, s) => a + s.length, 0);
  const b = new Bytes().u16(10).u16(len).u32(h.secs).u32(h.seq).u32(h.domain);
  for (const s of sets) b.raw(s);
  return b.build();
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const b = new Bytes();
  for (const p of parts) b.raw(p);
  return b.build();
}
