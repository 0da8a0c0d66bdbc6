/**
 * Asking the clock daemons and the kernel. Node has no AF_UNIX datagram sockets (chronyd's command
 * socket is one) and no adjtimex(2), so each question runs the daemon's own client with a short
 * timeout; only `readSyncState` (timesync.ts) calls these, off the sampling path.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** What one daemon said. `synced` undefined: it answered, but not about synchronisation. */
export interface DaemonAnswer {
  synced?: boolean;
  detail: string;
  /** System clock minus the daemon's reference, ms (positive: we are ahead). */
  offsetMs?: number;
  stratum?: number;
  /** The reference the daemon follows (server name or address, refclock id). */
  reference?: string;
}

export function findBinary(name: string): string | undefined {
  if (isAbsolute(name)) return existsSync(name) ? name : undefined;
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

export function run(cmd: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      resolve({ ok: !err, out: (err ? `${stderr || err.message}` : stdout).trim() });
    });
  });
}

const num = (s: string | undefined): number | undefined => {
  const n = Number(s);
  return s !== undefined && s !== '' && Number.isFinite(n) ? n : undefined;
};

/**
 * `chronyc -c tracking` CSV, in the order of chrony's client.c: ref id, ref name, stratum, ref
 * time, system time (current correction, s; positive means the clock is slow), last offset, RMS
 * offset, frequency, residual frequency, skew, root delay, root dispersion, update interval, leap
 * status ("Normal", "Insert second", "Delete second", "Not synchronised").
 */
export function parseChronyTracking(csv: string): DaemonAnswer | undefined {
  const f = csv.trim().split('\n')[0]?.split(',') ?? [];
  if (f.length < 14) return undefined;
  const leap = f[f.length - 1] ?? '';
  const correction = num(f[4]);
  const stratum = num(f[2]);
  const ref = f[1] || f[0] || '';
  const out: DaemonAnswer = { synced: leap !== 'Not synchronised', detail: `chrony leap status ${leap}` };
  // chrony's "system time" is how much the clock must be slewed: fast by x means -x to apply
  if (correction !== undefined) {
    out.offsetMs = -correction * 1000;
    out.detail += `, system time ${Math.abs(correction * 1000).toFixed(3)} ms ${correction > 0 ? 'slow' : 'fast'} of NTP time`;
  }
  if (out.synced && stratum !== undefined) out.stratum = stratum;
  if (out.synced && ref) out.reference = ref;
  return out;
}

/**
 * `chronyc -c sources`: mode, state, name, stratum, poll, reach, ... State `*` is the source chrony
 * synchronises to now. Without one, chrony has logged "Can't synchronise: no selectable sources"
 * but keeps the leap status of its last update, so tracking alone still says "Normal".
 */
export function parseChronySources(csv: string): { selected?: string; sources: string[] } {
  const sources: string[] = [];
  let selected: string | undefined;
  for (const line of csv.trim().split('\n')) {
    const f = line.split(',');
    if (f.length < 6 || !f[2]) continue;
    sources.push(`${f[2]} (${f[1]}, reach ${f[5]})`);
    if (f[1] === '*') selected = f[2];
  }
  return selected === undefined ? { sources } : { selected, sources };
}

/** chronyd through chronyc; `socket` is chronyd's `bindcmdaddress` (chronyc -h accepts a path). */
export async function askChrony(chronyc: string, socket: string | undefined, timeoutMs: number): Promise<DaemonAnswer | undefined> {
  const base = socket ? ['-h', socket, '-c'] : ['-c'];
  const [t, s] = await Promise.all([run(chronyc, [...base, 'tracking'], timeoutMs), run(chronyc, [...base, 'sources'], timeoutMs)]);
  const tracking = t.ok ? parseChronyTracking(t.out) : undefined;
  if (!tracking) return undefined;
  if (!s.ok || !tracking.synced) return tracking;
  const src = parseChronySources(s.out);
  if (src.selected !== undefined) return { ...tracking, reference: src.selected };
  return {
    synced: false,
    detail: `chrony has no selectable source (${src.sources.join(', ') || 'none configured'}); ${tracking.detail}`,
    ...(tracking.offsetMs === undefined ? {} : { offsetMs: tracking.offsetMs }),
  };
}

/**
 * `ntpq -c rv` (ntpd and NTPsec): the system variables. RFC 5905 section 7.3: leap indicator 3
 * (`leap=11`) is "unknown (clock unsynchronized)", and stratum 16 means unsynchronised; `offset`
 * is in ms.
 */
export function parseNtpqRv(text: string): DaemonAnswer | undefined {
  const vars = new Map<string, string>();
  for (const m of text.matchAll(/([a-z_]+)=("[^"]*"|[^,\s]+)/g)) vars.set(m[1] as string, (m[2] as string).replace(/"/g, ''));
  const leap = vars.get('leap');
  const stratum = num(vars.get('stratum'));
  if (leap === undefined && stratum === undefined) return undefined;
  const synced = leap !== '11' && leap !== '3' && (stratum === undefined || stratum < 16);
  const out: DaemonAnswer = { synced, detail: `ntpd leap=${leap ?? '?'} stratum=${stratum ?? '?'}` };
  const offset = num(vars.get('offset'));
  if (offset !== undefined) out.offsetMs = offset;
  if (synced && stratum !== undefined) out.stratum = stratum;
  const refid = vars.get('refid');
  if (synced && refid) out.reference = refid;
  return out;
}

/** adjtimex(2) return value: TIME_ERROR (5) means the kernel's STA_UNSYNC is set. */
const TIME_ERROR = 5;
/** Node cannot call adjtimex(2); python3's ctypes can, read-only (modes = 0 in a zeroed struct). */
const PY_ADJTIMEX = 'import ctypes,ctypes.util;b=ctypes.create_string_buffer(1024);print(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").adjtimex(b))';

/**
 * The kernel's own verdict on the clock, from adjtimex(2): what NTP daemons set and `timedatectl`
 * reads as NTPSynchronized. The kernel exposes it in neither /proc nor /sys, so this tries
 * `adjtimex --print` (Debian package adjtimex), then python3's ctypes.
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
