/**
 * Raw `seq` counts handed over with a bus partition (rawseq.ts): the taker tags the flows of the
 * messages it decodes again exactly as the first owner did, and never gives a new flow the key of
 * an earlier point. Generated flow records (end times are the edge cases: bursts in one ms).
 */
import { describe, expect, it } from 'vitest';
import { makeRecord, type FlowRecord } from '../../src/record/record.js';
import { CARRY, RawSeq } from './rawseq.js';
import { ExporterClocks, type ClockState } from './timestamps.js';

const flow = (exporter: string, end: number): FlowRecord => makeRecord('flow', 'flow', { exporter, version: '9', domain: '0' }, { bytes: 1n }, end, 'exporter');
const T0 = 1_760_000_000_000;
/** Point keys (tags + time) of the flows ending at `ends`, stamped in order. */
const keys = (r: RawSeq, ends: number[], exporter = '192.0.2.1'): string[] =>
  ends.map((e) => {
    const f = flow(exporter, e);
    r.stamp(f);
    return `${f.tags.exporter} ${f.tags.seq ?? ''} ${f.time}`;
  });
const place = (e: string): number | undefined => (e === '192.0.2.1' ? 3 : undefined);
const bus = (): RawSeq => {
  const r = new RawSeq(T0 + 3_600_000); // started after these flows ended: a run tag without the bus
  r.onBus();
  return r;
};

describe('RawSeq handed over with a bus partition', () => {
  it('the taker repeats the first owner\'s tags for what it decodes again, and continues its counts', () => {
    const owner = bus();
    const before = keys(owner, [T0, T0, T0 + 1, T0]);
    expect(before.map((k) => k.split(' ')[1])).toEqual(['', '1', '', '2']); // no run tag on a bus
    const saved = owner.save(place, T0);
    expect([...saved.keys()]).toEqual([3]);
    const again = [T0, T0 + 1, T0 + 5, T0 + 5];
    const first = keys(owner, again); // written, then the owner dies uncommitted
    const taker = bus();
    for (const st of JSON.parse(JSON.stringify(saved.get(3))) as Parameters<RawSeq['restore']>[0][]) taker.restore(st);
    expect(keys(taker, again)).toEqual(first);
    expect(new Set([...before, ...first]).size).toBe(8);
    // an exporter of no partition is not saved; a forgotten stream starts afresh
    keys(taker, [T0], '192.0.2.9');
    expect(taker.save(place, T0).get(3)?.map((s) => s.key)).toEqual(['192.0.2.1|9|0']);
    taker.forget((e) => e === '192.0.2.1');
    expect(taker.save(place, T0).size).toBe(0);
  });

  it('past CARRY end times both owners cut alike; flows below the cut get keys no earlier point has', () => {
    const owner = bus();
    const ends = Array.from({ length: CARRY + 500 }, (_, i) => T0 + i);
    const before = keys(owner, [...ends, ...ends]); // every end twice: `seq` 1 on the second
    const saved = owner.save(place, T0 + 99);
    const st = saved.get(3)?.[0];
    expect(st?.ends.length).toBe(CARRY);
    expect(st?.floor).toBe(T0 + 500);
    expect(JSON.stringify(saved.get(3)).length).toBeLessThan(60_000); // well under NATS's 1 MiB payload
    const taker = bus();
    taker.restore(JSON.parse(JSON.stringify(st)) as Parameters<RawSeq['restore']>[0]);
    // late flows below the cut, flows above it, a new end
    const next = [T0, T0, T0 + 499, T0 + 500, T0 + CARRY + 499, T0 + CARRY + 500];
    const a = keys(owner, next);
    expect(keys(taker, next)).toEqual(a);
    expect(a.slice(0, 3).map((k) => k.split(' ')[1])).toEqual([`c${(T0 + 99).toString(36)}.0`, `c${(T0 + 99).toString(36)}.1`, `c${(T0 + 99).toString(36)}.0`]);
    expect(new Set([...before, ...a]).size).toBe(before.length + a.length);
  });
});

describe('ExporterClocks handed over with a bus partition', () => {
  const cfg = { default: 'auto' as const, max_offset: 5000, exporters: {} };
  /** A v9 datagram's export time (whole seconds + uptime) observed `late` ms after it, and a raw flow of it stamped. */
  const datagram = (c: ExporterClocks, uptime: number, late: number): number => {
    const secs = Math.floor((T0 + uptime) / 1000);
    // the exporter booted at T0: the true export time is T0 + uptime, the header has its whole seconds
    c.observe('192.0.2.1', c.v9ExportMs('192.0.2.1', secs, uptime), T0 + uptime + late);
    return c.stamp(flow('192.0.2.1', T0 + uptime - 10), '192.0.2.1').time;
  };

  it('the taker stamps the next datagram\'s flows as the first owner would (v9 boot instant, auto source)', () => {
    const owner = new ExporterClocks(cfg, 8, () => undefined);
    // 20 datagrams 9 s late at various fractions of a second: `auto` is on receive time, the boot instant refined
    for (let i = 0; i < 20; i++) datagram(owner, 100_000 + i * 370, 9000);
    const st = JSON.parse(JSON.stringify(owner.save('192.0.2.1'))) as ClockState;
    const taker = new ExporterClocks(cfg, 8, () => undefined);
    taker.restore('192.0.2.1', st);
    const fresh = new ExporterClocks(cfg, 8, () => undefined);
    const [a, b, c] = [owner, taker, fresh].map((x) => datagram(x, 110_370, 9000));
    expect(b).toBe(a);
    expect(c).not.toBe(a); // a processor that never saw the exporter estimates the boot instant anew
    owner.forget((e) => e === '192.0.2.1');
    expect(owner.save('192.0.2.1')).toBeUndefined();
  });
});
