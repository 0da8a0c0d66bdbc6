/**
 * Per-device poll loops. Each device has its own timer on a fixed grid (start + phase + k*interval)
 * with a random phase so a thousand devices do not fire together (agents and our one event loop
 * drop bursts: 200 polls at once against snmpsim took a 2.7 s median). A global semaphore caps
 * concurrent polls; a dead device backs off exponentially and, while it has not answered, polls
 * in a separate, smaller lane so that many dead devices (each holding a slot for its whole
 * timeout) cannot starve the live ones. No device ever waits on another's timer.
 */

export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async acquire(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }

  get inUse(): number {
    return this.active;
  }
  get queued(): number {
    return this.waiting.length;
  }
}

export interface LoopOptions {
  intervalMs: number;
  /** Delay of the first poll; default a random phase within the interval. */
  phaseMs?: number;
  backoffMaxMs: number;
}

/** Next delay after `failures` consecutive dead polls: interval x 2^(n-1), capped. */
export function backoffDelay(intervalMs: number, failures: number, maxMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(intervalMs * 2 ** Math.min(failures - 1, 30), Math.max(maxMs, intervalMs));
}

/** The two lanes of the concurrency limit: answering devices, and devices that did not answer last time. */
export interface Lanes {
  live: Semaphore;
  suspect: Semaphore;
}

export class PollLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly origin = performance.now();
  private tick = 0;
  private phase = 0;
  private failures = 0;
  private skipUntil = 0;
  overruns = 0;

  constructor(
    private readonly opts: LoopOptions,
    private readonly lanes: Lanes,
    /** Runs one poll; resolves true if the device answered at all. */
    private readonly poll: () => Promise<boolean>,
  ) {}

  start(): void {
    this.phase = this.opts.phaseMs ?? Math.random() * this.opts.intervalMs;
    this.arm(this.phase);
  }

  private arm(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.fire(), Math.max(0, delay));
  }

  private fire(): void {
    this.tick++;
    // Fixed grid: a slow poll does not push every later poll back.
    const next = this.origin + this.phase + this.tick * this.opts.intervalMs;
    this.arm(next - performance.now());
    if (this.running) {
      this.overruns++;
      return;
    }
    if (performance.now() < this.skipUntil) return;
    this.running = this.runOnce().finally(() => (this.running = undefined));
  }

  private async runOnce(): Promise<void> {
    const release = await (this.failures > 0 ? this.lanes.suspect : this.lanes.live).acquire();
    try {
      if (this.stopped) return;
      const alive = await this.poll();
      this.failures = alive ? 0 : this.failures + 1;
      this.skipUntil = alive ? 0 : performance.now() + backoffDelay(this.opts.intervalMs, this.failures, this.opts.backoffMaxMs) - this.opts.intervalMs;
    } finally {
      release();
    }
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Stops the timer and waits for a poll in flight (which is bounded by its time budget). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
