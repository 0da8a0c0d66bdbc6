/**
 * NetFlow v5 / v9 / IPFIX decode throughput (records/s, one core) over crafted datagrams shaped like
 * a router's exports (v9/IPFIX: 30 records of 17 fields per datagram, softflowd/Cisco-like), next to
 * node-netflowv9 (GPL devDependency, oracle/baseline only) decoding the same datagrams in the same run.
 * "decode" = bytes -> decoded values; "decode+normalize" adds building the flow Records.
 */
import { createRequire } from 'node:module';
import { Aggregator } from '../collectors/flow/aggregate.js';
import { FlowProcessor } from '../collectors/flow/processor.js';
import { OptionsState, normalizeData, normalizeV5 } from '../collectors/netflow/normalize.js';
import { TemplateStore } from '../collectors/netflow/templates.js';
import { decodeIpfix } from '../collectors/netflow/ipfix.js';
import { decodeV5 } from '../collectors/netflow/v5.js';
import { decodeV9 } from '../collectors/netflow/v9.js';
import { Bytes, buildV5, ipfixMessage, ipfixTemplate, set, v9Message, v9Template, type FieldDef } from '../test/helpers/flow-build.js';
import type { BenchResult } from './types.js';

const RUN_MS = 2500;
const RECS = 30;
const FIELDS: FieldDef[] = [[8, 4], [12, 4], [15, 4], [7, 2], [11, 2], [4, 1], [6, 1], [5, 1], [1, 4], [2, 4], [10, 2], [14, 2], [16, 2], [17, 2], [22, 4], [21, 4], [61, 1]];

interface Oracle {
  nfPktDecode(msg: Buffer, rinfo: { address: string; port: number; size: number }): { flows: unknown[] } | undefined;
  server: { close(): void };
}

function body(d: number): Uint8Array {
  const b = new Bytes();
  for (let r = 0; r < RECS; r++) {
    const i = d * RECS + r;
    b.u32(0x0a000000 + i).u32(0xc0a80000 + (i % 65536)).u32(0x0a0000fe).u16(1024 + (i % 60000)).u16(443).u8(i % 3 ? 6 : 17).u8(0x18).u8(0);
    b.u32(1500 * (1 + (i % 40))).u32(1 + (i % 40)).u16(1 + (i % 48)).u16(49).u16(64512).u16(15169).u32(1_000_000 + i).u32(1_005_000 + i).u8(0);
  }
  return b.build();
}

function measure(datagrams: Buffer[], perDatagram: number, fn: (b: Buffer) => void): number {
  let n = 0;
  const limit = BigInt(RUN_MS) * 1_000_000n;
  const t0 = process.hrtime.bigint();
  for (;;) {
    for (const d of datagrams) fn(d);
    n += datagrams.length;
    if (process.hrtime.bigint() - t0 >= limit) break;
  }
  return (n * perDatagram) / (Number(process.hrtime.bigint() - t0) / 1e9);
}

