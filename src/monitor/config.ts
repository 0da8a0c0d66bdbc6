import { z } from 'zod';
import { duration } from '../config/units.js';

/**
 * A threshold pair: crossing `degraded` or `untrusted` raises the verdict to that level. `null`
 * switches that level off for the signal (e.g. CPU pressure inside the guest is never, on its own,
 * a reason to distrust data).
 */
function level(degraded: number | null, untrusted: number | null) {
  return z
    .strictObject({
      degraded: z.number().nonnegative().nullable().default(degraded),
      untrusted: z.number().nonnegative().nullable().default(untrusted),
    })
    .prefault({});
}

/* Defaults: chosen so a healthy, busy VM stays `ok`. Each comment says what crossing costs. */
export const thresholdsSchema = z
  .strictObject({
    /** % of CPU time the hypervisor ran someone else while we were runnable. */
    steal_pct: level(5, 20),
    /**
     * PSI cpu `some`: share of the interval some task waited for a CPU. Off by default: it measures
     * load inside the guest (any busy 2-vCPU machine shows 30-50 %), not the hypervisor; when that
     * load hurts us it shows as `loop_stall` or `socket_drops`. Still written in `vm_host`.
     */
    psi_cpu_pct: level(null, null),
    /** PSI memory `some` (host, or the cgroup's on cgroup v2): reclaim stalls. */
    psi_memory_pct: level(10, 40),
    /** PSI io `full`: every task stalled on I/O (spool writes, swap). */
    psi_io_pct: level(30, null),
    /** Pages swapped in plus out per second: a swapped collector stalls for milliseconds per fault. */
    swap_pages_per_s: level(1, 256),
    /** Major page faults of our own process per second: we were waiting on disk for our memory. */
    major_faults_per_s: level(10, 200),
    /** Share of CFS periods in which our cgroup hit its CPU quota. */
    cgroup_throttled_pct: level(10, 50),
    /** Longest event-loop stall or timer lateness in the interval (a paused VM shows here). */
    loop_stall_ms: level(200, 1000),
    /** Wall clock moved this much more or less than the monotonic clock within one interval. */
    clock_step_ms: level(50, 1000),
    /** Median exporter clock offset across exporters: when all disagree with us, we are wrong. */
    clock_offset_ms: level(2000, null),
    /** Datagrams the kernel dropped on our own sockets in one interval: any drop is lost data. */
    socket_drops: level(0, 1000),
    /**
     * Host-wide UDP InErrors + RcvbufErrors in one interval. Off by default: they include other
     * processes' sockets; ours are watched one by one (`socket_drops`). Turn on when collectors
     * cannot register their sockets. Always written in `vm_host`.
     */
    udp_errors: level(null, null),
    /** Share of SNMP requests that timed out in the interval. */
    snmp_timeout_pct: level(20, 80),
  })
  .prefault({});

export const monitorConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** How often signals are sampled and `vm_host` is written. */
  interval: duration().default(5000),
  /** A verdict only improves after every cause has been absent this long (hysteresis). */
  recover_after: duration({ zero: true }).default(30_000),
  /** How far back verdictFor(from, to) can answer; older windows get the oldest state kept. */
  history: duration().default(3_600_000),
  /**
   * Period of the event-loop watch timer. A stall is measured to within one period, and each
   * wakeup costs ~50 µs of CPU in a VM: 100 ms is ~0.1 % of a core.
   */
  stall_check: duration().default(100),
  /** How often the clock sync state is re-read (it may run `chronyc`/`timedatectl`, so rarely). */
  timesync_check: duration().default(300_000),
  timesync_timeout: duration().default(1000),
  /** chronyc to ask chronyd with (a name on PATH or an absolute path). */
  timesync_chronyc: z.string().min(1).default('chronyc'),
  /** chronyd's command socket (its `bindcmdaddress`); null: chronyc's default (/run/chrony/chronyd.sock). */
  timesync_chrony_socket: z.string().min(1).nullable().default(null),
  /**
   * A forward wall-clock step while the host's clock is synchronised is a correction: record times
   * follow it at once instead of slewing (src/clock.ts).
   */
  follow_synced_steps: z.boolean().default(true),
  /** A known "not synchronised" state is a `clock_unsynced` reason (degraded). */
  unsynced_is_degraded: z.boolean().default(true),
  /** Fewer SNMP requests than this in an interval are too few for a timeout rate. */
  snmp_min_requests: z.number().int().positive().default(5),
  /** Exporters needed before their median offset says anything about our clock. */
  clock_offset_min_exporters: z.number().int().positive().default(2),
  /** Cap on exporters tracked for clock offsets (memory bound against spoofed sources). */
  max_exporters: z.number().int().positive().default(10_000),
  thresholds: thresholdsSchema,
});

export type MonitorConfig = z.output<typeof monitorConfigSchema>;
export type Thresholds = MonitorConfig['thresholds'];
export type ThresholdName = keyof Thresholds;
