/**
 * The timestamps policy on generated export/receive times (real exporters under libfaketime:
 * test/flow-skew.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { makeRecord, type FlowRecord } from '../../src/record/record.js';
import { ExporterClocks, type TimeSource, type TimestampConfig } from './timestamps.js';

const cfg = (c: Partial<TimestampConfig> = {}): TimestampConfig => ({ default: 'auto', max_offset: 5000, exporters: {}, ...c });
const flow = (end: number): FlowRecord => makeRecord('flow', 'flow', { exporter: 'e' }, { start_ms: BigInt(end - 1000), end_ms: BigInt(end) }, end, 'exporter');

describe('ExporterClocks', () => {
  it('auto: re-anchors beyond max_offset, returns below half of it, and switches once each way', () => {
    const switches: [string, TimeSource, number][] = [];
    const c = new ExporterClocks(cfg(), 10, (e, s, o) => void switches.push([e, s, o]));
    let recv = 1_000_000;
    const send = (offset: number, n: number): void => {
      for (let i = 0; i < n; i++, recv += 100) c.observe('e', recv + offset + (i % 3), recv);
    };
    send(100, 40); // in sync within queuing
    expect(c.stats('e')).toMatchObject({ source: 'exporter', offsetMs: 101 }); // median of 100, 101, 102
    send(90_000, 40); // the exporter's clock steps 90 s ahead
    expect(c.stats('e')?.source).toBe('receive');
    send(4000, 40); // back under max_offset but not under half of it: hysteresis keeps receive
    expect(c.stats('e')?.source).toBe('receive');
    send(-1000, 40);
    expect(c.stats('e')?.source).toBe('exporter');
    expect(switches.map(([e, s]) => [e, s])).toEqual([['e', 'receive'], ['e', 'exporter']]);
    expect(switches[0]?.[2]).toBeGreaterThan(89_000);
  });

  it('stamp shifts start, end and time by the datagram\'s receive - export time and names the source', () => {
    const c = new ExporterClocks(cfg({ exporters: { e: 'receive' } }), 10, () => undefined);
    c.observe('e', 5_000_000 - 3_600_000, 5_000_000); // an hour behind
    const r = c.stamp(flow(5_000_000 - 3_600_000 - 2000), 'e');
    expect(r.fields).toMatchObject({ start_ms: 4_997_000n, end_ms: 4_998_000n, time_source: 'receive' });
    expect(r.time).toBe(4_998_000);
    expect(r.timeSource).toBe('collector');
    const x = new ExporterClocks(cfg({ default: 'exporter' }), 10, () => undefined);
    x.observe('e', 1_000_000 + 90_000, 1_000_000);
    expect(x.stamp(flow(1_090_000), 'e').fields).toMatchObject({ end_ms: 1_090_000n, time_source: 'exporter' });
  });

  it('reports delay quantiles and jitter over the last datagrams, and refines v9 whole seconds by uptime', () => {
    const c = new ExporterClocks(cfg(), 10, () => undefined);
    // 100 datagrams: 98 delayed 10 ms, 2 delayed 400 ms
    for (let i = 0; i < 100; i++) c.observe('e', 1000 * i, 1000 * i + (i % 50 === 49 ? 400 : 10));
    expect(c.stats('e')).toMatchObject({ delayP50Ms: 10, delayP99Ms: 400, jitterMs: 390, offsetMs: -10, samples: 100 });
    // exporter booted at 1_000_000.250 s of its clock; headers carry whole seconds and uptime
    const boot = 1_000_000_250;
    const err: number[] = [];
    for (let up = 100; up < 60_000; up += 1370) err.push(c.v9ExportMs('v9', Math.floor((boot + up) / 1000), up) - (boot + up));
    expect(Math.min(...err)).toBeGreaterThan(-1000); // never worse than the whole second
    expect(Math.max(...err)).toBeLessThanOrEqual(0); // never ahead of the true export time
    expect(Math.min(...err.slice(-20))).toBeGreaterThan(-50); // converged: the fractions seen cover the second
    // its clock stepped back an hour: learned again at once
    expect(c.v9ExportMs('v9', Math.floor((boot - 3_600_000 + 4000) / 1000), 4000)).toBeLessThanOrEqual(boot - 3_600_000 + 4000);
    expect(c.v9ExportMs('v9', Math.floor((boot - 3_600_000 + 4000) / 1000), 4000)).toBeGreaterThan(boot - 3_600_000 + 3000);
  });

  it('bounds the exporters tracked', () => {
    const c = new ExporterClocks(cfg(), 2, () => undefined);
    for (const e of ['a', 'b', 'c']) c.observe(e, 0, 10);
    expect([c.stats('a'), c.stats('b'), c.stats('c')].map((s) => s?.samples)).toEqual([1, 1, undefined]);
  });
});
