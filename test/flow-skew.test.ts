/**
 * Exporters with a wrong clock (issue 20 item 2): real softflowd and pmacctd (nfprobe) under
 * libfaketime (+90 s, -1 h, and a clock running 2 % fast) export to a running flow collector. The
 * collector reports each exporter's clock offset with its delay quantiles, and the `timestamps`
 * policy decides from them which clock flow times are read on.
 *
 * What libfaketime fakes is the exporters' clock, which their export headers carry; softflowd and
 * nfprobe read the flows' own times from the capture (packet timestamps), which stay true. So a
 * re-anchored flow here is moved by -offset away from the capture's time: the test checks that
 * shift exactly (end - receive = end - export), and that the exporter's own clock is kept when the
 * policy or an override says so.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowCollector } from '../collectors/flow/collector.js';
import { flowCollector } from '../collectors/flow/index.js';
import type { FlowRecord, HealthRecord } from '../src/record/record.js';
import { makeTestCtx, type TestCtx } from './helpers/flow-ctx.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { makeTraffic, writePcap } from './helpers/pcap.js';
import { liveSkewedSoftflowd, skewedNfprobe, skewedSoftflowd } from './helpers/skewed.js';

const FLOWS = 40;
const E = '127.0.0.1';
let tmp: { dir: string; cleanup: () => Promise<void> };
let pcapFile: string;
/** Capture time of each flow's last packet, by source port (one flow per port). */
const lastPacket = new Map<number, number>();

beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-skew-');
  const traffic = makeTraffic(FLOWS, Math.floor(Date.now() / 1000) - 120).map((p) => ({ ...p, ts: Math.round(p.ts * 1000) / 1000 }));
  for (const p of traffic) lastPacket.set(p.srcPort, Math.max(lastPacket.get(p.srcPort) ?? 0, Math.round(p.ts * 1000)));
  pcapFile = join(tmp.dir, 'traffic.pcap');
  writeFileSync(pcapFile, writePcap(traffic));
});
afterAll(async () => tmp?.cleanup());

interface Run {
  t: TestCtx;
  c: FlowCollector;
  logs: { msg: string; exporter?: string; time_source?: string; offset_ms?: number }[];
}

async function collector(name: string, timestamps: unknown): Promise<Run & { port: number }> {
  const port = await freeUdpPort();
  mkdirSync(join(tmp.dir, name), { recursive: true });
  const t = makeTestCtx(join(tmp.dir, name));
  const logs: Run['logs'] = [];
  t.ctx.log = pino({ level: 'warn' }, { write: (s: string) => void logs.push(JSON.parse(s) as Run['logs'][number]) });
  const cfg = { listen: [{ address: E, port }], raw: true, interval: '1h', stats_interval: '1h', receive_buffer: '1MiB', timestamps };
  const c = flowCollector.create(flowCollector.configSchema.parse(cfg), t.ctx) as FlowCollector;
  await c.start();
  return { t, c, logs, port };
}

const flows = (t: TestCtx): FlowRecord[] => t.records.filter((r): r is FlowRecord => r.measurement === 'flow');
const stats = (t: TestCtx): HealthRecord | undefined =>
  t.records.filter((r): r is HealthRecord => r.measurement === 'flow_stats' && r.tags['exporter'] === E).at(-1);
const switches = (r: Run): Run['logs'] => r.logs.filter((l) => l.exporter === E && l.time_source !== undefined);

/** Re-anchored flow ends against the capture: moved by -offset (receive time - export time). */
function expectShifted(fs: FlowRecord[], offsetMs: number, slackMs: number): void {
  for (const f of fs) {
    const truth = lastPacket.get(Number(f.fields['src_port'])) as number;
    expect(f.fields['time_source']).toBe('receive');
    expect(Math.abs(Number(f.fields['end_ms']) - (truth - offsetMs)), `end_ms ${String(f.fields['end_ms'])} vs ${truth} - ${offsetMs}`).toBeLessThan(slackMs);
    expect(f.time).toBe(Number(f.fields['end_ms']));
  }
}

