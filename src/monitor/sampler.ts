import { HostFs } from './hostfs.js';
import { locateCgroup, readCgroup, type CgroupCounters, type CgroupPaths } from './cgroup.js';
import {
  parseKeyValues,
  parseNetSnmp6Udp,
  parseNetSnmpUdp,
  parsePressure,
  parseProcStat,
  parseUdpSockets,
  type CpuTimes,
  type Pressure,
  type SocketStats,
  type UdpCounters,
} from './procfs.js';

export type UdpFamily = 'udp4' | 'udp6';

/** Raw cumulative counters at one instant; a HostDelta is the difference of two of these. */
interface Snapshot {
  mono: number;
  cpu?: CpuTimes;
  psiCpu?: Pressure;
  psiMemory?: Pressure;
  psiIo?: Pressure;
  vm: Map<string, number>;
  udp?: UdpCounters;
  udp6?: UdpCounters;
  cgroup: CgroupCounters;
  sockets: Map<string, SocketStats>;
}

/** Rates and counts over one interval. Every field is optional: absent source, absent signal. */
export interface HostDelta {
  elapsedMs: number;
  stealPct?: number;
  cpuBusyPct?: number;
  psiCpuPct?: number;
  psiMemoryPct?: number;
  psiMemoryFullPct?: number;
  psiIoPct?: number;
  psiIoFullPct?: number;
  swapIn?: number;
  swapOut?: number;
  majorFaults?: number;
  udpInErrors?: number;
  udpRcvbufErrors?: number;
  cgroupThrottledPct?: number;
  cgroupThrottledMs?: number;
  cgroupMemoryPressurePct?: number;
  cgroupMemoryUsage?: number;
  cgroupMemoryLimit?: number;
  /** Per registered socket (`udp4:2055`): drops in the interval and the queue now. */
  sockets: Map<string, { drops: number; rxQueue: number; sockets: number }>;
}

const VM_KEYS = ['pswpin', 'pswpout', 'pgmajfault'] as const;

/** Counter difference; a counter that went backwards was reset (socket re-created), so count from 0. */
function d(prev: number | undefined, cur: number | undefined): number | undefined {
  if (prev === undefined || cur === undefined) return undefined;
  return cur >= prev ? cur - prev : cur;
}

function pct(part: number | undefined, whole: number | undefined): number | undefined {
  if (part === undefined || whole === undefined || whole <= 0) return undefined;
  return Math.min(100, (part / whole) * 100);
}

function add(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : a + b;
}

/**
 * Reads every host source once per call and returns the change since the previous call. Holds only
 * the previous snapshot: the monitor that owns it owns all of its state.
 */
export class HostSampler {
  readonly fs: HostFs;
  private readonly cgroupPaths: CgroupPaths | undefined;
  private prev: Snapshot | undefined;

  constructor(fs: HostFs) {
    this.fs = fs;
    this.cgroupPaths = locateCgroup(fs);
  }

  /** `ports` are the registered sockets per family; the socket tables are skipped when there are none. */
  sample(mono: number, ports: ReadonlyMap<UdpFamily, ReadonlySet<number>>): HostDelta | undefined {
    const cur = this.snapshot(mono, ports);
    const prev = this.prev;
    this.prev = cur;
    if (!prev) return undefined;
    const us = (cur.mono - prev.mono) * 1000;
    const out: HostDelta = { elapsedMs: cur.mono - prev.mono, sockets: new Map() };
    if (prev.cpu && cur.cpu) {
      const total = cur.cpu.total - prev.cpu.total;
      out.stealPct = pct(cur.cpu.steal - prev.cpu.steal, total) ?? 0;
      out.cpuBusyPct = pct(total - (cur.cpu.idle - prev.cpu.idle), total) ?? 0;
    }
    out.psiCpuPct = pct(d(prev.psiCpu?.some, cur.psiCpu?.some), us);
    out.psiMemoryPct = pct(d(prev.psiMemory?.some, cur.psiMemory?.some), us);
    out.psiMemoryFullPct = pct(d(prev.psiMemory?.full, cur.psiMemory?.full), us);
    out.psiIoPct = pct(d(prev.psiIo?.some, cur.psiIo?.some), us);
    out.psiIoFullPct = pct(d(prev.psiIo?.full, cur.psiIo?.full), us);
    out.swapIn = d(prev.vm.get('pswpin'), cur.vm.get('pswpin'));
    out.swapOut = d(prev.vm.get('pswpout'), cur.vm.get('pswpout'));
    out.majorFaults = d(prev.vm.get('pgmajfault'), cur.vm.get('pgmajfault'));
    out.udpInErrors = add(d(prev.udp?.inErrors, cur.udp?.inErrors), d(prev.udp6?.inErrors, cur.udp6?.inErrors));
    out.udpRcvbufErrors = add(
      d(prev.udp?.rcvbufErrors, cur.udp?.rcvbufErrors),
      d(prev.udp6?.rcvbufErrors, cur.udp6?.rcvbufErrors),
    );
    const pc = prev.cgroup;
    const cc = cur.cgroup;
    out.cgroupThrottledPct = pct(d(pc.nrThrottled, cc.nrThrottled), d(pc.nrPeriods, cc.nrPeriods));
    const thrUs = d(pc.throttledUs, cc.throttledUs);
    if (thrUs !== undefined) out.cgroupThrottledMs = thrUs / 1000;
    out.cgroupMemoryPressurePct = pct(d(pc.memoryPressure?.some, cc.memoryPressure?.some), us);
    out.cgroupMemoryUsage = cc.memoryUsage;
    out.cgroupMemoryLimit = cc.memoryLimit;
    for (const [key, s] of cur.sockets) {
      const before = prev.sockets.get(key);
      // A socket first seen now has no baseline: its drops count from registration, not from 0.
      if (before) out.sockets.set(key, { drops: d(before.drops, s.drops) ?? 0, rxQueue: s.rxQueue, sockets: s.sockets });
    }
    return out;
  }

  private snapshot(mono: number, ports: ReadonlyMap<UdpFamily, ReadonlySet<number>>): Snapshot {
    const fs = this.fs;
    const opt = <T>(text: string | undefined, parse: (t: string) => T | undefined): T | undefined =>
      text === undefined ? undefined : parse(text);
    const vmText = fs.read('/proc/vmstat');
    const snap: Snapshot = {
      mono,
      cpu: opt(fs.read('/proc/stat'), parseProcStat),
      psiCpu: opt(fs.read('/proc/pressure/cpu'), parsePressure),
      psiMemory: opt(fs.read('/proc/pressure/memory'), parsePressure),
      psiIo: opt(fs.read('/proc/pressure/io'), parsePressure),
      vm: vmText === undefined ? new Map() : parseKeyValues(vmText, VM_KEYS),
      udp: opt(fs.read('/proc/net/snmp'), parseNetSnmpUdp),
      udp6: opt(fs.read('/proc/net/snmp6'), parseNetSnmp6Udp),
      cgroup: this.cgroupPaths ? readCgroup(fs, this.cgroupPaths) : {},
      sockets: new Map(),
    };
    for (const [family, set] of ports) {
      if (set.size === 0) continue;
      const text = fs.read(family === 'udp4' ? '/proc/net/udp' : '/proc/net/udp6');
      if (text === undefined) continue;
      const stats = parseUdpSockets(text, set);
      for (const port of set) {
        // A registered port missing from the table (closed, other netns) has nothing to report.
        const s = stats.get(port);
        if (s) snap.sockets.set(`${family}:${port}`, s);
      }
    }
    return snap;
  }
}
