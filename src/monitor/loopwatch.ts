/**
 * Event-loop stall watch: one repeating timer whose lateness is the loop's delay. A VM that was
 * paused or descheduled shows here even when steal misses it, because this process could not run.
 *
 * One JS timer rather than perf_hooks.monitorEventLoopDelay: every wakeup costs ~50 µs in a VM,
 * so the period is what the watch costs, and the native histogram has a flaw for interval use:
 * reset() forgets the previous timer fire, so a stall that straddles a reset is never recorded.
 * Lateness of a beat is a lower bound on the stall that delayed it (the stall may have started up
 * to one period before the beat was due), so the period is also the measurement's resolution.
 */
export interface LoopStats {
  /** Beats that ended in the interval. */
  beats: number;
  p50Ms?: number;
  p99Ms?: number;
  /** Worst lateness, including a stall still in progress at the time of the read. */
  maxMs: number;
}

const CAP = 4096;

export class LoopWatch {
  private readonly late = new Float64Array(CAP);
  private n = 0;
  private worst = 0;
  private last = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly periodMs: number,
    private readonly monoMs: () => number,
  ) {}

  start(): void {
    if (this.timer) return;
    this.last = this.monoMs();
    this.timer = setInterval(() => this.beat(), this.periodMs);
    // Watching the process must not keep it alive.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private beat(): void {
    const now = this.monoMs();
    const l = Math.max(0, now - this.last - this.periodMs);
    this.last = now;
    if (l > this.worst) this.worst = l;
    // Past the cap (a very long interval) only the maximum is kept exact.
    if (this.n < CAP) this.late[this.n++] = l;
  }

  /** Stats since the previous take(); resets them. */
  take(): LoopStats {
    const running = this.timer !== undefined;
    const pending = running ? Math.max(0, this.monoMs() - this.last - this.periodMs) : 0;
    const out: LoopStats = { beats: this.n, maxMs: Math.max(this.worst, pending) };
    if (this.n > 0) {
      const v = this.late.slice(0, this.n).sort();
      out.p50Ms = v[Math.min(this.n - 1, Math.floor(this.n * 0.5))];
      out.p99Ms = v[Math.min(this.n - 1, Math.floor(this.n * 0.99))];
    }
    this.n = 0;
    this.worst = 0;
    return out;
  }
}
