import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { InterfaceTable } from '../enrich/interfaces.js';
import { makeRecord, type HealthRecord } from '../record/record.js';
import { likelyCause } from './cause.js';
import { xcheckSchema } from './config.js';
import { CounterHistory } from './counters.js';
import { CrossCheck } from './xcheck.js';

/**
 * Generated input: SNMP polls every 5 s of an interface moving 1 MB/s in and 0.5 MB/s out, and flow
 * intervals of 10 s whose volumes are the SNMP ones times the given factors.
 */
function run(windows: { fin: number; fout: number; drops?: number; unknown?: number; rate?: number }[], opts: { silentAfter?: number } = {}) {
  const dir = new InterfaceTable();
  dir.update('r1', ['192.0.2.1'], 'snmp', [{ ifIndex: 2, name: 'eth0' }]);
  const out: HealthRecord[] = [];
  const x = new CrossCheck(xcheckSchema.parse({ intervals: 3 }), dir, (r) => out.push(r), pino({ level: 'silent' }));
  const t0 = 1_800_000_000_000;
  const poll = (t: number) => x.observe(makeRecord('interface', 'interface', { device: 'r1', agent: '192.0.2.1', if_index: '2', source: 'snmp' }, { in_octets: BigInt(1_000_000 * (t - t0) / 1000 + 5e9), out_octets: BigInt(500_000 * (t - t0) / 1000) }, t, 'collector'));
  poll(t0);
  windows.forEach((w, i) => {
    const start = t0 + 1000 + i * 10_000;
    if (opts.silentAfter === undefined || i < opts.silentAfter) {
      x.observe(makeRecord('health', 'flow_if', { collector: 'flow', exporter: '192.0.2.1', if_index: '2' }, { in_bytes: BigInt(Math.round(w.fin * 1e7)), out_bytes: BigInt(Math.round(w.fout * 5e6)), window_ms: 10_000n, sampling_rate: w.rate ?? 100, loss_ratio: 0, socket_drops: w.drops ?? 0, sampling_unknown_flows: BigInt(w.unknown ?? 0) }, start, 'collector'));
    }
    poll(start + 4000);
    poll(start + 9000);
    poll(start + 14_000);
  });
  return { x, out };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('flow vs SNMP cross-check', () => {
  it('interpolates SNMP counters over the flow window and writes the ratio per direction', async () => {
    const { x, out } = run([{ fin: 1, fout: 1 }, { fin: 1.02, fout: 0.98 }]);
    await flush();
    const recs = out.filter((r) => r.measurement === 'xcheck');
    expect(recs).toHaveLength(2);
    expect(recs[0]?.fields).toMatchObject({ snmp_in_octets: 10_000_000n, snmp_out_octets: 5_000_000n, flow_in_bytes: 10_000_000n, ratio_in: 1, ratio_out: 1, window_s: 10 });
    expect(recs[1]?.fields.ratio_in).toBeCloseTo(1.02, 9);
    expect(x.findings()).toEqual([]);
  });

  it('a steady ratio near a power of ten is a sampling rate, raised after N windows and cleared after N good ones', async () => {
    const { x, out } = run([...Array(3).fill({ fin: 0.1, fout: 0.1 }), ...Array(3).fill({ fin: 1, fout: 1 })]);
    await flush();
    const f = out.filter((r) => r.measurement === 'xcheck_finding');
    expect(f.map((r) => [r.tags.direction, r.tags.cause, r.fields.active])).toEqual([
      ['in', 'sampling_rate', true], ['out', 'sampling_rate', true], ['in', 'sampling_rate', false], ['out', 'sampling_rate', false],
    ]);
    expect(x.findings()).toEqual([]);
  });

  it('names one-direction export, collector drops, missing rates and a silent exporter', async () => {
    const a = run(Array(3).fill({ fin: 1, fout: 0 }));
    expect(a.x.findings().map((f) => [f.direction, f.cause])).toEqual([['out', 'one_direction']]);
    const b = run(Array(3).fill({ fin: 0.6, fout: 0.55, drops: 40 }));
    expect(b.x.findings().map((f) => f.cause)).toEqual(['collector_drops', 'collector_drops']);
    const c = run(Array(3).fill({ fin: 0.01, fout: 0.01, unknown: 5, rate: 1 }));
    expect(c.x.findings().map((f) => f.cause)).toEqual(['sampling_missing', 'sampling_missing']);
    const d = run(Array(8).fill({ fin: 1, fout: 1 }), { silentAfter: 2 });
    expect(d.x.findings().map((f) => [f.direction, f.cause])).toEqual([['both', 'exporter_missing']]);
  });

  it('an interface quiet for an hour is forgotten and its open finding cleared; a busy one is kept', async () => {
    const dir = new InterfaceTable();
    dir.update('r1', ['192.0.2.1'], 'snmp', [{ ifIndex: 2, name: 'eth0' }, { ifIndex: 3, name: 'eth1' }]);
    const out: HealthRecord[] = [];
    let mono = 0;
    const x = new CrossCheck(xcheckSchema.parse({ intervals: 3 }), dir, (r) => out.push(r), pino({ level: 'silent' }), () => mono);
    const t0 = 1_800_000_000_000;
    const poll = (ifIndex: string, t: number) => x.observe(makeRecord('interface', 'interface', { device: 'r1', if_index: ifIndex, source: 'snmp' }, { in_octets: BigInt(1_000_000 * (t - t0) / 1000), out_octets: BigInt(500_000 * (t - t0) / 1000) }, t, 'collector'));
    const flowIf = (t: number) => x.observe(makeRecord('health', 'flow_if', { exporter: '192.0.2.1', if_index: '2' }, { in_bytes: 1_000_000n, out_bytes: 500_000n, window_ms: 10_000n, sampling_rate: 1, loss_ratio: 0, socket_drops: 0, sampling_unknown_flows: 0n }, t, 'collector'));
    // ifIndex 2: flows cover a tenth of what SNMP counts -> a sampling_rate finding per direction
    poll('2', t0);
    for (let i = 0; i < 3; i++) {
      flowIf(t0 + 1000 + i * 10_000);
      poll('2', t0 + 12_000 + i * 10_000);
    }
    poll('3', t0);
    expect(x.findings().map((f) => f.cause)).toEqual(['sampling_rate', 'sampling_rate']);
    // an hour on: ifIndex 3 is polled now and then, ifIndex 2 never again
    for (let m = 1; m <= 61; m++) {
      mono = m * 60_000;
      poll('3', t0 + mono);
    }
    await flush();
    expect(x.findings()).toEqual([]);
    expect(x.forgotten).toBe(1);
    expect((x.status() as { interfaces: number }).interfaces).toBe(1);
    expect(out.filter((r) => r.measurement === 'xcheck_finding').map((r) => [r.tags.if_index, r.fields.active])).toEqual([['2', true], ['2', true], ['2', false], ['2', false]]);
  });

  it('on a bus, an exporter whose partition moved away is released: its findings cleared, no exporter_missing for it', async () => {
    // generated input: counters as a poller on the bus shares them (counters()), flows at a tenth of SNMP
    const dir = new InterfaceTable();
    dir.update('r1', ['192.0.2.1'], 'snmp', [{ ifIndex: 2, name: 'eth0' }]);
    const out: HealthRecord[] = [];
    const x = new CrossCheck(xcheckSchema.parse({ intervals: 3 }), dir, (r) => out.push(r), pino({ level: 'silent' }));
    let mine = true;
    x.restrict((e) => e === '192.0.2.1' && mine);
    const t0 = 1_800_000_000_000;
    const poll = (t: number) => x.counters('r1', '2', t, 1_000_000 * (t - t0) / 1000, 500_000 * (t - t0) / 1000);
    poll(t0);
    for (let i = 0; i < 3; i++) {
      x.observe(makeRecord('health', 'flow_if', { exporter: '192.0.2.1', if_index: '2' }, { in_bytes: 1_000_000n, out_bytes: 500_000n, window_ms: 10_000n, sampling_rate: 1, loss_ratio: 0, socket_drops: 0, sampling_unknown_flows: 0n }, t0 + 1000 + i * 10_000, 'collector'));
      poll(t0 + 12_000 + i * 10_000);
    }
    expect(x.findings().map((f) => f.cause)).toEqual(['sampling_rate', 'sampling_rate']);
    // the partition moves: no more flows here, SNMP goes on; without the release this raises exporter_missing
    mine = false;
    for (let i = 3; i < 12; i++) poll(t0 + 12_000 + i * 10_000);
    await flush();
    expect(x.findings()).toEqual([]);
    expect(x.released).toBe(1);
    const f = out.filter((r) => r.measurement === 'xcheck_finding');
    expect(f.map((r) => [r.tags.cause, r.fields.active])).toEqual([['sampling_rate', true], ['sampling_rate', true], ['sampling_rate', false], ['sampling_rate', false]]);
  });

  it('unknown exporters are counted, not judged', () => {
    const dir = new InterfaceTable();
    const x = new CrossCheck(xcheckSchema.parse({}), dir, () => {}, pino({ level: 'silent' }));
    x.observe(makeRecord('health', 'flow_if', { exporter: '198.51.100.1', if_index: '1' }, { in_bytes: 1n, window_ms: 1000n }, 0, 'collector'));
    expect(x.unmapped).toBe(1);
  });
});

describe('cause and counters', () => {
  it('a steady ratio near 1/rate reads as unscaled volumes; a noisy one is unexplained', () => {
    const j = (ratio: number) => ({ ratio, other: ratio, socketDrops: 0, unknownFlows: 0, samplingRate: 64 });
    expect(likelyCause([j(1 / 64), j(1 / 60), j(1 / 66)], 0.8, 1.25).cause).toBe('sampling_rate');
    expect(likelyCause([j(0.3), j(0.6), j(0.45)], 0.8, 1.25).cause).toBe('unexplained');
  });

  it('a counter that goes back starts the history afresh', () => {
    const h = new CounterHistory();
    h.add({ t: 0, in: 100, out: 0 });
    h.add({ t: 10, in: 200, out: 0 });
    expect(h.delta(2, 7)?.in).toBeCloseTo(50);
    h.add({ t: 20, in: 5, out: 0 });
    expect(h.delta(12, 18)).toBeUndefined();
  });
});
