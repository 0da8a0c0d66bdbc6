import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { locateCgroup, parseProcCgroup, readCgroup } from '../src/monitor/cgroup.js';
import { monitorConfigSchema } from '../src/monitor/config.js';
import { evaluate } from '../src/monitor/evaluate.js';
import { HostFs } from '../src/monitor/hostfs.js';
import { countCpus, parseKeyValues, parseNetSnmp6Udp, parseNetSnmpUdp, parsePressure, parseProcStat, parseUdpSockets } from '../src/monitor/procfs.js';
import { HostSampler } from '../src/monitor/sampler.js';
import { createMonitor } from '../src/monitor/index.js';
import { createLogger } from '../src/log.js';
import type { NetRecord } from '../src/record/record.js';
import { makeTmpDir } from './helpers/net.js';

const FIXTURES = join(import.meta.dirname, 'fixtures/monitor');
const noPorts = new Map();

/** Rewrites a recorded snapshot file in place: how a test stages steal, swap or pressure. */
async function bump(file: string, edit: (text: string) => string): Promise<void> {
  await writeFile(file, edit(await readFile(file, 'utf8')));
}

describe('procfs parsers on this machine\'s recorded files', () => {
  const fs = new HostFs(join(FIXTURES, 'kvm'));

  it('reads the aggregate cpu line with steal in the 8th column', () => {
    const text = fs.read('/proc/stat') ?? '';
    const cols = (text.split('\n')[0] ?? '').split(/\s+/).slice(1, 9).map(Number);
    const t = parseProcStat(text);
    expect(t).toBeDefined();
    expect(t?.steal).toBe(cols[7]);
    expect(t?.total).toBe(cols.reduce((a, b) => a + b, 0));
  });

  it('reads PSI totals, and UDP counters from snmp and snmp6', () => {
    expect(parsePressure(fs.read('/proc/pressure/io') ?? '')?.full).toBeTypeOf('number');
    expect(parsePressure('garbage')).toBeUndefined();
    expect(parseNetSnmpUdp(fs.read('/proc/net/snmp') ?? '')).toMatchObject({ inErrors: expect.any(Number), rcvbufErrors: expect.any(Number) });
    expect(parseNetSnmp6Udp(fs.read('/proc/net/snmp6') ?? '')).toEqual({ inErrors: 0, rcvbufErrors: 0 });
  });

  it('sums drops per local port over sockets sharing it and ignores other ports', () => {
    const hdr = '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n';
    const line = (sl: number, port: number, rx: number, drops: number): string =>
      `  ${sl}: 0100007F:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 07 00000000:${rx.toString(16).padStart(8, '0')} 00:00000000 00000000     0        0 ${1000 + sl} 2 0000000000000000 ${drops}\n`;
    const text = hdr + line(0, 2055, 512, 7) + line(1, 2055, 256, 5) + line(2, 6343, 0, 99);
    const m = parseUdpSockets(text, new Set([2055]));
    expect(m.get(2055)).toEqual({ drops: 12, rxQueue: 768, sockets: 2 });
    expect(m.has(6343)).toBe(false);
    // /proc/net/udp6 writes the address as 32 hex digits; the port is still after the last colon.
    const v6 = `${hdr}  0: 00000000000000000000000001000000:0807 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 3\n`;
    expect(parseUdpSockets(v6).get(2055)).toEqual({ drops: 3, rxQueue: 0, sockets: 1 });
  });

  it('a clock the host says is unsynchronised is a degraded reason (and can be switched off)', () => {
    const quiet = { elapsedMs: 5000, procMajorFaults: 0, loopStallMs: 0, clockStepMs: 0, exporters: 0, snmpRequests: 0, snmpTimeouts: 0, socketDrops: 0 };
    expect(evaluate({ ...quiet, synced: false }, monitorConfigSchema.parse({}))).toEqual([{ reason: 'clock_unsynced', level: 'degraded' }]);
    expect(evaluate({ ...quiet, synced: false }, monitorConfigSchema.parse({ unsynced_is_degraded: false }))).toEqual([]);
    expect(evaluate({ ...quiet, synced: undefined }, monitorConfigSchema.parse({}))).toEqual([]);
  });
});

