/**
 * What collectors report through HostSignals, over a recorded snapshot root that does not change
 * between samples (so the host side is quiet and only the reported signals can move the verdict).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { createMonitor, monitorConfigSchema } from '../src/monitor/index.js';
import type { NetRecord } from '../src/record/record.js';
import { parseChronyTracking, readSyncState } from '../src/monitor/timesync.js';
import { HostFs } from '../src/monitor/hostfs.js';

const ROOT = join(import.meta.dirname, 'fixtures/monitor/kvm');

function make(cfg: Record<string, unknown> = {}) {
  const records: NetRecord[] = [];
  const m = createMonitor(monitorConfigSchema.parse(cfg), { emit: (r) => records.push(r), log: createLogger('silent'), root: ROOT });
  m.tick(); // baseline
  records.length = 0;
  return { m, records, of: (name: string) => records.filter((r) => r.measurement === name) };
}

describe('signals reported by collectors', () => {
  it('a quiet snapshot and no reports keep the verdict ok, with host fields present', () => {
    const h = make();
    h.m.tick();
    h.m.tick();
    expect(h.of('vm_verdict')).toEqual([]);
    const host = h.of('vm_host')[1]!;
    expect(host.fields).toMatchObject({ steal_pct: 0, swap_in_pages: 0n, socket_drops: 0n, verdict: 'ok', reasons: '' });
    expect(host.tags.clocksource).toBe('tsc');
  });

  it('exporter clock offsets: per-exporter records, and our clock is suspect when exporters agree', () => {
    const h = make();
    for (const off of [5100, 4900, 5000]) h.m.exporterClockOffset('10.0.0.1', off);
    h.m.tick();
    // One exporter alone says more about that exporter than about us.
    expect(h.m.current().verdict).toBe('ok');
    expect(h.of('vm_exporter_clock')[0]).toMatchObject({
      tags: { exporter: '10.0.0.1' },
      fields: { offset_ms: 5000, offset_min_ms: 4900, offset_max_ms: 5100, samples: 3n },
    });
    h.m.exporterClockOffset('10.0.0.1', 5000);
    h.m.exporterClockOffset('10.0.0.2', 4800);
    h.m.exporterClockOffset('10.0.0.3', -200);
    h.m.tick();
    expect(h.of('vm_host').at(-1)?.fields.exporter_offset_ms).toBe(4800);
    expect(h.m.current()).toMatchObject({ verdict: 'degraded', reasons: ['clock_offset'] });
    expect(h.of('vm_exporter_clock')).toHaveLength(4);
  });

  it('tracks at most max_exporters per interval', () => {
    const h = make({ max_exporters: 3 });
    for (let i = 0; i < 10; i++) h.m.exporterClockOffset(`e${i}`, 10);
    h.m.tick();
    expect(h.of('vm_exporter_clock')).toHaveLength(3);
    expect((h.m.status() as { exporters_refused: number }).exporters_refused).toBe(7);
  });

  it('SNMP timeout rate: degraded above 20 %, untrusted above 80 %, silent below the minimum count', () => {
    const h = make({ recover_after: 0 });
    for (let i = 0; i < 4; i++) h.m.snmpRequest('timeout');
    h.m.tick();
    expect(h.m.current().verdict).toBe('ok');
    for (let i = 0; i < 10; i++) h.m.snmpRequest(i < 3 ? 'timeout' : i < 4 ? 'error' : 'ok');
    h.m.tick();
    expect(h.m.current()).toMatchObject({ verdict: 'degraded', reasons: ['snmp_timeouts>20%'] });
    expect(h.of('vm_host').at(-1)?.fields).toMatchObject({ snmp_requests: 10n, snmp_timeouts: 3n });
    for (let i = 0; i < 10; i++) h.m.snmpRequest(i < 9 ? 'timeout' : 'ok');
    h.m.tick();
    expect(h.m.current()).toMatchObject({ verdict: 'untrusted', reasons: ['snmp_timeouts>80%'] });
    const changes = h.of('vm_verdict').map((r) => `${String(r.fields.previous)}->${String(r.fields.verdict)}`);
    expect(changes).toEqual(['ok->degraded', 'degraded->untrusted']);
  });

  it('status() is plain JSON with the verdict, the watched sockets and the last sample', () => {
    const h = make();
    h.m.udpSocket('netflow', 'udp6', 2055);
    h.m.tick();
    const s = JSON.parse(JSON.stringify(h.m.status())) as Record<string, unknown>;
    expect(s).toMatchObject({ verdict: 'ok', clocksource: 'tsc', sockets: [{ family: 'udp6', port: 2055, collector: 'netflow' }] });
    expect((s.last_sample as Record<string, unknown>).steal_pct).toBe(0);
  });

  it('reads clock sync state from chrony output and timesyncd files', async () => {
    const ok = '7F7F0101,LOCAL,10,1764064800.123456789,0.000012345,-0.000001000,0.000020000,-3.141,0.001,0.050,0.000000000,0.000010000,64.0,Normal';
    // chrony's "system time" is the correction still to apply: +12.345 µs means the clock is behind
    expect(parseChronyTracking(ok)).toEqual({ synced: true, detail: 'chrony leap status Normal, system time 0.012 ms slow of NTP time', offsetMs: -0.012345, stratum: 10, reference: 'LOCAL' });
    const bad = ok.replace('Normal', 'Not synchronised');
    expect(parseChronyTracking(bad)?.synced).toBe(false);
    expect(parseChronyTracking('506 Cannot talk to daemon')).toBeUndefined();
    // Snapshot trees never run commands: files only.
    expect(await readSyncState(new HostFs(join(import.meta.dirname, 'fixtures/monitor/container')), { timeoutMs: 500 })).toMatchObject({ source: 'timesyncd', synced: true });
    expect(await readSyncState(new HostFs(ROOT), { timeoutMs: 500 })).toMatchObject({ source: 'unknown' });
  });
});
