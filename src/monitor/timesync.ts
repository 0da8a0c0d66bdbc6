import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { HostFs } from './hostfs.js';

export interface SyncState {
  /**
   * Which daemon answered; `none` when no sync daemon runs and the kernel says the clock is
   * unsynchronised (doctor only, see kernelSyncState); `unknown` when nothing could be asked.
   */
  source: 'chrony' | 'timesyncd' | 'none' | 'unknown';
  /** undefined when the daemon could not say (or none was found). */
  synced?: boolean;
  detail: string;
}

/** Clock source the kernel uses (`tsc`, `kvm-clock`, `hpet`, ...) and the ones it could use. */
export function readClockSource(fs: HostFs): { current?: string; available: string[] } {
  const base = '/sys/devices/system/clocksource/clocksource0';
  const current = fs.readLine(`${base}/current_clocksource`) || undefined;
  const available = (fs.readLine(`${base}/available_clocksource`) ?? '').split(/\s+/).filter(Boolean);
  return current === undefined ? { available } : { current, available };
}

function findBinary(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      resolve({ ok: !err, out: (err ? `${stderr || err.message}` : stdout).trim() });
    });
  });
}

/**
 * `chronyc -c tracking` CSV, in the order of chrony's client.c: ref id, ref name, stratum, ref
 * time, system time (current correction, s), last offset, RMS offset, frequency, residual
 * frequency, skew, root delay, root dispersion, update interval, leap status ("Normal", "Insert
 * second", "Delete second", "Not synchronised").
 */
export function parseChronyTracking(csv: string): SyncState | undefined {
  const f = csv.trim().split(',');
  if (f.length < 14) return undefined;
  const leap = f[f.length - 1] ?? '';
  const offset = Number(f[4]);
  const off = Number.isFinite(offset) ? `, system time off by ${(offset * 1000).toFixed(3)} ms` : '';
  return { source: 'chrony', synced: leap !== 'Not synchronised', detail: `chrony leap status ${leap}${off}` };
}

/** Processes that discipline the clock (comm names, truncated to 15 characters by the kernel). */
const SYNC_DAEMONS = new Set(['chronyd', 'ntpd', 'ntpsec', 'openntpd', 'systemd-timesyn', 'ptp4l', 'phc2sys', 'timemaster', 'vmtoolsd', 'hv_utils']);

/** Clock-disciplining daemons running on the host, by /proc/<pid>/comm. */
export function runningSyncDaemons(fs: HostFs): string[] {
  const found = new Set<string>();
  for (const pid of fs.list('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const comm = fs.readLine(`/proc/${pid}/comm`);
    if (comm && SYNC_DAEMONS.has(comm)) found.add(comm);
  }
  return [...found].sort();
}

/** adjtimex(2) return value: TIME_ERROR (5) means the kernel's STA_UNSYNC is set. */
const TIME_ERROR = 5;
/** Node cannot call adjtimex(2); python3's ctypes can, read-only (modes = 0 in a zeroed struct). */
const PY_ADJTIMEX = 'import ctypes,ctypes.util;b=ctypes.create_string_buffer(1024);print(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").adjtimex(b))';

/**
 * The kernel's own verdict on the clock, from adjtimex(2): what NTP daemons set and `timedatectl`
 * reads as NTPSynchronized. Tries `adjtimex --print` (Debian package adjtimex), then python3.
 */
export async function kernelSyncState(timeoutMs: number): Promise<{ synced: boolean; via: string } | undefined> {
  const adj = findBinary('adjtimex');
  if (adj) {
    const r = await run(adj, ['--print'], timeoutMs);
    const status = /status:\s*(\d+)/.exec(r.out);
    if (r.ok && status) return { synced: (Number(status[1]) & 0x40) === 0, via: `adjtimex --print status ${status[1]}` }; // 0x40 = STA_UNSYNC
  }
  const py = findBinary('python3');
  if (py) {
    const r = await run(py, ['-c', PY_ADJTIMEX], timeoutMs);
    const state = Number(r.out);
    if (r.ok && r.out !== '' && Number.isInteger(state) && state >= 0) return { synced: state !== TIME_ERROR, via: `adjtimex() = ${state}${state === TIME_ERROR ? ' (TIME_ERROR)' : ''}` };
  }
  return undefined;
}

/**
 * Asks the host whether its clock is synchronised. Files first (free); then `chronyc` or
 * `timedatectl` if installed, with a short timeout. Never called on the sampling path: the monitor
 * refreshes it every few minutes in the background. Commands run only against the live root
 * (`/`), because a snapshot tree has no daemon to ask.
 */
export async function readSyncState(fs: HostFs, timeoutMs: number, opts: { kernel?: boolean } = {}): Promise<SyncState> {
  // systemd-timesyncd (v239+) touches this file once it has synchronised the clock.
  if (fs.exists('/run/systemd/timesync/synchronized')) {
    return { source: 'timesyncd', synced: true, detail: 'systemd-timesyncd reports synchronized' };
  }
  const live = fs.root === '/';
  const chronyc = live ? findBinary('chronyc') : undefined;
  if (chronyc) {
    // `-c` gives CSV; the last field of `tracking` is the leap status ("Normal" when synchronised).
    const r = await run(chronyc, ['-c', 'tracking'], timeoutMs);
    const parsed = r.ok ? parseChronyTracking(r.out) : undefined;
    if (parsed) return parsed;
  }
  if (fs.exists('/run/chrony/chronyd.pid') || fs.exists('/var/run/chrony/chronyd.pid')) {
    return { source: 'chrony', detail: 'chronyd is running but chronyc could not be asked' };
  }
  const timedatectl = live ? findBinary('timedatectl') : undefined;
  if (timedatectl) {
    const r = await run(timedatectl, ['show', '-p', 'NTPSynchronized', '--value'], timeoutMs);
    if (r.ok && (r.out === 'yes' || r.out === 'no')) {
      return { source: 'timesyncd', synced: r.out === 'yes', detail: `timedatectl NTPSynchronized=${r.out}` };
    }
    const none = opts.kernel ? await noDaemon(fs, timeoutMs) : undefined;
    if (none) return none;
    return { source: 'unknown', detail: `timedatectl could not tell (${r.out.split('\n')[0] ?? ''})` };
  }
  const none = opts.kernel ? await noDaemon(fs, timeoutMs) : undefined;
  return none ?? { source: 'unknown', detail: 'no chrony or systemd-timesyncd found' };
}

/** `none` when no daemon disciplines the clock and the kernel calls it unsynchronised (live root only). */
async function noDaemon(fs: HostFs, timeoutMs: number): Promise<SyncState | undefined> {
  if (fs.root !== '/' || runningSyncDaemons(fs).length > 0) return undefined;
  const k = await kernelSyncState(timeoutMs);
  if (!k || k.synced) return undefined;
  return { source: 'none', synced: false, detail: `no time sync daemon running (looked for ${[...SYNC_DAEMONS].slice(0, 6).join(', ')}, ...) and the kernel says unsynchronised: ${k.via}` };
}