describe('procfs parsers on damaged input', () => {
  it('never throw, and return numbers or nothing, for any text (truncated, mutated, random)', () => {
    const fs = new HostFs(join(FIXTURES, 'kvm'));
    const real = ['/proc/stat', '/proc/net/udp', '/proc/net/snmp', '/proc/pressure/io', '/proc/vmstat'].map((p) => fs.read(p) ?? '');
    const mutated = fc.tuple(fc.constantFrom(...real), fc.nat(), fc.nat(), fc.string()).map(([t, a, b, ins]) => {
      const i = a % (t.length + 1);
      return t.slice(0, i) + ins + t.slice(i + (b % 40));
    });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.string(), fc.constantFrom(...real).map((t) => t.slice(0, t.length >> 1))), (text) => {
        const stat = parseProcStat(text);
        if (stat) expect(Number.isFinite(stat.total)).toBe(true);
        countCpus(text);
        parsePressure(text);
        parseKeyValues(text, ['pswpin']);
        parseNetSnmpUdp(text);
        parseNetSnmp6Udp(text);
        parseProcCgroup(text);
        for (const v of parseUdpSockets(text).values()) expect(Number.isFinite(v.drops)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('sampler over staged snapshots', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await makeTmpDir('netvigil-monitor-'));
    await cp(join(FIXTURES, 'kvm'), dir, { recursive: true, verbatimSymlinks: true });
  });
  afterEach(() => cleanup());

  it('turns counter deltas into steal %, swap, faults and pressure %, and the verdict untrusted', async () => {
    const sampler = new HostSampler(new HostFs(dir));
    expect(sampler.sample(0, noPorts)).toBeUndefined();
    // 5 s pass: 1000 ticks of CPU time of which 300 stolen, 500 pages swapped in, 40 major faults,
    // and 1.5 s of memory `some` stall (30 % of the interval).
    await bump(join(dir, 'proc/stat'), (t) =>
      t.replace(/^cpu\s+(\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/, (_m, ...g: string[]) => {
        const v = g.slice(0, 8).map(Number);
        v[0] = (v[0] ?? 0) + 500;
        v[3] = (v[3] ?? 0) + 200;
        v[7] = (v[7] ?? 0) + 300;
        return `cpu ${v.join(' ')}`;
      }),
    );
    await bump(join(dir, 'proc/vmstat'), (t) =>
      t.replace(/^pswpin (\d+)$/m, (_m, n: string) => `pswpin ${Number(n) + 500}`).replace(/^pgmajfault (\d+)$/m, (_m, n: string) => `pgmajfault ${Number(n) + 40}`),
    );
    await bump(join(dir, 'proc/pressure/memory'), (t) => t.replace(/^some (.*)total=(\d+)$/m, (_m, mid: string, n: string) => `some ${mid}total=${Number(n) + 1_500_000}`));
    const d = sampler.sample(5000, noPorts);
    expect(d?.stealPct).toBeCloseTo(30, 5);
    expect(d?.cpuBusyPct).toBeCloseTo(80, 5);
    expect(d?.swapIn).toBe(500);
    expect(d?.swapOut).toBe(0);
    expect(d?.majorFaults).toBe(40);
    expect(d?.psiMemoryPct).toBeCloseTo(30, 5);
    expect(d?.psiCpuPct).toBe(0);

    const cfg = monitorConfigSchema.parse({});
    const findings = evaluate({ host: d, elapsedMs: 5000, procMajorFaults: 0, loopStallMs: 0, clockStepMs: 0, exporters: 0, snmpRequests: 0, snmpTimeouts: 0, socketDrops: 0 }, cfg);
    expect(findings).toEqual(
      expect.arrayContaining([
        { reason: 'steal>20%', level: 'untrusted' },
        { reason: 'swapping', level: 'degraded' },
        { reason: 'memory_pressure>10%', level: 'degraded' },
      ]),
    );
  });

  it('an unchanged snapshot raises nothing, and a kernel without PSI loses only the PSI fields', async () => {
    await rm(join(dir, 'proc/pressure'), { recursive: true });
    const sampler = new HostSampler(new HostFs(dir));
    sampler.sample(0, noPorts);
    const d = sampler.sample(5000, noPorts);
    expect(d?.psiCpuPct).toBeUndefined();
    expect(d?.psiMemoryPct).toBeUndefined();
    expect(d?.stealPct).toBe(0);
    expect(d?.swapIn).toBe(0);
    const cfg = monitorConfigSchema.parse({});
    expect(evaluate({ host: d, elapsedMs: 5000, procMajorFaults: 0, loopStallMs: 3, clockStepMs: 0.2, exporters: 0, snmpRequests: 0, snmpTimeouts: 0, socketDrops: 0 }, cfg)).toEqual([]);
  });

  it('reads cgroup v2 throttling and memory pressure, and the v1 hierarchy of this machine', async () => {
    const v2 = new HostFs(join(FIXTURES, 'container'));
    const p = locateCgroup(v2);
    expect(p).toEqual({ version: 2, cpuDir: '/sys/fs/cgroup', memoryDir: '/sys/fs/cgroup' });
    const c = readCgroup(v2, p!);
    expect(c).toMatchObject({ cpuQuota: 0.5, nrPeriods: 12000, nrThrottled: 3000, throttledUs: 45_000_000, memoryLimit: 134217728 });
    const v1 = new HostFs(join(FIXTURES, 'kvm'));
    const p1 = locateCgroup(v1);
    expect(p1?.version).toBe(1);
    // v1 reports "unlimited" as LONG_MAX rounded to a page: that must not read as a limit.
    expect(readCgroup(v1, p1!).memoryLimit).toBeUndefined();
  });

  it('stages cgroup throttling between two samples', async () => {
    const root = join(dir, 'c');
    await cp(join(FIXTURES, 'container'), root, { recursive: true, verbatimSymlinks: true });
    const sampler = new HostSampler(new HostFs(root));
    sampler.sample(0, noPorts);
    await bump(join(root, 'sys/fs/cgroup/cpu.stat'), (t) =>
      t.replace('nr_periods 12000', 'nr_periods 12050').replace('nr_throttled 3000', 'nr_throttled 3030').replace('throttled_usec 45000000', 'throttled_usec 45600000'),
    );
    const d = sampler.sample(5000, noPorts);
    expect(d?.cgroupThrottledPct).toBeCloseTo(60, 5);
    expect(d?.cgroupThrottledMs).toBeCloseTo(600, 5);
    const f = evaluate({ host: d, elapsedMs: 5000, procMajorFaults: 0, loopStallMs: 0, clockStepMs: 0, exporters: 0, snmpRequests: 0, snmpTimeouts: 0, socketDrops: 0 }, monitorConfigSchema.parse({}));
    expect(f).toContainEqual({ reason: 'cpu_throttled>50%', level: 'untrusted' });
  });

  it('end to end: staged steal in the snapshot becomes a vm_host field, an untrusted verdict and an event', async () => {
    const records: NetRecord[] = [];
    const m = createMonitor(monitorConfigSchema.parse({}), { emit: (r) => records.push(r), log: createLogger('silent'), root: dir });
    m.tick();
    const t0 = Date.now();
    await bump(join(dir, 'proc/stat'), (t) =>
      t.replace(/^cpu\s+(\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/, (_m, ...g: string[]) => {
        const v = g.slice(0, 8).map(Number);
        v[3] = (v[3] ?? 0) + 750;
        v[7] = (v[7] ?? 0) + 250;
        return `cpu ${v.join(' ')}`;
      }),
    );
    m.tick();
    const host = records.filter((r) => r.measurement === 'vm_host').at(-1)!;
    expect(host.fields.steal_pct).toBeCloseTo(25, 5);
    expect(host.fields).toMatchObject({ verdict: 'untrusted', reasons: 'steal>20%' });
    const ev = records.find((r) => r.measurement === 'vm_verdict')!;
    expect(ev.fields).toMatchObject({ verdict: 'untrusted', previous: 'ok', level: 2n, reasons: 'steal>20%' });
    // The interval the steal was measured over is covered, from the previous sample on.
    expect(ev.time).toBeLessThanOrEqual(t0);
    expect(m.verdictFor(t0, t0).verdict).toBe('untrusted');
  });
});
