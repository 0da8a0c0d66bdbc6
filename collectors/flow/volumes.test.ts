import { describe, expect, it } from 'vitest';
import { FlowView } from './view.js';
import { combineLoss, corrected, correctAggregate, LossWindow } from './loss-ratio.js';
import { RateSource } from './sampling.js';
import { IntervalVolumes } from './volumes.js';
import { LossTracker } from './loss.js';
import { Numbering } from './numbering.js';
import { makeRecord } from '../../src/record/record.js';

function flow(exporter: string, inIf: number, outIf: number, bytes: number, rate: number): FlowView {
  const k = new FlowView();
  k.exporter = exporter;
  k.inIf = inIf;
  k.outIf = outIf;
  k.bytes = bytes;
  k.packets = 1;
  k.rate = rate;
  return k;
}

describe('per-interval volumes (generated flows)', () => {
  it('sums scaled bytes per exporter and per interface direction, and counts unknown rates', () => {
    const v = new IntervalVolumes();
    v.add(flow('10.0.0.1', 2, 3, 100, 10), RateSource.Exporter);
    v.add(flow('10.0.0.1', 3, 2, 50, 10), RateSource.Exporter);
    v.add(flow('10.0.0.1', 2, 0, 7, 1), RateSource.Unknown);
    const recs = v.flush(60_000, 60_000, 120_000, 'flow', new Map());
    const vol = recs.find((r) => r.measurement === 'flow_volume');
    expect(vol?.fields).toMatchObject({ bytes: 1507n, flows: 3n, sampling_unknown_flows: 1n, loss_ratio: 0, bytes_corrected: 1507n });
    const if2 = recs.find((r) => r.measurement === 'flow_if' && r.tags.if_index === '2');
    expect(if2?.fields).toMatchObject({ in_bytes: 1007n, out_bytes: 500n, in_flows: 2n, out_flows: 1n, sampling_unknown_flows: 1n });
    expect(if2?.fields.sampling_rate).toBeCloseTo(1507 / 157, 9);
    // ifIndex 0 is no interface
    expect(recs.some((r) => r.tags.if_index === '0')).toBe(false);
    expect(v.flush(120_000, 120_000, 180_000, 'flow', new Map())).toEqual([]);
  });

  it('tallies taken in parts (workers, twice per interval) and merged flush like one tally of every flow', () => {
    const whole = new IntervalVolumes();
    const main = new IntervalVolumes();
    const parts = [new IntervalVolumes(), new IntervalVolumes()];
    let seed = 7;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let i = 0; i < 2000; i++) {
      const e = rnd(4);
      const k = flow(`10.0.0.${e}`, rnd(5), rnd(5), 1 + rnd(1500), 1 + rnd(3));
      const src = rnd(5) as RateSource;
      whole.add(k, src);
      (parts[e % 2] as IntervalVolumes).add(k, src); // an exporter is in one worker
      if (i === 1000) for (const p of parts) main.merge(p.take());
    }
    for (const p of parts) main.merge(p.take());
    const rows = (v: IntervalVolumes): string[] => v.flush(0, 0, 1000, 'flow', new Map()).map((r) => `${JSON.stringify(r.tags)} ${JSON.stringify(r.fields, (_, x: unknown) => (typeof x === 'bigint' ? String(x) : x))}`).sort();
    const want = rows(whole);
    expect(want.length).toBeGreaterThan(4);
    expect(rows(main)).toEqual(want);
  });

  it('writes the loss ratio and corrected volumes next to the measured ones', () => {
    const v = new IntervalVolumes();
    v.add(flow('10.0.0.1', 2, 3, 900, 1), RateSource.Exporter);
    const loss = new Map([['10.0.0.1', combineLoss(90, 10, 9, 0)]]);
    const recs = v.flush(0, 0, 1000, 'flow', loss);
    expect(recs[0]?.fields).toMatchObject({ bytes: 900n, bytes_corrected: 1000n, loss_ratio: 0.1, seq_lost: 10n });
    expect(recs[1]?.fields).toMatchObject({ in_bytes: 900n, in_bytes_corrected: 1000n });
    const agg = makeRecord('flow', 'flow_agg', { collector: 'flow', exporter: '10.0.0.1' }, { bytes: 900n, packets: 9n, flows: 1n }, 0, 'collector');
    correctAggregate(agg, loss);
    expect(agg.fields).toMatchObject({ bytes: 900n, bytes_corrected: 1000n, packets_corrected: 10n, loss_ratio: 0.1 });
  });
});

