/**
 * `netvigil doctor [--json] [--root DIR] [--want-rcvbuf SIZE] [--sample DURATION]`: a one-shot
 * report of whether this machine is fit to collect. Exit 0 when nothing failed (warnings allowed),
 * 1 when a check failed, 2 on bad arguments.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseDuration, parseSize } from '../config/units.js';
import { monitorConfigSchema } from './config.js';
import { runChecks, type Check, type SampleResult } from './doctor-checks.js';
import { HostFs } from './hostfs.js';
import { parseProcStat } from './procfs.js';
import { readSyncState } from './timesync.js';

export type { Check } from './doctor-checks.js';

interface DoctorArgs {
  json: boolean;
  root: string;
  wantRcvbuf: number;
  sampleMs: number;
}

const USAGE = 'usage: netvigil doctor [--json] [--root DIR] [--want-rcvbuf SIZE] [--sample DURATION]';

function parseArgs(args: string[], root: string): DoctorArgs | string {
  const out: DoctorArgs = { json: false, root, wantRcvbuf: 32 * 1024 * 1024, sampleMs: 2000 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? args[++i];
    if (flag === '--json') out.json = true;
    else if (flag === '--root') {
      const v = value();
      if (!v) return '--root needs a directory';
      out.root = v;
    } else if (flag === '--want-rcvbuf') {
      const v = parseSize(value() ?? '');
      if (v === undefined || v <= 0) return '--want-rcvbuf needs a size like 32MiB';
      out.wantRcvbuf = v;
    } else if (flag === '--sample') {
      const raw = value() ?? '';
      // a bare number is ambiguous (2 read as 2 ms sampled nothing); only 0 needs no unit
      const v = raw === '0' ? 0 : /^\d+$/.test(raw) ? undefined : parseDuration(raw);
      if (v === undefined) return `--sample needs a duration with a unit like 2s or 500ms (0 skips the live sample), got ${JSON.stringify(raw)}`;
      out.sampleMs = v;
    } else return `unknown argument ${JSON.stringify(a)}`;
  }
  return out;
}

/** Watches steal and event-loop stalls for `ms`. Reads /proc/stat through the same root as the rest. */
async function sample(fs: HostFs, ms: number): Promise<SampleResult> {
  const before = parseProcStat(fs.read('/proc/stat') ?? '');
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  let late = 0;
  let expected = performance.now() + 50;
  const t = setInterval(() => {
    const now = performance.now();
    late = Math.max(late, now - expected);
    expected = now + 50;
  }, 50);
  await new Promise((r) => setTimeout(r, ms));
  clearInterval(t);
  h.disable();
  const after = parseProcStat(fs.read('/proc/stat') ?? '');
  const total = before && after ? after.total - before.total : 0;
  const res: SampleResult = { ms, loopMaxMs: h.count > 0 ? h.max / 1e6 : 0, timerLateMs: late };
  if (before && after && total > 0) res.stealPct = ((after.steal - before.steal) / total) * 100;
  return res;
}

const MARK: Record<Check['status'], string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };

function render(checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = ['netvigil doctor: is this machine fit to collect?'];
  for (const c of checks) {
    lines.push(`  [${MARK[c.status]}] ${c.name.padEnd(width)}  ${c.detail}`);
    if (c.advice && c.status !== 'ok') lines.push(`  ${' '.repeat(8 + width)}-> ${c.advice}`);
  }
  const n = (s: Check['status']): number => checks.filter((c) => c.status === s).length;
  lines.push(`${n('ok')} ok, ${n('warn')} warn, ${n('fail')} fail`);
  return `${lines.join('\n')}\n`;
}

export async function runDoctor(
  args: string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  opts?: { root?: string; env?: Readonly<Record<string, string | undefined>> },
): Promise<number> {
  const a = parseArgs(args, opts?.root ?? '/');
  if (typeof a === 'string') {
    io.stderr.write(`${a}\n${USAGE}\n`);
    return 2;
  }
  const fs = new HostFs(a.root);
  const t = monitorConfigSchema.parse({}).thresholds;
  const [sync, sampled] = await Promise.all([
    readSyncState(fs, { timeoutMs: 1000 }),
    a.sampleMs > 0 ? sample(fs, a.sampleMs) : Promise.resolve(undefined),
  ]);
  const checks = runChecks({
    fs,
    // A snapshot tree has no environment of its own; only the live root reads ours.
    env: opts?.env ?? (a.root === '/' ? process.env : {}),
    wantRcvbuf: a.wantRcvbuf,
    sync,
    sample: sampled,
    steal: { warn: t.steal_pct.degraded ?? Infinity, fail: t.steal_pct.untrusted ?? Infinity },
    stall: { warn: t.loop_stall_ms.degraded ?? Infinity, fail: t.loop_stall_ms.untrusted ?? Infinity },
  });
  const failed = checks.some((c) => c.status === 'fail');
  if (a.json) {
    const n = (s: Check['status']): number => checks.filter((c) => c.status === s).length;
    io.stdout.write(`${JSON.stringify({ root: a.root, checks, summary: { ok: n('ok'), warn: n('warn'), fail: n('fail') } }, null, 2)}\n`);
  } else {
    io.stdout.write(render(checks));
  }
  return failed ? 1 : 0;
}
