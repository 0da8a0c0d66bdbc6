import type { HostFs } from './hostfs.js';
import { parseKeyValues, parsePressure, type Pressure } from './procfs.js';

/**
 * Where our own cgroup's CPU and memory files live. v2 (unified) puts every controller in one
 * directory; v1 has one hierarchy per controller. A hybrid host (v1 controllers plus an empty
 * `unified` mount) counts as v1 here, because that is where the cpu and memory controllers are.
 */
export interface CgroupPaths {
  version: 1 | 2;
  cpuDir?: string;
  memoryDir?: string;
}

/** Parses /proc/self/cgroup into controller -> path (`''` is the v2 entry `0::/path`). */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const path = m[2] ?? '/';
    for (const c of (m[1] ?? '').split(',')) out.set(c, path);
  }
  return out;
}

export function locateCgroup(fs: HostFs, pid: string = 'self'): CgroupPaths | undefined {
  const text = fs.read(`/proc/${pid}/cgroup`);
  if (text === undefined) return undefined;
  const map = parseProcCgroup(text);
  // With a cgroup namespace (containers) our path reads "/" and the mount root is already ours;
  // without one the path is relative to the mount. Fall back to the mount root if it is not there.
  const pick = (mount: string, path: string | undefined): string | undefined => {
    if (!fs.exists(mount)) return undefined;
    const full = path && path !== '/' ? `${mount}${path}` : mount;
    return fs.exists(full) ? full : mount;
  };
  if (fs.exists('/sys/fs/cgroup/cgroup.controllers')) {
    const dir = pick('/sys/fs/cgroup', map.get(''));
    return { version: 2, cpuDir: dir, memoryDir: dir };
  }
  const cpuMount = ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct'].find((m) => fs.exists(m));
  const cpuDir = cpuMount ? pick(cpuMount, map.get('cpu')) : undefined;
  const memoryDir = pick('/sys/fs/cgroup/memory', map.get('memory'));
  if (!cpuDir && !memoryDir) return undefined;
  return { version: 1, cpuDir, memoryDir };
}

/** Cumulative cgroup counters; all optional because controllers may be absent or not delegated. */
export interface CgroupCounters {
  nrPeriods?: number;
  nrThrottled?: number;
  throttledUs?: number;
  memoryUsage?: number;
  /** Bytes; undefined when unlimited (v2 `max`, v1 near-2^63 page-rounded value). */
  memoryLimit?: number;
  /** v1 `memory.failcnt`: times the limit was hit. */
  memoryFailcnt?: number;
  /** v2 `memory.pressure`. */
  memoryPressure?: Pressure;
  /** CFS quota in CPUs (quota / period); undefined when unlimited. */
  cpuQuota?: number;
}

/** A v1 "unlimited" memory limit is LONG_MAX rounded down to a page; anything above 2^60 is that. */
const UNLIMITED = 2 ** 60;

export function readCgroup(fs: HostFs, p: CgroupPaths): CgroupCounters {
  const c: CgroupCounters = {};
  if (p.cpuDir) {
    const stat = fs.read(`${p.cpuDir}/cpu.stat`);
    if (stat !== undefined) {
      const kv = parseKeyValues(stat, ['nr_periods', 'nr_throttled', 'throttled_usec', 'throttled_time']);
      c.nrPeriods = kv.get('nr_periods');
      c.nrThrottled = kv.get('nr_throttled');
      const ns = kv.get('throttled_time');
      c.throttledUs = kv.get('throttled_usec') ?? (ns === undefined ? undefined : ns / 1000);
    }
    if (p.version === 2) {
      const [quota, period] = (fs.readLine(`${p.cpuDir}/cpu.max`) ?? 'max').split(/\s+/);
      if (quota && quota !== 'max' && Number(period) > 0) c.cpuQuota = Number(quota) / Number(period);
    } else {
      const quota = fs.readNumber(`${p.cpuDir}/cpu.cfs_quota_us`);
      const period = fs.readNumber(`${p.cpuDir}/cpu.cfs_period_us`);
      if (quota !== undefined && quota > 0 && period) c.cpuQuota = quota / period;
    }
  }
  if (p.memoryDir) {
    if (p.version === 2) {
      c.memoryUsage = fs.readNumber(`${p.memoryDir}/memory.current`);
      const max = fs.readLine(`${p.memoryDir}/memory.max`);
      if (max !== undefined && max !== 'max' && Number.isFinite(Number(max))) c.memoryLimit = Number(max);
      const pr = fs.read(`${p.memoryDir}/memory.pressure`);
      if (pr !== undefined) c.memoryPressure = parsePressure(pr);
    } else {
      c.memoryUsage = fs.readNumber(`${p.memoryDir}/memory.usage_in_bytes`);
      const lim = fs.readNumber(`${p.memoryDir}/memory.limit_in_bytes`);
      if (lim !== undefined && lim < UNLIMITED) c.memoryLimit = lim;
      c.memoryFailcnt = fs.readNumber(`${p.memoryDir}/memory.failcnt`);
    }
  }
  return c;
}
