import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeRecord, type FlowRecord } from '../../src/record/record.js';
import { ip6Key, ip6KeyText, isIp6Key } from '../../src/wire/ip6key.js';
import { ipv4ToString } from '../../src/wire/reader.js';
import { Aggregator, OTHER, type Dimension } from './aggregate.js';
import { viewFromRecord } from '../../test/helpers/recordview.js';
import { FlowView } from './view.js';
import { TalkerTable } from './talkers.js';

const flow = (exporter: string, f: { in_if: number; proto: number; src: string; bytes: number; packets: number; rate: number }) =>
  makeRecord('flow', 'flow', { exporter, version: '9', domain: '0' }, {
    in_if: BigInt(f.in_if), proto: BigInt(f.proto), src_addr: f.src, dst_addr: '192.0.2.1',
    bytes: BigInt(f.bytes), packets: BigInt(f.packets), sampling_rate: BigInt(f.rate),
  });

const keys = (r: FlowRecord): FlowView => viewFromRecord(r);

describe('Aggregator', () => {
  it('never exceeds the series budget and keeps totals exact (property)', () => {
    const rec = fc.record({ in_if: fc.nat(20), proto: fc.constantFrom(6, 17, 1), src: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'), bytes: fc.nat(1_000_000), packets: fc.nat(1000), rate: fc.integer({ min: 1, max: 1000 }) });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), rec), { maxLength: 300 }), fc.integer({ min: 2, max: 12 }), fc.nat(3), (flows, maxSeries, topN) => {
        const dims: Dimension[] = ['exporter', 'in_if', 'proto'];
        const a = new Aggregator({ dimensions: dims, maxSeries, topN, topBy: ['src_addr'], maxTalkers: 3 });
        for (const [e, f] of flows) a.add(keys(flow(e, f)));
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

  it('flushLater gives the records flush gives, flow_top computed over later turns of the loop (property)', async () => {
    const rec = fc.record({ in_if: fc.nat(20), proto: fc.constantFrom(6, 17, 1), src: fc.constantFrom('10.0.0.1', '10.0.0.2', '2001:db8::3', '10.0.0.4', '2001:db8::5'), bytes: fc.nat(1_000_000), packets: fc.nat(1000), rate: fc.integer({ min: 1, max: 1000 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('a', 'b'), rec), { maxLength: 300 }), fc.integer({ min: 2, max: 12 }), fc.nat(4), fc.integer({ min: 1, max: 5 }), async (flows, maxSeries, topN, maxTalkers) => {
        const opts = { dimensions: ['exporter', 'in_if', 'proto'] as Dimension[], maxSeries, topN, topBy: ['src_addr', 'dst_addr'] as const, maxTalkers };
        const a = new Aggregator({ ...opts, topBy: [...opts.topBy] });
        const b = new Aggregator({ ...opts, topBy: [...opts.topBy] });
        for (const [e, f] of flows) {
          a.add(keys(flow(e, f)));
          b.add(keys(flow(e, f)));
        }
        const later = b.flushLater(5000, 'flow');
        // the tables are free for the next interval before the rows are computed
        b.add(keys(flow('a', { in_if: 1, proto: 6, src: '10.9.9.9', bytes: 1, packets: 1, rate: 1 })));
        expect([...later.now, ...(await later.talkers)]).toEqual(a.flush(5000, 'flow'));
      }),
      { numRuns: 150 },
    );
  });

  it('flushLater agrees with flush across several slices of a large talker table', async () => {
    const opts = { dimensions: ['proto'] as Dimension[], maxSeries: 10, topN: 20, topBy: ['src_addr' as const], maxTalkers: 50_000 };
    const a = new Aggregator(opts);
    const b = new Aggregator(opts);
    const k = new FlowView();
    for (let i = 0; i < 60_000; i++) {
      k.proto = i % 3;
      k.src = 0x0a000000 + ((i * 7919) % 45_000);
      k.bytes = (i * 31) % 1000;
      k.packets = 1;
      a.add(k);
      b.add(k);
    }
    const later = b.flushLater(0, 'flow');
    expect([...later.now, ...(await later.talkers)]).toEqual(a.flush(0, 'flow'));
  });

  it('with no dimensions keeps one total series', () => {
    const a = new Aggregator({ dimensions: [], maxSeries: 10, topN: 0, topBy: [], maxTalkers: 1 });
    a.add(keys(flow('a', { in_if: 1, proto: 6, src: '10.0.0.1', bytes: 10, packets: 1, rate: 2 })));
    a.add(keys(flow('b', { in_if: 2, proto: 17, src: '10.0.0.2', bytes: 5, packets: 1, rate: 1 })));
    expect(a.flush(1000, 'flow').map((r) => [r.measurement, r.tags, r.fields, r.time])).toEqual([['flow_agg', { collector: 'flow' }, { bytes: 25n, packets: 3n, flows: 2n }, 1000]]);
  });
});

describe('TalkerTable', () => {
  it('matches a plain Map through growth and rehashing, IPv4 numbers, IPv6 keys and text alike (property)', () => {
    // IPv6 byte keys: random ones (growth of the IPv6 index) and a small pool (repeats)
    const v6 = (b: Uint8Array): string => ip6Key(b, 0);
    const pool = fc.integer({ min: 0, max: 40 }).map((i) => v6(Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, i >> 8, i & 255])));
    const talker = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 300 }), fc.constantFrom('2001:db8::1', '2001:db8::2', 'fe80::1'), fc.uint8Array({ minLength: 16, maxLength: 16 }).map(v6), pool);
    fc.assert(
      fc.property(fc.array(fc.tuple(talker, fc.nat(10_000)), { maxLength: 3000 }), fc.integer({ min: 1, max: 2500 }), (adds, max) => {
        const t = new TalkerTable(max);
        const want = new Map<string, number>();
        let rest = 0;
        for (const [k, bytes] of adds) {
          t.add(k, bytes, 1);
          const text = typeof k === 'number' ? ipv4ToString(k) : isIp6Key(k) ? ip6KeyText(k) : k;
          if (want.has(text) || want.size < max) want.set(text, (want.get(text) ?? 0) + bytes);
          else rest += bytes;
        }
        const { top, other } = t.top(1e9);
        expect(new Map(top.map((s) => [s.talker, s.bytes]))).toEqual(want);
        expect(other.bytes).toBe(rest);
        // top n: heaviest first, ties in first-seen order, the rest summed into "other"
        for (const n of [0, 1, 3, 20]) {
          const ranked = [...want].sort((a, b) => b[1] - a[1]);
          const picked = t.top(n);
          expect(picked.top.map((s) => [s.talker, s.bytes])).toEqual(ranked.slice(0, n));
          expect(picked.other.bytes).toBe(rest + ranked.slice(n).reduce((x, [, b]) => x + b, 0));
        }
        t.reset();
        expect(t.top(10)).toEqual({ top: [], other: { bytes: 0, packets: 0, flows: 0 } });
      }),
      { numRuns: 60 },
    );
  });

  it('counts one address once whether it came as decoded IPv4 or as Record text', () => {
    const a = new Aggregator({ dimensions: ['src_addr'], maxSeries: 10, topN: 5, topBy: ['src_addr'], maxTalkers: 10 });
    a.add(keys(flow('a', { in_if: 1, proto: 6, src: '198.51.100.7', bytes: 10, packets: 1, rate: 1 })));
    const k = new FlowView();
    k.src = (198 << 24 >>> 0) + (51 << 16) + (100 << 8) + 7;
    k.bytes = 5;
    k.packets = 1;
    a.add(k);
    const out = a.flush(0, 'flow');
    expect(out.filter((r) => r.measurement === 'flow_agg').map((r) => [r.tags['src_addr'], r.fields['bytes']])).toEqual([['198.51.100.7', 15n]]);
    expect(out.filter((r) => r.measurement === 'flow_top').map((r) => [r.tags['talker'], r.fields['bytes']])).toEqual([['198.51.100.7', 15n]]);
  });

  it('counts one IPv6 address once whether it came as a decoded byte key or as Record text', () => {
    const a = new Aggregator({ dimensions: ['src_addr'], maxSeries: 10, topN: 5, topBy: ['src_addr'], maxTalkers: 10 });
    a.add(keys(flow('a', { in_if: 1, proto: 6, src: '2001:db8::7', bytes: 10, packets: 1, rate: 1 })));
    const k = new FlowView();
    k.src = ip6Key(Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]), 0);
    k.bytes = 5;
    k.packets = 1;
    a.add(k);
    const out = a.flush(0, 'flow');
    expect(out.filter((r) => r.measurement === 'flow_agg').map((r) => [r.tags['src_addr'], r.fields['bytes']])).toEqual([['2001:db8::7', 15n]]);
    expect(out.filter((r) => r.measurement === 'flow_top').map((r) => [r.tags['talker'], r.fields['bytes']])).toEqual([['2001:db8::7', 15n]]);
  });
});

