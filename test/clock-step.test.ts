/**
 * Real wall-clock steps under a running collector: `netvigil run` runs under libfaketime
 * (LD_PRELOAD, offset re-read from a file; FAKETIME_DONT_FAKE_MONOTONIC=1 so only CLOCK_REALTIME
 * moves), while softflowd exports flows and snmpd answers polls, both on the true clock. The wall
 * clock is stepped forward and back by 2 s, 30 s and 1 h. Every step must be reported with size
 * and direction, records around it must say so, record times and aggregation labels must stay on
 * the true time line (no label written twice, none skipped), and SNMP rates must not notice.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './helpers/cli.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { writePcap, type PacketSpec } from './helpers/pcap.js';
import { startDaemon, type Daemon } from './helpers/proc.js';
import { runSoftflowd } from './helpers/softflowd.js';
import { startSnmpd, type Snmpd } from './helpers/snmpd.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const INTERVAL_MS = 2000;
/** Offsets of the collector's wall clock from the true one, in order: steps of +2 s, +30 s, -30 s, +1 h, -1 h, -2 s. */
const OFFSETS_S = [2, 32, 2, 3602, 2, 0];
const STEPS_MS = OFFSETS_S.map((o, i) => (o - (OFFSETS_S[i - 1] ?? 0)) * 1000);
const PACKETS = 3;
const PAYLOAD = 100;
/** softflowd's v5 octets count the IP datagram: 20 (IPv4) + 8 (UDP) + payload. */
const FLOW_BYTES = PACKETS * (20 + 8 + PAYLOAD);

let tmp: { dir: string; cleanup: () => Promise<void> };
let snmpd: Snmpd | undefined;
const running: Daemon[] = [];
beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-clockstep-');
  snmpd = await startSnmpd();
});
afterAll(async () => {
  for (const d of running) await d.stop();
  await snmpd?.stop();
  await tmp?.cleanup();
});

interface Line {
  measurement: string;
  series: string;
  tags: Record<string, string>;
  fields: Record<string, string>;
  time: number;
}