describe.each([
  // exporter, version, FAKETIME, offset, how close the offset is measured (export time resolution)
  ['softflowd', '5', '+90s', 90_000, 300],
  ['softflowd', '9', '+90s', 90_000, 1300],
  ['softflowd', '10', '-1h', -3_600_000, 800],
  ['nfprobe', '9', '-1h', -3_600_000, 1300],
  ['nfprobe', '10', '+90s', 90_000, 800],
] as const)('%s NetFlow %s under FAKETIME=%s', (exporter, version, spec, offset, tol) => {
  it('reports the offset and its jitter and re-anchors flow times on receive time (auto), once logged', async () => {
    const r = await collector(`${exporter}-${version}`, { default: 'auto', max_offset: '5s' });
    try {
      const out = exporter === 'softflowd' ? await skewedSoftflowd(spec, pcapFile, version, r.port, tmp.dir) : await skewedNfprobe(spec, pcapFile, version as '9' | '10', r.port, tmp.dir);
      await waitFor(`${FLOWS} flows (${exporter} said: ${out.slice(-300)})`, () => flows(r.t).length >= FLOWS, 10_000);
    } finally {
      await r.c.stop();
    }
    expect(r.t.errors).toEqual([]);
    const cs = r.c.processor.clocks.stats(E);
    expect(cs?.source).toBe('receive');
    expect(Math.abs((cs?.offsetMs ?? NaN) - offset), JSON.stringify(cs)).toBeLessThan(tol);
    // loopback under load: the queuing the jitter measures stays well under a second
    expect(cs?.jitterMs).toBeLessThan(1000);
    expect(flows(r.t)).toHaveLength(FLOWS);
    expectShifted(flows(r.t), offset, tol + 500);
    expect(switches(r)).toHaveLength(1);
    expect(switches(r)[0]).toMatchObject({ time_source: 'receive' });
    expect(Math.abs((switches(r)[0]?.offset_ms ?? NaN) - offset)).toBeLessThan(tol);
    expect(stats(r.t)?.fields).toMatchObject({ time_source: 'receive', seq_lost: 0n, seq_reordered: 0n, seq_duplicated: 0n });
    expect(Math.abs(Number(stats(r.t)?.fields['clock_offset_p50_ms']) - offset)).toBeLessThan(tol);
    expect(stats(r.t)?.fields['delay_p99_ms']).toBeGreaterThanOrEqual(stats(r.t)?.fields['delay_p50_ms'] as number);
  });
});

describe('timestamps policy with an exporter 90 s ahead (softflowd v9)', () => {
  it('exporter (per-exporter override of auto): flow times stay as exported, nothing switches', async () => {
    const r = await collector('override', { default: 'auto', exporters: { [E]: 'exporter' } });
    try {
      await skewedSoftflowd('+90s', pcapFile, '9', r.port, tmp.dir);
      await waitFor('flows', () => flows(r.t).length >= FLOWS, 10_000);
    } finally {
      await r.c.stop();
    }
    expect(r.c.processor.clocks.stats(E)?.offsetMs).toBeGreaterThan(88_000);
    for (const f of flows(r.t)) {
      expect(f.fields['time_source']).toBe('exporter');
      // the capture's times, read against a header of whole seconds: within one second below
      const d = (lastPacket.get(Number(f.fields['src_port'])) as number) - Number(f.fields['end_ms']);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(1000);
    }
    expect(switches(r)).toEqual([]);
  });

  it('auto with a max_offset above the offset keeps the exporter\'s clock', async () => {
    const r = await collector('wide', { max_offset: '2m' });
    try {
      await skewedSoftflowd('+90s', pcapFile, '9', r.port, tmp.dir);
      await waitFor('flows', () => flows(r.t).length >= FLOWS, 10_000);
    } finally {
      await r.c.stop();
    }
    expect(flows(r.t).every((f) => f.fields['time_source'] === 'exporter')).toBe(true);
    expect(switches(r)).toEqual([]);
  });
});

describe('an exporter clock running 2 % fast (live softflowd on lo, FAKETIME="+0 x1.02")', () => {
  it('shows the offset growing and switches to receive time once it passes max_offset', async () => {
    const trafficPort = await freeUdpPort();
    const r = await collector('drift', { default: 'auto', max_offset: '250ms' });
    const seen: number[] = [];
    const at: number[] = [];
    const keep = r.c.processor.clocks.observe.bind(r.c.processor.clocks);
    // observe each datagram's export - receive as it comes (the stats keep only quantiles)
    r.c.processor.clocks.observe = (e, exportMs, recvMs) => {
      seen.push(exportMs - recvMs);
      at.push(recvMs);
      keep(e, exportMs, recvMs);
    };
    let out = '';
    try {
      out = await liveSkewedSoftflowd('+0 x1.02', r.port, trafficPort, 20_000, tmp.dir);
    } finally {
      await r.c.stop();
    }
    const msg = `${JSON.stringify(seen)} at ${JSON.stringify(at)}; softflowd said: ${out.slice(-300)}`;
    // softflowd exports every ~7 s: its first export is ~150 ms ahead, its last (at stop) ~400 ms
    expect(seen.length, msg).toBeGreaterThanOrEqual(2);
    const slope = ((seen.at(-1) as number) - (seen[0] as number)) / ((at.at(-1) as number) - (at[0] as number));
    expect(slope, msg).toBeGreaterThan(0.012);
    expect(slope, msg).toBeLessThan(0.028);
    expect(seen[0], msg).toBeLessThan(250);
    expect(seen.at(-1), msg).toBeGreaterThan(250);
    expect(switches(r).map((l) => l.time_source)).toEqual(['receive']);
    expect(r.c.processor.clocks.stats(E)?.source).toBe('receive');
  }, 45_000);
});
