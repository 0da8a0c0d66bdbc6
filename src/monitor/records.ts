import { int, makeRecord, type Fields, type HealthRecord } from '../record/record.js';
import type { IntervalSignals } from './evaluate.js';
import type { VerdictChange, VerdictWindow } from './verdict.js';
import { RANK } from './verdict.js';

/** Process-side numbers the monitor measures itself (not from /proc). */
export interface ProcessSignals {
  cpuPct: number;
  rssBytes: number;
  loopP50Ms?: number;
  loopP99Ms?: number;
  loopMaxMs?: number;
  timerDriftMs: number;
  driftPpm?: number;
  tickMs: number;
}

const optInt = (n: number | undefined): bigint | undefined => (n === undefined ? undefined : int(Math.round(n)));

/**
 * `vm_host`, one per interval. Integers are counts in the interval, floats are percentages and
 * milliseconds. A field whose source is missing on this host is left out, never written as 0.
 */
export function hostRecord(
  time: number,
  s: IntervalSignals,
  p: ProcessSignals,
  v: VerdictWindow,
  tags: { clocksource?: string; sync?: string },
  stepThresholdMs: number,
): HealthRecord {
  const h = s.host;
  const f: Fields = {
    interval_ms: h?.elapsedMs,
    steal_pct: h?.stealPct,
    cpu_busy_pct: h?.cpuBusyPct,
    psi_cpu_pct: h?.psiCpuPct,
    psi_memory_pct: h?.psiMemoryPct,
    psi_memory_full_pct: h?.psiMemoryFullPct,
    psi_io_pct: h?.psiIoPct,
    psi_io_full_pct: h?.psiIoFullPct,
    swap_in_pages: optInt(h?.swapIn),
    swap_out_pages: optInt(h?.swapOut),
    major_faults: optInt(h?.majorFaults),
    cgroup_throttled_pct: h?.cgroupThrottledPct,
    cgroup_throttled_ms: h?.cgroupThrottledMs,
    cgroup_memory_pressure_pct: h?.cgroupMemoryPressurePct,
    cgroup_memory_bytes: optInt(h?.cgroupMemoryUsage),
    cgroup_memory_limit_bytes: optInt(h?.cgroupMemoryLimit),
    udp_in_errors: optInt(h?.udpInErrors),
    udp_rcvbuf_errors: optInt(h?.udpRcvbufErrors),
    socket_drops: int(s.socketDrops),
    proc_cpu_pct: p.cpuPct,
    proc_rss_bytes: int(p.rssBytes),
    proc_major_faults: int(s.procMajorFaults),
    loop_delay_p50_ms: p.loopP50Ms,
    loop_delay_p99_ms: p.loopP99Ms,
    loop_delay_max_ms: p.loopMaxMs,
    timer_drift_ms: p.timerDriftMs,
    loop_stall_ms: s.loopStallMs,
    clock_drift_ms: s.clockStepMs,
    clock_drift_ppm: p.driftPpm,
    clock_step_ms: Math.abs(s.clockStepMs) > stepThresholdMs ? s.clockStepMs : undefined,
    timeline_offset_ms: s.timelineOffsetMs,
    clock_synced: s.synced,
    clock_sync_offset_ms: s.sync?.offsetMs,
    clock_sync_stratum: optInt(s.sync?.stratum),
    clock_sync_reference: s.sync?.reference,
    exporter_offset_ms: s.exporterOffsetMedianMs,
    exporters: int(s.exporters),
    snmp_requests: int(s.snmpRequests),
    snmp_timeouts: int(s.snmpTimeouts),
    monitor_tick_ms: p.tickMs,
    verdict: v.verdict,
    reasons: v.reasons.join(','),
  };
  return makeRecord('health', 'vm_host', { clocksource: tags.clocksource, sync: tags.sync }, f, time);
}

/** `vm_verdict`, one per change, stamped at the start of the new verdict (an annotation's time). */
export function verdictRecord(c: VerdictChange): HealthRecord {
  return makeRecord(
    'health',
    'vm_verdict',
    {},
    { verdict: c.to, previous: c.from, level: int(RANK[c.to]), reasons: c.reasons.join(',') },
    c.since,
  );
}

/** `vm_clock_step`, one per step: a jump of the wall clock against the monotonic clock. */
export function clockStepRecord(time: number, stepMs: number): HealthRecord {
  return makeRecord('health', 'vm_clock_step', { direction: stepMs > 0 ? 'forward' : 'back' }, { step_ms: stepMs }, time);
}

/** `vm_socket`, per registered UDP socket per interval. */
export function socketRecord(time: number, collector: string, key: string, drops: number, rxQueue: number, sockets: number): HealthRecord {
  const [family, port] = key.split(':');
  return makeRecord(
    'health',
    'vm_socket',
    { collector, family, port },
    { drops: int(drops), rx_queue_bytes: int(rxQueue), sockets: int(sockets) },
    time,
  );
}

/** `vm_exporter_clock`, per exporter that reported an offset in the interval. */
export function exporterClockRecord(time: number, exporter: string, o: { sum: number; count: number; min: number; max: number }): HealthRecord {
  return makeRecord(
    'health',
    'vm_exporter_clock',
    { exporter },
    { offset_ms: o.sum / o.count, offset_min_ms: o.min, offset_max_ms: o.max, samples: int(o.count) },
    time,
  );
}