describe('Aggregator, mapped address dimensions', () => {
  it('print uint32 and byte keys as addresses, and join a checkpoint that held them as text (an earlier version)', () => {
    const opts = { dimensions: ['nat_src_addr', 'app_id'], mapped: ['nat_src_addr', 'app_id'], addresses: ['nat_src_addr'], maxSeries: 10, topN: 0, topBy: [], maxTalkers: 10 };
    const earlier = { series: [{ keys: ['198.51.100.7', 7], bytes: 10, packets: 1, flows: 1 }, { keys: ['2001:db8::7', 7], bytes: 20, packets: 1, flows: 1 }], other: null, talkers: [], written: [] };
    const a = new Aggregator(opts);
    a.restore(earlier);
    const k = new FlowView(opts.mapped);
    k.bytes = 5;
    k.packets = 1;
    for (const addr of [0xc6336407, ip6Key(Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]), 0)]) {
      k.mapped[0] = addr;
      k.mapped[1] = 7; // a value dimension: the same number prints as a number
      a.add(k);
    }
    const rows = a.flush(0, 'flow').filter((r) => r.measurement === 'flow_agg').map((r) => [r.tags['nat_src_addr'], r.tags['app_id'], r.fields['bytes']]);
    expect(rows).toEqual([['198.51.100.7', '7', 15n], ['2001:db8::7', '7', 25n]]);
  });
});

