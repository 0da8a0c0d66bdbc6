/**
 * Who held the event loop (issue 12 item 4): a bench-only diagnostic loaded by receiver.ts when
 * FLOW_E2E_STALLS is set (the threshold in ms, e.g. 20).
 *
 * A probe timer every PROBE_MS notices a stall as a late tick. For the stall's window it reads the
 * main thread's scheduler accounting (/proc/thread-self/schedstat: time on a CPU and time waiting
 * on a run queue, sched-stats.rst), so a pause because another process had the core (the host,
 * on a shared machine) is told apart from one where this thread ran or blocked. Our own time is
 * named by the longest task that ended in the window: every timer, immediate and socket message
 * callback is timed and labelled by where it was scheduled (file:line of the caller), and GC
 * pauses come from PerformanceObserver `gc` with their kind. Promise continuations after I/O (fs
 * callbacks) run outside any wrapper: on-CPU time no task explains is reported as such, for
 * `--cpu-prof` (profile.ts) to name.
 */
import { Socket } from 'node:dgram';
import { openSync, readSync } from 'node:fs';
import { constants, performance, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

const PROBE_MS = 5;
/** Tasks shorter than this are not kept for attribution (they cannot explain a stall). */
const TASK_FLOOR_MS = 2;
const GC_KINDS: Record<number, string> = { [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks' };

export type StallCause = 'host' | 'gc' | 'task' | 'blocked' | 'unattributed';

export interface Stall {
  /** ms since the tracker started, at the stall's start */
  at: number;
  ms: number;
  /** the main thread on a CPU / waiting for one, ms, over the window */
  cpu: number;
  runqueue: number;
  /** the longest task that ended in the window, and GC in it */
  task?: string;
  taskMs: number;
  gcMs: number;
  gcKind: string;
  cause: StallCause;
}

export interface StallReport {
  thresholdMs: number;
  stalls: Stall[];
  /** stalls by cause, and the longest task per label over the whole window (any length >= floor) */
  byCause: Partial<Record<StallCause, number>>;
  longestTasks: { label: string; ms: number; cpu: number; count: number }[];
  longestGc: { ms: number; kind: string };
  /** GC pauses by kind: count and total ms */
  gcByKind: Record<string, { n: number; ms: number }>;
}

interface Done {
  end: number;
  ms: number;
  /** the thread's CPU time in the task (timers and rare immediates only; -1 not measured) */
  cpu: number;
  label: string;
}

/** Reads utime on CPU and run-queue wait of the calling thread, ns (0s when not available). */
function schedReader(): () => [number, number] {
  let fd = -1;
  try {
    fd = openSync('/proc/thread-self/schedstat', 'r');
  } catch {
    return () => [0, 0];
  }
  const buf = Buffer.alloc(96);
  return () => {
    const n = readSync(fd, buf, 0, buf.length, 0);
    const [run, wait] = buf.toString('latin1', 0, n).split(' ');
    return [Number(run), Number(wait)];
  };
}

export class StallTracker {
  private readonly tasks: Done[] = [];
  private readonly gcs: { start: number; end: number; kind: string }[] = [];
  private stalls: Stall[] = [];
  private longest = new Map<string, { ms: number; cpu: number; count: number }>();
  private gcMax = { ms: 0, kind: '' };
  private gcByKind: StallReport['gcByKind'] = {};
  private readonly t0 = performance.now();
  private readonly sched = schedReader();
  private readonly labels = new WeakMap<object, string>();
  /** The probe's own timer, unwrapped. */
  private readonly setInterval = globalThis.setInterval;

  constructor(private readonly thresholdMs: number) {}

  /** Undoes start(): timers and sockets unwrapped, probe and GC observer gone. */
  stop: () => void = () => undefined;

  start(): void {
    const undo = [this.patchTimers(), this.patchSockets()];
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) this.gc(e);
    });
    obs.observe({ entryTypes: ['gc'] });
    let last = performance.now();
    let [run0, wait0] = this.sched();
    const probe = this.setInterval(() => {
      const now = performance.now();
      const [run, wait] = this.sched();
      if (now - last >= this.thresholdMs + PROBE_MS) this.stall(last, now, (run - run0) / 1e6, (wait - wait0) / 1e6);
      last = now;
      [run0, wait0] = [run, wait];
      this.prune(now);
    }, PROBE_MS);
    probe.unref();
    this.stop = () => {
      clearInterval(probe);
      obs.disconnect();
      for (const u of undo) u();
    };
  }

  /** What was seen since the last take. */
  take(): StallReport {
    const byCause: StallReport['byCause'] = {};
    for (const s of this.stalls) byCause[s.cause] = (byCause[s.cause] ?? 0) + 1;
    const longestTasks = [...this.longest].map(([label, v]) => ({ label, ...v })).sort((a, b) => b.ms - a.ms).slice(0, 8);
    const r: StallReport = { thresholdMs: this.thresholdMs, stalls: this.stalls, byCause, longestTasks, longestGc: this.gcMax, gcByKind: this.gcByKind };
    this.stalls = [];
    this.gcByKind = {};
    this.longest = new Map();
    this.gcMax = { ms: 0, kind: '' };
    return r;
  }

  private stall(from: number, to: number, cpu: number, runqueue: number): void {
    // the late tick's window: the probe was due PROBE_MS after `from`
    const ms = to - from - PROBE_MS;
    let task: Done | undefined;
    for (const t of this.tasks) if (t.end > from && t.end <= to + 1 && (!task || t.ms > task.ms)) task = t;
    let gcMs = 0;
    let gcKind = '';
    for (const g of this.gcs) {
      const o = Math.min(g.end, to) - Math.max(g.start, from);
      if (o > 0) [gcMs, gcKind] = [gcMs + o, gcKind || g.kind];
    }
    const taskMs = task?.ms ?? 0;
    // half the window decides: waiting for a core is the host's; GC or a named task of ours;
    // off the CPU and not queued inside a task of ours is a blocking call (sync I/O, a wait)
    let cause: StallCause = 'unattributed';
    if (runqueue >= ms / 2) cause = 'host';
    else if (gcMs >= ms / 2) cause = 'gc';
    else if (taskMs >= ms / 2) cause = cpu >= ms / 2 ? 'task' : 'blocked';
    this.stalls.push({ at: from - this.t0, ms, cpu, runqueue, ...(task ? { task: task.label } : {}), taskMs, gcMs, gcKind, cause });
  }

  private gc(e: PerformanceEntry): void {
    const kind = GC_KINDS[(e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1] ?? '?';
    if (e.duration > this.gcMax.ms) this.gcMax = { ms: e.duration, kind };
    const k = (this.gcByKind[kind] ??= { n: 0, ms: 0 });
    k.n++;
    k.ms += e.duration;
    if (e.duration >= TASK_FLOOR_MS) this.gcs.push({ start: e.startTime, end: e.startTime + e.duration, kind });
  }

  private done(label: string, start: number, run0 = -1): void {
    const end = performance.now();
    const ms = end - start;
    if (ms < TASK_FLOOR_MS) return;
    const cpu = run0 < 0 ? -1 : (this.sched()[0] - run0) / 1e6;
    this.tasks.push({ end, ms, cpu, label });
    const l = this.longest.get(label);
    if (!l) this.longest.set(label, { ms, cpu, count: 1 });
    else [l.ms, l.cpu, l.count] = [Math.max(l.ms, ms), Math.max(l.cpu, cpu), l.count + 1];
  }

  private prune(now: number): void {
    const keep = now - 10_000;
    while ((this.tasks[0]?.end ?? Infinity) < keep) this.tasks.shift();
    while ((this.gcs[0]?.end ?? Infinity) < keep) this.gcs.shift();
  }

  /** The first caller outside this file and node's internals, once per callback function. */
  private label(fn: object, kind: string): string {
    let l = this.labels.get(fn);
    if (l) return l;
    const site = (new Error().stack ?? '').split('\n').slice(3).find((s) => !/flow-e2e\/stalls\.[jt]s/.test(s) && !s.includes('node:'));
    l = `${kind} ${site?.trim().replace(/^at /, '').replace(/file:\/\/\S*\/dist\//, '') ?? '?'}`;
    this.labels.set(fn, l);
    return l;
  }

  private wrap<A extends unknown[]>(fn: (...a: A) => void, kind: string): (...a: A) => void {
    const label = this.label(fn, kind);
    // the thread's CPU time (a read of schedstat, ~10 µs) for all but the per-turn immediate
    const cpu = kind !== 'setImmediate' || !label.includes('ReceiveTurns');
    return (...a: A) => {
      const run0 = cpu ? this.sched()[0] : -1;
      const t = performance.now();
      try {
        fn(...a);
      } finally {
        this.done(label, t, run0);
      }
    };
  }

  private patchTimers(): () => void {
    const g = globalThis as unknown as Record<'setTimeout' | 'setInterval' | 'setImmediate', (fn: (...a: unknown[]) => void, ...rest: unknown[]) => unknown>;
    const kinds = ['setTimeout', 'setInterval', 'setImmediate'] as const;
    const originals = kinds.map((k) => g[k]);
    for (const k of kinds) {
      const orig = g[k];
      const wrap = this.wrap.bind(this);
      g[k] = function (this: unknown, fn, ...rest) {
        return orig.call(this, typeof fn === 'function' ? wrap(fn, k) : fn, ...rest);
      };
    }
    return () => kinds.forEach((k, i) => (g[k] = originals[i] as (typeof g)[typeof k]));
  }

  private patchSockets(): () => void {
    const emit = Socket.prototype.emit;
    const done = this.done.bind(this);
    Socket.prototype.emit = function (this: Socket, event: string | symbol, ...a: unknown[]) {
      if (event !== 'message') return Reflect.apply(emit, this, [event, ...a]) as boolean;
      const t = performance.now();
      try {
        return Reflect.apply(emit, this, [event, ...a]) as boolean;
      } finally {
        done('dgram message', t);
      }
    };
    return () => void (Socket.prototype.emit = emit);
  }
}

/** One line for a bench note: stalls by cause and length, and the longest of ours. */
export function stallSummary(r: StallReport): string {
  const over = (ms: number, ours: boolean): number => r.stalls.filter((s) => s.ms > ms && (s.cause !== 'host') === ours).length;
  const mine = r.stalls.filter((s) => s.cause !== 'host').sort((a, b) => b.ms - a.ms)[0];
  const longest = mine ? `; longest of ours ${mine.ms.toFixed(0)} ms ${mine.cause}${mine.task ? ` (${mine.task})` : ''}` : '';
  return `stalls > ${r.thresholdMs} / 50 / 100 ms: ours ${over(r.thresholdMs, true)} / ${over(50, true)} / ${over(100, true)}, host (thread waiting for a CPU) ${over(r.thresholdMs, false)} / ${over(50, false)} / ${over(100, false)}${longest}`;
}