describe('loss ratio', () => {
  it('takes the larger of sequence loss and the socket-drop share (gaps already hold our drops)', () => {
    expect(combineLoss(80, 20, 10, 0).ratio).toBeCloseTo(0.2);
    expect(combineLoss(100, 0, 8, 2).ratio).toBeCloseTo(0.2);
    expect(combineLoss(80, 20, 8, 2).ratio).toBeCloseTo(0.2);
    expect(corrected(800, 0.2)).toBe(1000);
    expect(corrected(800, 0.95)).toBe(800);
  });

  it('shares an interval socket drops out by datagrams received', () => {
    const w = new LossWindow();
    w.next(new Map(), new Map([['a', 10], ['b', 10]]), 5);
    const l = w.next(new Map([['a', { received: 30, lost: 0 }]]), new Map([['a', 40], ['b', 20]]), 25);
    expect(l.get('a')?.socketDrops).toBeCloseTo(15);
    expect(l.get('b')?.socketDrops).toBeCloseTo(5);
    // a's drops in its sequence units (30 units over 40 datagrams); b has no sequence numbers
    expect(l.get('a')?.ratio).toBeCloseTo(11.25 / 41.25);
    expect(l.get('b')?.ratio).toBeCloseTo(5 / 15);
  });

  it('a gap that shows an interval after our drops is not counted twice; gaps beyond our drops are network loss', () => {
    const w = new LossWindow();
    w.next(new Map([['a', { received: 100, lost: 0 }]]), new Map([['a', 100]]), 0);
    // our socket dropped 10 datagrams; the sequence numbers do not show it yet
    const one = w.next(new Map([['a', { received: 190, lost: 0 }]]), new Map([['a', 190]]), 10);
    expect(one.get('a')?.ratio).toBeCloseTo(10 / 100);
    // now the gap of those 10 shows, plus 5 lost on the network
    const two = w.next(new Map([['a', { received: 285, lost: 15 }]]), new Map([['a', 285]]), 10);
    expect(two.get('a')?.ratio).toBeCloseTo(5 / 100);
  });

  it('an exporter numbering flow records: the gaps are the records lost, whatever our drops were in datagrams', () => {
    const w = new LossWindow();
    w.next(new Map([['a', { received: 300, lost: 0, records: true }]]), new Map([['a', 100]]), 0);
    // 10 datagrams dropped by our socket; they carried 12 records (small ones), not 10 x 3 = 30
    const one = w.next(new Map([['a', { received: 570, lost: 12, records: true }]]), new Map([['a', 190]]), 10);
    expect(one.get('a')?.ratio).toBeCloseTo(12 / 282);
    expect(one.get('a')?.socketDrops).toBeCloseTo(10);
    // a gap found an interval late counts in that interval, once
    const two = w.next(new Map([['a', { received: 870, lost: 20, records: true }]]), new Map([['a', 290]]), 10);
    expect(two.get('a')?.ratio).toBeCloseTo(8 / 308);
    const three = w.next(new Map([['a', { received: 1170, lost: 20, records: true }]]), new Map([['a', 390]]), 10);
    expect(three.get('a')?.ratio).toBe(0);
  });
});

describe('sequence units per exporter', () => {
  it('says when an exporter numbers flow records (v5; v9/IPFIX learned so), not datagrams (v9 packets, sFlow)', () => {
    const t = new LossTracker();
    for (let i = 0; i < 3; i++) t.observe('v5', '5', 0, i * 30, 30);
    for (let i = 0; i < 3; i++) t.observe('sf', 'sflow', '1', i, 1);
    for (let i = 0; i < 12; i++) t.observeMessage('ipfix', '10', 1, { seq: i * 20, records: 20, flows: 20, uptimeMs: -1 }, Numbering.Records);
    for (let i = 0; i < 12; i++) t.observeMessage('v9', '9', 1, { seq: i, records: 20, flows: 20, uptimeMs: i * 10 }, Numbering.Messages);
    const totals = t.exporterTotals();
    expect(totals.get('v5')).toEqual({ received: 90, lost: 0, records: true });
    expect(totals.get('ipfix')).toEqual({ received: 240, lost: 0, records: true });
    expect(totals.get('v9')).toEqual({ received: 12, lost: 0 });
    expect(totals.get('sf')).toEqual({ received: 3, lost: 0 });
  });
});
