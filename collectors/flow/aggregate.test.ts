import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeRecord } from '../../src/record/record.js';
import { Aggregator, OTHER, type Dimension } from './aggregate.js';

const flow = (exporter: string, f: { in_if: number; proto: number; src: string; bytes: number; packets: number; rate: number }) =>
  makeRecord('flow', 'flow', { exporter, version: '9', domain: '0' }, {
    in_if: BigInt(f.in_if), proto: BigInt(f.proto), src_addr: f.src, dst_addr: '192.0.2.1',
    bytes: BigInt(f.bytes), packets: BigInt(f.packets), sampling_rate: BigInt(f.rate),
  });

describe('Aggregator', () => {
  it('never exceeds the series budget and keeps totals exact (property)', () => {
    const rec = fc.record({ in_if: fc.nat(20), proto: fc.constantFrom(6, 17, 1), src: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'), bytes: fc.nat(1_000_000), packets: fc.nat(1000), rate: fc.integer({ min: 1, max: 1000 }) });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), rec), { maxLength: 300 }), fc.integer({ min: 2, max: 12 }), fc.nat(3), (flows, maxSeries, topN) => {
        const dims: Dimension[] = ['exporter', 'in_if', 'proto'];
        const a = new Aggregator({ dimensions: dims, maxSeries, topN, topBy: ['src_addr'], maxTalkers: 3 });
        for (const [e, f] of flows) a.add(flow(e, f));
        const out = a.flush(0, 'flow');
        const agg = out.filter((r) => r.measurement === 'flow_agg');
        expect(agg.length).toBeLessThanOrEqual(maxSeries);
        const want = flows.reduce((s, [, f]) => s + f.bytes * f.rate, 0);
        expect(agg.reduce((s, r) => s + Number(r.fields['bytes']), 0)).toBe(want);
        expect(new Set(agg.map((r) => JSON.stringify(r.tags))).size).toBe(agg.length);
        const top = out.filter((r) => r.measurement === 'flow_top');
        expect(top.filter((r) => r.tags['talker'] !== OTHER).length).toBeLessThanOrEqual(topN);
        expect(top.reduce((s, r) => s + Number(r.fields['bytes']), 0)).toBe(want);
        expect(a.flush(0, 'flow')).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('with no dimensions keeps one total series', () => {
    const a = new Aggregator({ dimensions: [], maxSeries: 10, topN: 0, topBy: [], maxTalkers: 1 });
    a.add(flow('a', { in_if: 1, proto: 6, src: '10.0.0.1', bytes: 10, packets: 1, rate: 2 }));
    a.add(flow('b', { in_if: 2, proto: 17, src: '10.0.0.2', bytes: 5, packets: 1, rate: 1 }));
    expect(a.flush(1000, 'flow').map((r) => [r.measurement, r.tags, r.fields, r.time])).toEqual([['flow_agg', { collector: 'flow' }, { bytes: 25n, packets: 3n, flows: 2n }, 1000]]);
  });
});
