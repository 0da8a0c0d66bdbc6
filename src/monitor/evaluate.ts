import type { MonitorConfig, ThresholdName } from './config.js';
import type { HostDelta } from './sampler.js';
import type { Finding } from './verdict.js';

/** Everything measured over one interval, host and process side. */
export interface IntervalSignals {
  host?: HostDelta;
  elapsedMs: number;
  /** Major page faults of this process in the interval (code or heap paged back in). */
  procMajorFaults: number;
  /** Longest event-loop delay or timer lateness seen in the interval. */
  loopStallMs: number;
  /** Wall-clock movement minus monotonic movement over the interval (positive: forward step). */
  clockStepMs: number;
  /** Wall clock minus the records' timeline (src/clock.ts) still to be slewed away after a step. */
  timelineOffsetMs?: number;
  exporterOffsetMedianMs?: number;
  exporters: number;
  snmpRequests: number;
  snmpTimeouts: number;
  socketDrops: number;
  synced?: boolean;
  /** What the sync daemon says of our clock: offset from its reference, stratum, reference. */
  sync?: { offsetMs?: number; stratum?: number; reference?: string };
  /** Exporters whose data path crossed a `collectors.flow.exporter_path` threshold. */
  exporterPaths?: number;
}

/**
 * Turns one interval's signals into findings. Only the highest level crossed is reported per
 * signal; the hysteresis in VerdictMachine keeps a fallen level in force while it recovers.
 */
export function evaluate(s: IntervalSignals, cfg: MonitorConfig): Finding[] {
  const t = cfg.thresholds;
  const out: Finding[] = [];
  const check = (name: ThresholdName, value: number | undefined, reason: (limit: number) => string): void => {
    if (value === undefined || !Number.isFinite(value)) return;
    const { degraded, untrusted } = t[name];
    if (untrusted !== null && value > untrusted) out.push({ reason: reason(untrusted), level: 'untrusted' });
    else if (degraded !== null && value > degraded) out.push({ reason: reason(degraded), level: 'degraded' });
  };
  const h = s.host;
  if (h) {
    const perS = (n: number | undefined): number | undefined => (n === undefined || h.elapsedMs <= 0 ? undefined : (n * 1000) / h.elapsedMs);
    check('steal_pct', h.stealPct, (l) => `steal>${l}%`);
    check('psi_cpu_pct', h.psiCpuPct, (l) => `cpu_pressure>${l}%`);
    check('psi_memory_pct', maxOf(h.psiMemoryPct, h.cgroupMemoryPressurePct), (l) => `memory_pressure>${l}%`);
    check('psi_io_pct', h.psiIoFullPct, (l) => `io_pressure>${l}%`);
    const swapped = h.swapIn === undefined && h.swapOut === undefined ? undefined : (h.swapIn ?? 0) + (h.swapOut ?? 0);
    check('swap_pages_per_s', perS(swapped), () => 'swapping');
    check('cgroup_throttled_pct', h.cgroupThrottledPct, (l) => `cpu_throttled>${l}%`);
    const udpErr = h.udpInErrors === undefined && h.udpRcvbufErrors === undefined ? undefined : (h.udpInErrors ?? 0) + (h.udpRcvbufErrors ?? 0);
    check('udp_errors', udpErr, () => 'udp_errors');
  }
  // Our own major faults, not the host's: other processes starting up fault in their binaries,
  // which says nothing about whether we were stalled.
  if (s.elapsedMs > 0) check('major_faults_per_s', (s.procMajorFaults * 1000) / s.elapsedMs, () => 'major_faults');
  check('loop_stall_ms', s.loopStallMs, () => 'loop_stall');
  check('clock_step_ms', Math.abs(s.clockStepMs), () => 'clock_step');
  // While the timeline slews, record times and the wall clock disagree: which one is right is not
  // known here (exporter offsets and sync state tell), so the records are degraded, no worse.
  const slewing = t.clock_step_ms.degraded ?? t.clock_step_ms.untrusted;
  if (s.timelineOffsetMs !== undefined && slewing !== null && Math.abs(s.timelineOffsetMs) > slewing) out.push({ reason: 'clock_slewing', level: 'degraded' });
  check('socket_drops', s.socketDrops, () => 'socket_drops');
  if (s.exporters >= cfg.clock_offset_min_exporters && s.exporterOffsetMedianMs !== undefined) {
    check('clock_offset_ms', Math.abs(s.exporterOffsetMedianMs), () => 'clock_offset');
  }
  if (s.snmpRequests >= cfg.snmp_min_requests) {
    check('snmp_timeout_pct', (s.snmpTimeouts / s.snmpRequests) * 100, (l) => `snmp_timeouts>${l}%`);
  }
  // thresholds are the flow collector's (per exporter); this only says the data path is suspect
  if (s.exporterPaths) out.push({ reason: 'exporter_path', level: 'degraded' });
  if (s.synced === false && cfg.unsynced_is_degraded) out.push({ reason: 'clock_unsynced', level: 'degraded' });
  return out;
}

function maxOf(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

/** Median of a small array (sorts a copy). */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}
