/**
 * The VM resource monitor: samples host and process signals every interval, turns them into a
 * trust verdict with hysteresis, keeps a bounded history of verdict intervals for the pipeline to
 * stamp on records, and writes host signals and verdict changes as records of their own.
 */
import { performance } from 'node:perf_hooks';
import type { HostSignals } from '../collector.js';
import type { Logger } from '../log.js';
import type { NetRecord } from '../record/record.js';
import type { MonitorConfig } from './config.js';
import { evaluate, median, type IntervalSignals } from './evaluate.js';
import { HostFs } from './hostfs.js';
import { SignalInbox } from './inbox.js';
import { LoopWatch } from './loopwatch.js';
import { clockStepRecord, exporterClockRecord, hostRecord, socketRecord, verdictRecord, type ProcessSignals } from './records.js';
import { HostSampler, type UdpFamily } from './sampler.js';
import { readClockSource, readSyncState, type SyncState } from './timesync.js';
import { VerdictMachine, type VerdictWindow } from './verdict.js';

export { monitorConfigSchema, type MonitorConfig } from './config.js';
export type { VerdictWindow } from './verdict.js';

export interface MonitorClock {
  /** The system's wall clock: a step is its movement minus the monotonic clock's. */
  wallMs(): number;
  /** Must advance with real time: the sampling timer is a real timer. */
  monoMs(): number;
  /**
   * The timeline records are stamped on (src/clock.ts), when it is not the wall clock: verdict
   * history and our records live on it, so records' `collectedAt` find their verdict after a step.
   */
  timeMs?(): number;
}

export interface MonitorDeps {
  emit(r: NetRecord): void;
  log: Logger;
  root?: string;
  clock?: MonitorClock;
}

export interface ResourceMonitor extends HostSignals {
  start(): void;
  stop(): void;
  /** Worst verdict in force at any time in [fromMs, toMs] (wall-clock ms). */
  verdictFor(fromMs: number, toMs: number): VerdictWindow;
  current(): VerdictWindow & { since: number };
  /** JSON-able snapshot for a status page. */
  status(): unknown;
  /** The host's clock sync state as last read (undefined: not known). */
  synced(): boolean | undefined;
  /** Sample now, outside the timer (tests, and a final sample at shutdown). */
  tick(): void;
  /**
   * Wall time up to which verdicts are final. A finding is placed at the start of the interval it
   * was measured in, so windows later than this may still be raised by the next sample.
   */
  settledUntil(): number;
}

const defaultClock: MonitorClock = { wallMs: () => Date.now(), monoMs: () => performance.now() };
const MAX_INTERVALS = 4096;

