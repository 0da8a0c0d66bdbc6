import type { HostFs } from './hostfs.js';
import { askChrony, findBinary, kernelSyncState, parseNtpqRv, run, type DaemonAnswer } from './timesync-ask.js';

export { kernelSyncState, parseChronySources, parseChronyTracking, parseNtpqRv } from './timesync-ask.js';

export interface SyncState extends DaemonAnswer {
  /**
   * Which daemon answered; `kernel` when none is visible but the kernel's clock is synchronised (a
   * daemon outside this namespace); `none` when no sync source runs and the kernel says the clock
   * is unsynchronised; `unknown` when nothing could be asked.
   */
  source: 'chrony' | 'timesyncd' | 'ntpd' | 'ptp' | 'kernel' | 'none' | 'unknown';
}

/** Clock source the kernel uses (`tsc`, `kvm-clock`, `hpet`, ...) and the ones it could use. */
export function readClockSource(fs: HostFs): { current?: string; available: string[] } {
  const base = '/sys/devices/system/clocksource/clocksource0';
  const current = fs.readLine(`${base}/current_clocksource`) || undefined;
  const available = (fs.readLine(`${base}/available_clocksource`) ?? '').split(/\s+/).filter(Boolean);
  return current === undefined ? { available } : { current, available };
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


export interface SyncOptions {
  timeoutMs: number;
  /** chronyc to run (name on PATH or absolute path). */
  chronyc?: string;
  /** chronyd's command socket (`bindcmdaddress`); chronyc's own default when absent. */
  chronySocket?: string;
}

/** A PTP hardware clock the hypervisor offers (ptp_kvm, Hyper-V), for advice: chrony can follow it. */
function ptpClocks(fs: HostFs): string[] {
  const out: string[] = [];
  for (const dev of fs.list('/sys/class/ptp')) {
    const name = fs.readLine(`/sys/class/ptp/${dev}/clock_name`);
    if (name) out.push(`/dev/${dev} "${name}"`);
  }
  return out;
}

const state = (source: SyncState['source'], a: DaemonAnswer): SyncState => ({ source, ...a });

/**
 * Asks the host whether its clock is synchronised, from what is there: chronyd (chronyc), then
 * systemd-timesyncd (its state file, then timedatectl), ntpd (ntpq), PTP daemons (phc2sys/ptp4l,
 * whose state is the kernel's flag), and with no daemon at all the kernel's adjtimex(2) state.
 * Never called on the sampling path: the monitor refreshes it every few minutes in the background.
 * Commands run only against the live root (`/`), because a snapshot tree has no daemon to ask.
 */
export async function readSyncState(fs: HostFs, opts: SyncOptions): Promise<SyncState> {
  const live = fs.root === '/';
  const t = opts.timeoutMs;
  const chronyc = live ? findBinary(opts.chronyc ?? 'chronyc') : undefined;
  if (chronyc) {
    const a = await askChrony(chronyc, opts.chronySocket, t);
    if (a) return state('chrony', a);
  }
  // systemd-timesyncd (v239+) touches this file once it has synchronised the clock.
  if (fs.exists('/run/systemd/timesync/synchronized')) return state('timesyncd', { synced: true, detail: 'systemd-timesyncd reports synchronized' });
  const daemons = live ? runningSyncDaemons(fs) : [];
  if (daemons.includes('chronyd') || fs.exists('/run/chrony/chronyd.pid')) {
    return { source: 'chrony', detail: `chronyd is running but ${chronyc ?? 'chronyc'} could not ask it${opts.chronySocket ? ` on ${opts.chronySocket}` : ''}` };
  }
  const timedatectl = live ? findBinary('timedatectl') : undefined;
  if (timedatectl && daemons.includes('systemd-timesyn')) {
    const r = await run(timedatectl, ['show', '-p', 'NTPSynchronized', '--value'], t);
    if (r.ok && (r.out === 'yes' || r.out === 'no')) return state('timesyncd', { synced: r.out === 'yes', detail: `timedatectl NTPSynchronized=${r.out}` });
  }
  const ntpq = daemons.includes('ntpd') || daemons.includes('ntpsec') ? findBinary('ntpq') : undefined;
  if (ntpq) {
    const r = await run(ntpq, ['-c', 'rv'], t);
    const a = r.ok ? parseNtpqRv(r.out) : undefined;
    if (a) return state('ntpd', a);
  }
  if (!live) return { source: 'unknown', detail: 'a snapshot tree has no daemon to ask' };
  const k = await kernelSyncState(t);
  const kernel = k ? `; kernel: ${k.via}` : '';
  const ptp = daemons.filter((d) => d === 'phc2sys' || d === 'ptp4l' || d === 'timemaster');
  if (ptp.length > 0) {
    // phc2sys has no query interface; what it did to the kernel clock is the answer
    return k ? state('ptp', { synced: k.synced, detail: `${ptp.join(', ')} running${kernel}` }) : { source: 'ptp', detail: `${ptp.join(', ')} running; the kernel's sync flag could not be read` };
  }
  if (daemons.length > 0) return k ? state('kernel', { synced: k.synced, detail: `${daemons.join(', ')} running${kernel}` }) : { source: 'unknown', detail: `${daemons.join(', ')} running, and nothing could be asked` };
  const offered = ptpClocks(fs);
  const hint = offered.length ? `; offered PTP clock ${offered.join(', ')}` : '';
  if (!k) return { source: 'unknown', detail: `no time sync daemon visible and the kernel's sync flag could not be read (no adjtimex or python3)${hint}` };
  // no daemon here, but something outside this namespace (the host of a container) disciplines it
  if (k.synced) return state('kernel', { synced: true, detail: `no time sync daemon visible, but the kernel's clock is synchronised: ${k.via}` });
  return state('none', {
    synced: false,
    detail: `no time sync daemon running (looked for ${[...SYNC_DAEMONS].slice(0, 6).join(', ')}, ...) and the kernel says unsynchronised: ${k.via}${hint}`,
  });
}
