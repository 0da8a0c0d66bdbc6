/**
 * The status page's hour of history stays bounded whatever it is fed. Generated input (labelled as
 * such): StatusView snapshots with thousands of exporters and devices, and flow_top / interface
 * records over many intervals; the real path (App, softflowd, snmpd, Chromium) is
 * test/http-live-page.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { History, SPAN_MS } from '../src/http/history.js';
import { renderLive } from '../src/http/live.js';
import type { StatusView } from '../src/http/view.js';
import { makeRecord } from '../src/record/record.js';

function view(i: number, exporters: number, devices: number): StatusView {
  return {
    time: '',
    ready: true,
    verdict: { verdict: i % 50 < 5 ? 'untrusted' : 'ok', level: i % 50 < 5 ? 2 : 0, reasons: i % 50 < 5 ? ['loop_stall'] : [], since: '' },
    signals: {},
    monitor: { running: true, ticks: i },
    pipeline: { queueDepth: i % 7, queueCapacity: 100, queueHighWater: 7, droppedQueueFull: i, recordsOut: 0, batches: 0 } as StatusView['pipeline'],
    sinks: [],
    collectors: ['flow', 'snmp'],
    flow: {
      listeners: [],
      templates: undefined,
      exporters: Array.from({ length: exporters }, (_, e) => ({ exporter: `192.0.2.${e}`, datagrams: i * (e + 1), records: i * 10 * (e + 1), errors: {}, last_seen_ms: undefined, loss: { received: i, lost: 0 } })),
    },
    snmp: { shard: undefined, devices: Array.from({ length: devices }, (_, d) => ({ name: `sw${d}`, address: '', interval_ms: 1000, consecutive_failures: 0, overruns: 0, last_poll: { at: '', duration_ms: 1, values: 1, timeouts: 0, errors: 0, ok: (i + d) % 3 !== 0 } })) },
    snmptrap: null,
    interfaces: [],
  };
}

describe('History', () => {
  it('keeps one hour at its step, at most 16 exporters and 64 devices per point', () => {
    const h = new History(1000);
    expect(h.capacity).toBe(SPAN_MS / 1000);
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 5000; i++) h.sample(view(i, i === 4999 ? 3000 : 20, 500), t0 + i * 1000);
    const v = h.view(t0 + 4999 * 1000);
    expect(v.points.length).toBe(3600);
    expect(v.points[0]?.t).toBe(t0 + 1400 * 1000);
    expect(v.points.at(-1)?.t).toBe(t0 + 4999 * 1000);
    expect(Math.max(...v.points.map((p) => Object.keys(p.exporters).length))).toBe(16);
    expect(Math.max(...v.points.map((p) => Object.keys(p.devices).length))).toBe(64);
    // the busiest exporters are the ones kept
    expect(Object.keys(v.points.at(-1)?.exporters ?? {})).toContain('192.0.2.2999');
    // points older than an hour are not shown even if the ring still holds them
    expect(h.view(t0 + 4999 * 1000 + SPAN_MS).points.length).toBe(1);
  });

  it('keeps the talkers of the newest 3 intervals, 256 rows each, and SNMP rates with utilisation', () => {
    const h = new History(1000);
    for (let iv = 0; iv < 10; iv++) {
      for (let k = 0; k < 300; k++) h.observe(makeRecord('flow', 'flow_top', { by: 'src_addr', talker: `10.0.${iv}.${k}` }, { bytes: BigInt(k), packets: 1n }, iv * 60_000));
      h.observe(makeRecord('flow', 'flow_top', { by: 'src_addr', talker: 'other' }, { bytes: 1_000_000n }, iv * 60_000));
    }
    const v = h.view(10 * 60_000);
    expect(v.talkers?.at).toBe(9 * 60_000);
    expect(v.talkers?.rows.length).toBe(256);
    expect(v.talkers?.rows[0]).toEqual({ by: 'src_addr', talker: '10.0.9.255', bytes: 255, packets: 1 });
    expect((h as unknown as { talkers: Map<number, unknown> }).talkers.size).toBe(3);

    h.observe(makeRecord('interface', 'interface', { source: 'snmp', device: 'sw1', if_name: 'Gi0/1' }, { in_bps: 250_000_000, out_bps: 50_000_000, speed: 1_000_000_000n }, 0));
    h.observe(makeRecord('interface', 'interface', { source: 'sflow', device: 'sw1', if_name: 'Gi0/2' }, { in_octets: 5n }, 0));
    expect(h.view().interfaces).toEqual([{ device: 'sw1', ifName: 'Gi0/1', inBps: 250_000_000, outBps: 50_000_000, utilisation: 0.25 }]);
  });

  it('draws rates from neighbouring points and skips a counter that went down (a reload)', () => {
    const h = new History(1000);
    const t0 = 1_700_000_000_000;
    [100, 200, 50, 150].forEach((n, i) => {
      const v = view(1, 1, 0);
      (v.flow?.exporters[0] as { records: number }).records = n;
      h.sample(v, t0 + i * 1000);
    });
    const html = renderLive(h.view(t0 + 3000), t0 + 3000);
    const path = /<figure id="ingest"[\s\S]*?<path d="([^"]+)"/.exec(html)?.[1] ?? '';
    expect(path.match(/[ML]/g)?.length).toBe(2);
    expect(html).toContain('192.0.2.0: <strong>100</strong> rec/s now · 150 records since start');
  });
});