/** Line protocol as the file sink writes it (ms timestamps); field values kept as text. */
function parseLines(text: string): Line[] {
  const out: Line[] = [];
  for (const l of text.split('\n')) {
    const m = /^(\S+) (.+) (\d+)$/.exec(l);
    if (!m) continue;
    const [series, fieldText, ts] = [m[1] as string, m[2] as string, m[3] as string];
    const [measurement, ...tagParts] = series.split(',');
    const tags = Object.fromEntries(tagParts.map((t) => t.split('=') as [string, string]));
    const fields: Record<string, string> = {};
    for (const f of fieldText.match(/[a-z_0-9]+=("[^"]*"|[^,]+)/g) ?? []) {
      const i = f.indexOf('=');
      fields[f.slice(0, i)] = f.slice(i + 1).replace(/^"|"$/g, '');
    }
    out.push({ measurement: measurement as string, series, tags, fields, time: Number(ts) }); // the file sink writes precision ms
  }
  return out;
}

const num = (v: string | undefined): number => Number((v ?? 'NaN').replace(/i$/, ''));

describe('wall-clock steps under libfaketime', () => {
  it('libfaketime moves Node\'s wall clock from a re-read file and leaves its monotonic clock alone', async () => {
    const file = join(tmp.dir, 'probe.faketime');
    writeFileSync(file, '+3600\n');
    const d = startDaemon(process.execPath, ['-e', 'console.log(JSON.stringify({ wall: Date.now(), mono: performance.now() }))'], {
      env: { ...process.env, LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: file, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
    });
    await new Promise((r) => d.proc.once('exit', r));
    const seen = JSON.parse(d.output()) as { wall: number; mono: number };
    expect(seen.wall - Date.now()).toBeGreaterThan(3590_000);
    expect(seen.wall - Date.now()).toBeLessThan(3610_000);
    expect(seen.mono).toBeLessThan(60_000); // a process's performance.now() starts near 0
  });

  it('reports each step, marks the records around it, and keeps times, intervals and rates on the true clock', async () => {
    const flowPort = await freeUdpPort();
    const dir = join(tmp.dir, 'run');
    const lp = join(dir, 'lp', 'netvigil.lp');
    writeFileSync(join(tmp.dir, 'devices.yaml'), `devices:\n  - name: agent\n    address: 127.0.0.1\n    port: ${snmpd!.port}\n    version: v2c\n    credentials: { community: public }\n    profiles: [interfaces]\n    interval: 1s\n    timeout: 2s\n`);
    const cfg = join(tmp.dir, 'collector.yaml');
    // unsynced_is_degraded off: this CI VM syncs no clock (clock_unsynced); the steps are under test.
    // follow_synced_steps off: on a synced host a forward step would be taken as a correction
    writeFileSync(
      cfg,
      `data_dir: ${dir}\npipeline: { flush_interval: 200ms }\nsinks:\n  file: { dir: ${join(dir, 'lp')} }\nmonitor: { interval: 500ms, recover_after: 2s, unsynced_is_degraded: false, follow_synced_steps: false }\n` +
        `collectors:\n  snmp: { devices: devices.yaml }\n  flow:\n    listen: [{ address: 127.0.0.1, port: ${flowPort} }]\n    interval: 2s\n    raw: true\n    dimensions: [exporter, proto]\n`,
    );
    const faketime = join(tmp.dir, 'collector.faketime');
    writeFileSync(faketime, '+0\n');
    const env = { ...process.env, LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: faketime, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' };
    const realStart = Date.now();
    const d = startDaemon(process.execPath, [CLI, 'run', '-c', cfg], { env, cwd: tmp.dir });
    running.push(d);
    await waitFor(`netvigil started\n${d.output()}`, () => d.output().includes('netvigil started'), 20_000);

    // flows on the true clock all along: one softflowd run (one UDP flow) at a time
    let flows = 0;
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending; i++) {
        const t = Date.now() / 1000;
        const packets: PacketSpec[] = Array.from({ length: PACKETS }, (_, k) => ({ ts: t + k * 0.01, src: '10.9.0.1', dst: '10.9.0.2', proto: 17, srcPort: 10_000 + (i % 50_000), dstPort: 53, payload: PAYLOAD }));
        const pcap = join(tmp.dir, 'round.pcap');
        writeFileSync(pcap, writePcap(packets));
        await runSoftflowd(pcap, '5', [flowPort], tmp.dir);
        flows++;
        await new Promise((r) => setTimeout(r, 150));
      }
    })();

    const steps: { at: number; ms: number }[] = [];
    try {
      await new Promise((r) => setTimeout(r, 5000));
      for (const [i, offset] of OFFSETS_S.entries()) {
        writeFileSync(faketime, `${offset >= 0 ? '+' : ''}${offset}\n`);
        steps.push({ at: Date.now(), ms: STEPS_MS[i] as number });
        await new Promise((r) => setTimeout(r, 5000));
      }
    } finally {
      sending = false;
      await sender;
    }
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS)); // the last flows' interval closes
    await d.stop('SIGTERM', 20_000);
    const realEnd = Date.now();
    expect(d.proc.exitCode ?? 0).toBe(0);
    expect(existsSync(lp)).toBe(true);
    // one file: its age is kept on the monotonic clock, so no step rotated it
    expect(readdirSync(join(dir, 'lp'))).toEqual(['netvigil.lp']);
    const lines = parseLines(readFileSync(lp, 'utf8'));
    const of = (m: string): Line[] => lines.filter((l) => l.measurement === m);

    // 1. every step is reported once, with its size and direction
    const reported = of('vm_clock_step').map((l) => ({ ms: num(l.fields.step_ms), direction: l.tags.direction, time: l.time }));
    expect(reported.map((r) => r.direction)).toEqual(STEPS_MS.map((s) => (s > 0 ? 'forward' : 'back')));
    for (const [i, r] of reported.entries()) expect(Math.abs(r.ms - (STEPS_MS[i] as number))).toBeLessThan(500);

    // 2. record times stay on the true clock: the timeline only slews toward the stepped wall
    //    clock, by at most 5 % of the time since (so < 2 s here), never by the step
    for (const m of ['flow_agg', 'interface', 'snmp_poll', 'vm_host', 'vm_clock_step']) {
      const times = of(m).map((l) => l.time);
      expect(times.length, m).toBeGreaterThan(0);
      expect(Math.min(...times) - realStart, m).toBeGreaterThan(-3000);
      expect(Math.max(...times) - realEnd, m).toBeLessThan(3000);
    }
    // flows keep the exporter's time, and the exporter's clock offset is measured against the
    // timeline: softflowd and we agree (v5 headers carry whole seconds), through every step
    const raw = of('flow');
    expect(raw.length).toBe(flows);
    for (const l of raw) expect(l.time - realStart).toBeGreaterThan(-3000);
    for (const l of raw) expect(l.time - realEnd).toBeLessThan(3000);
    const offsets = of('vm_exporter_clock').map((l) => num(l.fields.offset_ms));
    expect(offsets.length).toBeGreaterThan(20);
    for (const o of offsets) expect(Math.abs(o)).toBeLessThan(3000);
    // each step shows where it happened on the true clock
    for (const [i, r] of reported.entries()) expect(Math.abs(r.time - (steps[i]?.at ?? 0))).toBeLessThan(3000);

    // 3. records collected around a step carry the verdict and the reason
    for (const r of reported) {
      const near = [...of('interface'), ...of('snmp_poll')].filter((l) => l.time >= r.time - 200 && l.time <= r.time + 1000);
      expect(near.length, `records within 1 s after the step at ${r.time}`).toBeGreaterThan(0);
      for (const l of near) {
        expect(l.fields.vm_verdict).toBe('untrusted');
        expect(l.fields.vm_reasons?.split(',')).toContain('clock_step');
      }
    }
    // and records before the first step say nothing of the clock (a loaded CI machine may stall)
    const before = of('snmp_poll').filter((l) => l.time < (reported[0]?.time ?? 0) - 1000);
    expect(before.length).toBeGreaterThan(0);
    for (const l of before) expect(l.fields.vm_reasons ?? '').not.toMatch(/clock_/);

    // 4. aggregation: labels on the grid, one interval after another, none written twice or skipped
    const agg = of('flow_agg');
    const keys = agg.map((l) => `${l.series}@${l.time}`);
    expect(new Set(keys).size).toBe(keys.length);
    const labels = [...new Set(agg.map((l) => l.time))].sort((a, b) => a - b);
    for (const t of labels) expect(t % INTERVAL_MS).toBe(0);
    const gaps = labels.slice(1).map((t, i) => t - (labels[i] as number));
    expect(gaps.filter((g) => g !== INTERVAL_MS)).toEqual([]);
    // every flow exported is in exactly one interval
    expect(agg.reduce((a, l) => a + num(l.fields.bytes), 0)).toBe(flows * FLOW_BYTES);

    // 5. SNMP rates on the device's clock: no poll loses its rate, and the time a rate implies
    //    (octets moved / rate) is the 1 s poll interval, not the step. snmpd refreshes its
    //    interface counters every few seconds, so most polls see no change (a rate of 0).
    const lo = of('interface').filter((l) => l.tags.if_name === 'lo');
    expect(lo.length).toBeGreaterThan(30);
    let moved = 0;
    for (const [i, l] of lo.entries()) {
      if (i === 0) continue;
      const prev = lo[i - 1] as Line;
      expect(l.fields.in_bps, `rate at poll ${i}`).toBeDefined();
      const octets = num(l.fields.in_octets) - num(prev.fields.in_octets);
      if (octets === 0) {
        expect(num(l.fields.in_bps)).toBe(0);
        continue;
      }
      moved++;
      const seconds = (octets * 8) / num(l.fields.in_bps);
      expect(seconds).toBeGreaterThan(0.5);
      expect(seconds).toBeLessThan(2.5);
    }
    expect(moved).toBeGreaterThan(3);
  }, 120_000);
});