describe('TalkerTable snapshot', () => {
  const v6 = (last: number): string => ip6Key(Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last]), 0);
  const f64 = (xs: number[]): string => Buffer.from(Float64Array.from(xs).buffer).toString('base64');

  it('survives JSON with IPv4, IPv6 and text talkers, volumes and rest intact', () => {
    const t = new TalkerTable(3);
    t.add(0xc0000201, 10, 1);
    t.add(v6(7), 20, 2);
    t.add('not-an-address', 30, 3);
    t.add(0xc0000202, 40, 4); // beyond the bound: rest
    const back = new TalkerTable(3);
    back.restore(JSON.parse(JSON.stringify(t.snapshot())) as ReturnType<TalkerTable['snapshot']>);
    expect(back.top(10)).toEqual(t.top(10));
    expect(back.top(10).top.map((s) => s.talker)).toEqual(['not-an-address', '2001:db8::7', '192.0.2.1']);
  });

  it('reads the earlier form (keys in slot order, IPv6 as text) into the same talkers', () => {
    const t = new TalkerTable(10);
    t.add(v6(7), 5, 1);
    t.restore({ keys: [0xc0000201, '2001:db8::7'], bytes: f64([10, 20]), packets: f64([1, 2]), flows: f64([1, 1]), rest: { bytes: 0, packets: 0, flows: 0 } });
    expect(t.top(10).top.map((s) => [s.talker, s.bytes])).toEqual([['2001:db8::7', 25], ['192.0.2.1', 10]]);
  });
});

describe('Aggregator checkpoint and resume', () => {
  /** What InfluxDB keeps: one point per measurement, tag set and time; a later write replaces it. */
  function store(into: Map<string, FlowRecord>, recs: readonly FlowRecord[]): void {
    for (const r of recs) into.set(`${r.measurement}|${JSON.stringify(Object.entries(r.tags).sort())}|${r.time}`, r);
  }
  const total = (m: Map<string, FlowRecord>, meas: string, by?: string): number =>
    [...m.values()].filter((r) => r.measurement === meas && (by === undefined || r.tags['by'] === by)).reduce((s, r) => s + Number(r.fields['bytes']), 0);

  it('a run that stops mid-interval and one that continues it store the sums of one run that saw everything (property)', () => {
    const rec = fc.record({ in_if: fc.nat(6), proto: fc.constantFrom(6, 17), src: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'), bytes: fc.nat(100_000), packets: fc.nat(100), rate: fc.integer({ min: 1, max: 10 }) });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b'), rec), { maxLength: 200 }), fc.nat(200), fc.integer({ min: 2, max: 8 }), fc.nat(3), (flows, cut, maxSeries, topN) => {
        const opts = { dimensions: ['exporter', 'in_if', 'proto'] as Dimension[], maxSeries, topN, topBy: ['src_addr' as const], maxTalkers: 4 };
        const first = new Aggregator(opts);
        const at = Math.min(cut, flows.length);
        for (const [e, f] of flows.slice(0, at)) first.add(keys(flow(e, f)));
        const db = new Map<string, FlowRecord>();
        store(db, first.flush(60_000, 'flow', true)); // SIGTERM: written, sums kept for the checkpoint
        const snap = JSON.parse(JSON.stringify(first.snapshot())) as ReturnType<Aggregator['snapshot']>;
        const second = new Aggregator(opts);
        second.restore(snap);
        for (const [e, f] of flows.slice(at)) second.add(keys(flow(e, f)));
        store(db, second.flush(60_000, 'flow'));

        const one = new Aggregator(opts);
        for (const [e, f] of flows) one.add(keys(flow(e, f)));
        const alone = new Map<string, FlowRecord>();
        store(alone, one.flush(60_000, 'flow'));
        const aggOf = (m: Map<string, FlowRecord>) => [...m.entries()].filter(([, r]) => r.measurement === 'flow_agg').map(([k, r]) => [k, r.fields]).sort();
        expect(aggOf(db)).toEqual(aggOf(alone));
        const want = flows.reduce((s, [, f]) => s + f.bytes * f.rate, 0);
        expect(total(db, 'flow_agg')).toBe(want);
        // talkers the first run wrote and the second ranks lower are written again, not left stale
        expect(total(db, 'flow_top', 'src_addr')).toBe(want);
      }),
      { numRuns: 300 },
    );
  });
});
