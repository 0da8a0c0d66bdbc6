/**
 * Parsers for the procfs files the monitor samples. Pure functions over file text: they take what
 * the kernel wrote and return counters, and return undefined for text they do not recognise rather
 * than guessing, so a missing signal is reported as missing and never as zero.
 */

/** Aggregate `cpu` line of /proc/stat, in USER_HZ ticks. */
export interface CpuTimes {
  /** Sum of user..steal; guest time is already counted inside user (see proc(5)). */
  total: number;
  idle: number;
  steal: number;
}

export function parseProcStat(text: string): CpuTimes | undefined {
  const nl = text.indexOf('\n');
  const line = nl < 0 ? text : text.slice(0, nl);
  if (!line.startsWith('cpu ')) return undefined;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  if (v.length < 4 || v.some((x) => !Number.isFinite(x))) return undefined;
  // Columns: user nice system idle iowait irq softirq steal (guest guest_nice follow, inside user).
  let total = 0;
  for (let i = 0; i < Math.min(8, v.length); i++) total += v[i] ?? 0;
  return { total, idle: (v[3] ?? 0) + (v[4] ?? 0), steal: v[7] ?? 0 };
}

/** Number of `cpuN` lines of /proc/stat: the vCPUs the kernel schedules on. */
export function countCpus(statText: string): number {
  let n = 0;
  for (const line of statText.split('\n')) if (/^cpu\d+\s/.test(line)) n++;
  return n;
}

/** Cumulative stall time in microseconds from a /proc/pressure/* or cgroup *.pressure file. */
export interface Pressure {
  some: number;
  /** Absent on the system-wide cpu file before Linux 5.13. */
  full?: number;
}

export function parsePressure(text: string): Pressure | undefined {
  let some: number | undefined;
  let full: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^(some|full)\s.*\btotal=(\d+)/.exec(line);
    if (!m) continue;
    if (m[1] === 'some') some = Number(m[2]);
    else full = Number(m[2]);
  }
  if (some === undefined) return undefined;
  return full === undefined ? { some } : { some, full };
}

/** Selected `name value` lines of /proc/vmstat (or cgroup memory.stat / cpu.stat, same shape). */
export function parseKeyValues(text: string, keys: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const k = line.slice(0, sp);
    if (!keys.includes(k)) continue;
    const n = Number(line.slice(sp + 1).trim());
    if (Number.isFinite(n)) out.set(k, n);
  }
  return out;
}

export interface UdpCounters {
  inErrors: number;
  rcvbufErrors: number;
}

/** The `Udp:` header/value line pair of /proc/net/snmp. */
export function parseNetSnmpUdp(text: string): UdpCounters | undefined {
  const lines = text.split('\n').filter((l) => l.startsWith('Udp: '));
  const head = lines[0]?.trim().split(/\s+/);
  const vals = lines[1]?.trim().split(/\s+/);
  if (!head || !vals || head.length !== vals.length) return undefined;
  const get = (k: string): number | undefined => {
    const i = head.indexOf(k);
    return i < 0 ? undefined : Number(vals[i]);
  };
  const inErrors = get('InErrors');
  const rcvbufErrors = get('RcvbufErrors');
  if (inErrors === undefined || rcvbufErrors === undefined) return undefined;
  return { inErrors, rcvbufErrors };
}

/** /proc/net/snmp6 has one `Name value` per line. */
export function parseNetSnmp6Udp(text: string): UdpCounters | undefined {
  const kv = parseKeyValues(text.replace(/[ \t]+/g, ' '), ['Udp6InErrors', 'Udp6RcvbufErrors']);
  const inErrors = kv.get('Udp6InErrors');
  const rcvbufErrors = kv.get('Udp6RcvbufErrors');
  if (inErrors === undefined || rcvbufErrors === undefined) return undefined;
  return { inErrors, rcvbufErrors };
}

export interface SocketStats {
  /** Datagrams the kernel dropped on this socket since it was created (`sk_drops`). */
  drops: number;
  /** Bytes waiting in the receive queue now. */
  rxQueue: number;
  sockets: number;
}

/**
 * Per local port totals from /proc/net/udp or /proc/net/udp6. Several sockets can share a port
 * (SO_REUSEPORT), so the port's numbers are summed; `only` limits the work to the ports we own.
 */
export function parseUdpSockets(text: string, only?: ReadonlySet<number>): Map<number, SocketStats> {
  const out = new Map<number, SocketStats>();
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]?.trim().split(/\s+/);
    if (!f || f.length < 13) continue;
    const local = f[1] ?? '';
    const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (!Number.isFinite(port) || (only && !only.has(port))) continue;
    const rx = parseInt((f[4] ?? '').split(':')[1] ?? '0', 16);
    const drops = Number(f[f.length - 1]);
    const cur = out.get(port) ?? { drops: 0, rxQueue: 0, sockets: 0 };
    cur.drops += Number.isFinite(drops) ? drops : 0;
    cur.rxQueue += Number.isFinite(rx) ? rx : 0;
    cur.sockets += 1;
    out.set(port, cur);
  }
  return out;
}