export default async function run(): Promise<BenchResult[]> {
  const NetFlowV9 = createRequire(import.meta.url)('node-netflowv9') as new (o: { cb: () => void }) => Oracle;
  const oracle = new NetFlowV9({ cb: () => undefined });
  const rinfo = { address: '192.0.2.1', port: 2055, size: 0 };
  const exporter = '192.0.2.1:2055';
  const out: BenchResult[] = [];
  let sink = 0;
  try {
    // NetFlow v9
    const tplMsg = Buffer.from(v9Message({ uptime: 2_000_000, secs: 1_700_000_000, seq: 0, sourceId: 0 }, [set(0, v9Template(256, FIELDS))]));
    const v9 = Array.from({ length: 500 }, (_, d) => Buffer.from(v9Message({ uptime: 2_000_000, secs: 1_700_000_000, seq: d + 1, sourceId: 0 }, [set(256, body(d))])));
    const store = new TemplateStore();
    decodeV9(tplMsg, exporter, store, 0);
    oracle.nfPktDecode(tplMsg, { ...rinfo, size: tplMsg.length });
    const check = decodeV9(v9[0] as Buffer, exporter, store, 0).records.length;
    if (check !== RECS) throw new Error(`bench datagram decoded to ${check} records`);
    const theirsV9 = measure(v9, RECS, (b) => (sink += oracle.nfPktDecode(b, { ...rinfo, size: b.length })?.flows.length ?? 0));
    const oursV9 = measure(v9, RECS, (b) => (sink += decodeV9(b, exporter, store, 0).records.length));
    const state = new OptionsState();
    const oursV9n = measure(v9, RECS, (b) => {
      for (const r of decodeV9(b, exporter, store, 0).records) sink += normalizeData(r, '192.0.2.1', state, 0).time > 0 ? 1 : 0;
    });
    out.push({ name: 'netflow v9 decode', value: oursV9, unit: 'records/s', baseline: { name: 'node-netflowv9', value: theirsV9 }, note: `${RECS} records x ${FIELDS.length} fields per datagram` });
    out.push({ name: 'netflow v9 decode+normalize', value: oursV9n, unit: 'records/s', baseline: { name: 'node-netflowv9 (decode only)', value: theirsV9 } });
    // the collector's whole per-datagram path without the socket: detect, decode, normalize, loss
    // accounting, aggregation by the default dimensions with top talkers
    const agg = new Aggregator({ dimensions: ['exporter', 'in_if', 'out_if', 'proto'], maxSeries: 2000, topN: 20, topBy: ['src_addr', 'dst_addr'], maxTalkers: 100_000 });
    const proc = new FlowProcessor(
      { collector: 'flow', store: new TemplateStore(), raw: false, maxExporters: 10 },
      { emit: () => undefined, aggregate: (k) => agg.add(k), interfaces: () => undefined, clockOffset: () => undefined, internalError: (e) => { throw e; } },
    );
    proc.handle(tplMsg, rinfo.address, rinfo.port, 0);
    let flushes = 0;
    const oursPath = measure(v9, RECS, (b) => {
      proc.handle(b, rinfo.address, rinfo.port, 0);
      if (agg.flowsIn >= 3_000_000) flushes += agg.flush(0, 'flow').length > 0 ? 1 : 0;
    });
    out.push({ name: 'netflow v9 collector path (decode+normalize+loss+aggregate)', value: oursPath, unit: 'records/s', baseline: { name: 'node-netflowv9 (decode only)', value: theirsV9 }, note: `${Math.round(oursPath / RECS)} datagrams/s on one core; ${flushes} interval flushes` });

    // NetFlow v5
    const flows = Array.from({ length: RECS }, (_, i) => ({ src: `10.0.${i}.1`, dst: '192.168.0.1', packets: i + 1, bytes: 1500 * (i + 1), first: 1000, last: 2000, srcPort: 1024 + i, dstPort: 443, proto: 6 }));
    const v5 = Array.from({ length: 500 }, (_, d) => Buffer.from(buildV5({ uptime: 5000, secs: 1_700_000_000, seq: d * RECS }, flows)));
    const theirsV5 = measure(v5, RECS, (b) => (sink += oracle.nfPktDecode(b, { ...rinfo, size: b.length })?.flows.length ?? 0));
    const oursV5 = measure(v5, RECS, (b) => (sink += decodeV5(b).flows.length));
    const oursV5n = measure(v5, RECS, (b) => (sink += normalizeV5(decodeV5(b), '192.0.2.1').length));
    out.push({ name: 'netflow v5 decode', value: oursV5, unit: 'records/s', baseline: { name: 'node-netflowv9', value: theirsV5 } });
    out.push({ name: 'netflow v5 decode+normalize', value: oursV5n, unit: 'records/s', baseline: { name: 'node-netflowv9 (decode only)', value: theirsV5 } });

    // IPFIX (node-netflowv9 has none): compared with our own v9 decode of the same records
    const ipfixStore = new TemplateStore();
    decodeIpfix(ipfixMessage({ secs: 1_700_000_000, seq: 0, domain: 1 }, [set(2, ipfixTemplate(256, FIELDS))]), exporter, ipfixStore, 0);
    const ipfix = Array.from({ length: 500 }, (_, d) => Buffer.from(ipfixMessage({ secs: 1_700_000_000, seq: d * RECS, domain: 1 }, [set(256, body(d))])));
    const oursIpfix = measure(ipfix, RECS, (b) => (sink += decodeIpfix(b, exporter, ipfixStore, 0).records.length));
    out.push({ name: 'ipfix decode', value: oursIpfix, unit: 'records/s', baseline: { name: 'node-netflowv9 v9 (no IPFIX support)', value: theirsV9 } });
  } finally {
    oracle.server.close();
  }
  if (sink < 0) out.push({ name: 'unreachable', value: sink, unit: '' });
  return out;
}
