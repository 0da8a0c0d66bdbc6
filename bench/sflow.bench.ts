/**
 * sFlow v5 decode throughput (samples/s, one core) over crafted datagrams shaped like a switch's:
 * 7 flow samples per datagram, each a 128-byte raw Ethernet/IPv4|IPv6/TCP|UDP header plus
 * extended_switch (as Arista/Juniper/pmacct send), and counter datagrams with generic + Ethernet
 * counters. node-sflow (GPL, not installed) cannot be compared against, so the baseline in the same
 * run is a bare loop that reads only each datagram header (version, agent, sequence, sample count)
 * through a DataView: the floor cost of touching the datagrams at all.
 */
import { decodeSflow, normalizeSflow } from '../collectors/sflow/index.js';
import { counterSample, datagram, genericCounters, u32Block } from '../collectors/sflow/testutil.js';
import { switchFlowSample } from './sflow-traffic.js';
import { Aggregator } from '../collectors/flow/aggregate.js';
import { FlowProcessor } from '../collectors/flow/processor.js';
import { TemplateStore } from '../collectors/netflow/templates.js';
import type { BenchResult } from './types.js';

const RUN_MS = 3000;

function flowDatagrams(n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let seq = 0;
  for (let d = 0; d < n; d++) {
    const samples = [];
    for (let s = 0; s < 7; s++) {
      const i = d * 7 + s;
      samples.push(switchFlowSample(i, ++seq));
    }
    out.push(datagram({ agent: '192.0.2.10', sequence: d + 1, uptimeMs: 1_000_000 + d, samples }));
  }
  return out;
}

function counterDatagrams(n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let d = 0; d < n; d++) {
    const samples = [];
    for (let s = 0; s < 5; s++) {
      const ifIndex = 1 + ((d * 5 + s) % 48);
      samples.push(counterSample({ sequence: d + 1, sourceIndex: ifIndex, records: [genericCounters({ ifIndex, inOctets: BigInt(d) << 20n, inUcast: d * 100, outOctets: BigInt(d) << 19n, outUcast: d * 90 }), u32Block(2, new Array<number>(13).fill(0))] }));
    }
    out.push(datagram({ agent: '192.0.2.10', sequence: d + 1, samples }));
  }
  return out;
}

/** Runs `fn` over the datagrams for RUN_MS and returns units/s (fn returns units per datagram). */
function rate(dgs: readonly Uint8Array[], fn: (b: Uint8Array) => number): number {
  // warm-up so the JIT has compiled the hot path
  for (let i = 0; i < 20_000; i++) fn(dgs[i % dgs.length] as Uint8Array);
  let units = 0;
  let iters = 0;
  const t0 = process.hrtime.bigint();
  const limit = BigInt(RUN_MS) * 1_000_000n;
  while (true) {
    for (let i = 0; i < 1000; i++) units += fn(dgs[(iters + i) % dgs.length] as Uint8Array);
    iters += 1000;
    if (process.hrtime.bigint() - t0 >= limit) break;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return units / secs;
}

/** The baseline: read the v5 header words and nothing else. */
function headerOnly(b: Uint8Array): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint32(0) !== 5) return 0;
  const off = v.getUint32(4) === 2 ? 24 : 12;
  const seq = v.getUint32(off + 4);
  return seq >= 0 ? v.getUint32(off + 12) : 0;
}

export default async function bench(): Promise<BenchResult[]> {
  const flows = flowDatagrams(256);
  const counters = counterDatagrams(64);
  const base = rate(flows, headerOnly);
  const baseline = { name: 'header-only DataView loop', value: base };
  const decodeFlows = rate(flows, (b) => decodeSflow(b).samples.length);
  const decodeNorm = rate(flows, (b) => normalizeSflow(decodeSflow(b), '192.0.2.10', 1_700_000_000_000).length);
  const decodeCounters = rate(counters, (b) => decodeSflow(b).samples.length);
  // the collector's whole per-datagram path without the socket, as the default config runs it:
  // detect, decode, loss accounting, aggregation with top talkers (no per-flow Records)
  const agg = new Aggregator({ dimensions: ['exporter', 'in_if', 'out_if', 'proto'], maxSeries: 2000, topN: 20, topBy: ['src_addr', 'dst_addr'], maxTalkers: 100_000 });
  const proc = new FlowProcessor(
    { collector: 'flow', store: new TemplateStore(), raw: false, maxExporters: 10 },
    { emit: () => undefined, aggregate: (k) => agg.add(k), interfaces: () => undefined, clockOffset: () => undefined, internalError: (e) => { throw e; } },
  );
  let seq = 0;
  const path = rate(flows, (b) => {
    // a fresh datagram sequence each time round the ring, as a live agent sends
    new DataView(b.buffer, b.byteOffset).setUint32(16, ++seq);
    proc.handle(b, '192.0.2.10', 6343, 1_700_000_000_000);
    if (agg.flowsIn >= 3_000_000) agg.flush(0, 'flow');
    return 7;
  });
  const bytes = flows.reduce((a, b) => a + b.byteLength, 0) / flows.length;
  return [
    { name: 'sflow decode, flow samples (raw header + ext switch)', value: decodeFlows, unit: 'samples/s', baseline, note: `7 samples, ${Math.round(bytes)} B per datagram; ${(decodeFlows / 7 / 1000).toFixed(0)} k datagrams/s` },
    { name: 'sflow decode + normalize to Records', value: decodeNorm, unit: 'records/s', baseline },
    { name: 'sflow collector path (decode+loss+aggregate)', value: path, unit: 'samples/s', baseline, note: `${(path / 7 / 1000).toFixed(0)} k datagrams/s on one core` },
    { name: 'sflow decode, counter samples (generic + ethernet)', value: decodeCounters, unit: 'samples/s', baseline },
    { name: 'header-only DataView loop (baseline)', value: base, unit: 'samples/s' },
  ];
}