export function createMonitor(config: MonitorConfig, deps: MonitorDeps): ResourceMonitor {
  const clock = deps.clock ?? defaultClock;
  const log = deps.log;
  const fs = new HostFs(deps.root ?? '/');
  const sampler = new HostSampler(fs);
  const timeMs = (): number => (clock.timeMs ? clock.timeMs() : clock.wallMs());
  const verdict = new VerdictMachine(config.recover_after, config.history, MAX_INTERVALS, timeMs());
  const inbox = new SignalInbox(config.max_exporters);
  let sync: SyncState = { source: 'unknown', detail: 'not checked yet' };
  let syncCheckedAt = -Infinity;
  let syncInFlight = false;
  const clocksource = readClockSource(fs).current;

  const loop = new LoopWatch(config.stall_check, () => clock.monoMs());
  let timer: NodeJS.Timeout | undefined;
  let expectedMono = 0;
  let prevWall = clock.wallMs();
  let prevTime = timeMs();
  let prevMono = clock.monoMs();
  const usage0 = process.resourceUsage();
  let prevCpuUs = usage0.userCPUTime + usage0.systemCPUTime;
  let prevMajflt = usage0.majorPageFault;
  let settled = prevTime;
  let ticks = 0;
  let last: { time: number; fields: Record<string, unknown> } | undefined;
  let running = false;

  function refreshSync(mono: number): void {
    if (syncInFlight || mono - syncCheckedAt < config.timesync_check) return;
    syncInFlight = true;
    syncCheckedAt = mono;
    readSyncState(fs, { timeoutMs: config.timesync_timeout, chronyc: config.timesync_chronyc, chronySocket: config.timesync_chrony_socket ?? undefined })
      .then((s) => {
        if (s.synced !== sync.synced || s.source !== sync.source) log.info({ sync: s }, 'clock sync state');
        sync = s;
      })
      .catch((e: unknown) => log.warn({ err: e }, 'clock sync state check failed'))
      .finally(() => {
        syncInFlight = false;
      });
  }

  function tick(lateMs = 0): void {
    const t0 = performance.now();
    const wall = clock.wallMs();
    const time = timeMs();
    const mono = clock.monoMs();
    const elapsed = mono - prevMono;
    const step = wall - prevWall - elapsed;
    const usage = process.resourceUsage();
    const cpuUs = usage.userCPUTime + usage.systemCPUTime - prevCpuUs;
    prevCpuUs += cpuUs;
    const majflt = usage.majorPageFault - prevMajflt;
    prevMajflt = usage.majorPageFault;
    const host = sampler.sample(mono, inbox.portSets);
    const inb = inbox.take();

    const ls = loop.take();
    let socketDrops = 0;
    for (const s of host?.sockets.values() ?? []) socketDrops += s.drops;
    const offs = [...inb.offsets.values()].map((o) => o.sum / o.count);
    const signals: IntervalSignals = {
      host,
      elapsedMs: elapsed,
      procMajorFaults: majflt,
      loopStallMs: Math.max(ls.maxMs, lateMs),
      clockStepMs: step,
      ...(clock.timeMs ? { timelineOffsetMs: wall - time } : {}),
      exporterOffsetMedianMs: median(offs),
      exporters: offs.length,
      snmpRequests: inb.snmpRequests,
      snmpTimeouts: inb.snmpTimeouts,
      socketDrops,
      synced: sync.synced,
      sync: { offsetMs: sync.offsetMs, stratum: sync.stratum, reference: sync.reference },
      exporterPaths: inb.paths.size,
    };
    const stepLimit = config.thresholds.clock_step_ms.degraded ?? config.thresholds.clock_step_ms.untrusted ?? Infinity;
    if (time < prevTime) verdict.noteWallStep(prevTime, time);
    const change = verdict.observe(evaluate(signals, config), mono, prevTime, time);
    const proc: ProcessSignals = {
      cpuPct: elapsed > 0 ? (cpuUs / 1000 / elapsed) * 100 : 0,
      rssBytes: process.memoryUsage.rss(),
      loopP50Ms: ls.p50Ms,
      loopP99Ms: ls.p99Ms,
      loopMaxMs: ls.beats > 0 ? ls.maxMs : undefined,
      timerDriftMs: lateMs,
      driftPpm: elapsed > 0 && Math.abs(step) <= stepLimit ? (step / elapsed) * 1e6 : undefined,
      tickMs: performance.now() - t0,
    };
    if (Math.abs(step) > stepLimit) {
      log.warn({ stepMs: step }, `wall clock stepped ${step > 0 ? 'forward' : 'back'} by ${Math.abs(step).toFixed(1)} ms`);
      deps.emit(clockStepRecord(time, step));
    }
    if (change) {
      log.warn({ verdict: change.to, previous: change.from, reasons: change.reasons }, 'VM trust verdict changed');
      deps.emit(verdictRecord(change));
    }
    const rec = hostRecord(time, signals, proc, verdict.current(), { clocksource, sync: sync.source }, stepLimit);
    deps.emit(rec);
    for (const [key, s] of host?.sockets ?? []) {
      const [family, port] = key.split(':');
      deps.emit(socketRecord(time, inbox.collectorOf(family as UdpFamily, Number(port)), key, s.drops, s.rxQueue, s.sockets));
    }
    for (const [exporter, o] of inb.offsets) deps.emit(exporterClockRecord(time, exporter, o));
    prevWall = wall;
    prevTime = time;
    prevMono = mono;
    settled = time;
    ticks++;
    last = { time, fields: Object.fromEntries(Object.entries(rec.fields).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])) };
    refreshSync(mono);
  }

  function schedule(): void {
    const delay = Math.max(0, expectedMono - clock.monoMs());
    timer = setTimeout(onTimer, delay);
    // The monitor watches the process; it must not be what keeps it alive.
    timer.unref();
  }

  function onTimer(): void {
    if (!running) return;
    const late = Math.max(0, clock.monoMs() - expectedMono);
    // Sample from the check phase: after a stall the loop watch's timer, due in the same timers
    // phase as ours, has then recorded the stall, so it lands in this interval, not the next.
    setImmediate(() => {
      if (!running) return;
      try {
        tick(late);
      } catch (e) {
        log.error({ err: e }, 'resource monitor sample failed');
      }
      reschedule();
    });
  }

  function reschedule(): void {
    expectedMono += config.interval;
    // After a long pause, realign instead of firing a burst of catch-up ticks.
    if (expectedMono < clock.monoMs()) expectedMono = clock.monoMs() + config.interval;
    schedule();
  }

  const monitor: ResourceMonitor = {
    start() {
      // Disabled: no timers and no records; verdictFor keeps answering `ok`.
      if (running || !config.enabled) return;
      running = true;
      loop.start();
      prevWall = clock.wallMs();
      prevTime = timeMs();
      prevMono = clock.monoMs();
      const usage = process.resourceUsage();
      prevCpuUs = usage.userCPUTime + usage.systemCPUTime;
      prevMajflt = usage.majorPageFault;
      sampler.sample(prevMono, inbox.portSets);
      refreshSync(prevMono);
      expectedMono = prevMono + config.interval;
      schedule();
    },
    stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      loop.stop();
    },
    tick: () => tick(0),
    settledUntil: () => settled,
    synced: () => sync.synced,
    verdictFor: (from, to) => verdict.verdictFor(from, to),
    current: () => verdict.current(),
    udpSocket: (collector, family, port) => inbox.udpSocket(collector, family, port),
    udpSocketClosed: (family, port) => inbox.udpSocketClosed(family, port),
    exporterClockOffset: (exporter, offsetMs) => inbox.exporterClockOffset(exporter, offsetMs),
    exporterPath: (exporter, crossed) => inbox.exporterPath(exporter, crossed),
    snmpRequest: (outcome) => inbox.snmpRequest(outcome),
    status() {
      const c = verdict.current();
      return {
        verdict: c.verdict,
        reasons: [...c.reasons],
        since: new Date(c.since).toISOString(),
        enabled: config.enabled,
        running,
        ticks,
        clocksource: clocksource ?? null,
        sync,
        sockets: [...inbox.ports].flatMap(([family, m]) => [...m].map(([port, collector]) => ({ family, port, collector }))),
        last_sample: last ? { time: new Date(last.time).toISOString(), ...last.fields } : null,
        history: verdict.intervals().slice(-20).map((i) => ({ ...i, until: Number.isFinite(i.until) ? i.until : null })),
        queries_before_history: verdict.beforeHistory,
        exporters_refused: inbox.refused,
      };
    },
  };
  return monitor;
}
