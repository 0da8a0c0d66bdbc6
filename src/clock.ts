/**
 * The collector's timeline: epoch milliseconds that advance with the monotonic clock, so a step of
 * the system's wall clock (a VM resumed, `date -s`, a daemon's makestep) does not move the times we
 * stamp on records or the boundaries of aggregation intervals. Differences from the wall clock are
 * absorbed by slewing at most `SLEW` of elapsed time, as chronyd and ntpd slew rather than step:
 * the timeline never goes back and never jumps, so an interval label is neither repeated nor
 * skipped, and a correct wall clock is still followed, within 20 s per second of error.
 *
 * One exception: a forward step while the host's sync daemon says the clock is synchronised is a
 * correction (chronyd's makestep after a VM was resumed from a snapshot, whose monotonic clock did
 * not count the time it was stopped), and is followed at once: slewing it would stamp hours of
 * records late. The labels it passes over are time this process did not run. Back steps are always
 * slewed: following one would reopen intervals already written.
 */
import { performance } from 'node:perf_hooks';

/** Share of elapsed time by which the timeline may run fast or slow to catch up with the wall clock. */
export const SLEW = 0.05;

export interface Timeline {
  /** Epoch ms on the collector's timeline. */
  now(): number;
}

export interface ClockSources {
  wallMs(): number;
  monoMs(): number;
}

const systemClock: ClockSources = { wallMs: () => Date.now(), monoMs: () => performance.now() };

export class SteadyClock implements Timeline {
  private base: number;
  private baseMono: number;

  constructor(
    private readonly src: ClockSources = systemClock,
    /** True while the host's clock is known to be synchronised (monitor/timesync.ts). */
    private readonly synced: () => boolean = () => false,
  ) {
    this.baseMono = src.monoMs();
    this.base = src.wallMs();
  }

  now(): number {
    const mono = this.src.monoMs();
    const elapsed = mono - this.baseMono;
    if (elapsed <= 0) return this.base;
    const free = this.base + elapsed;
    const gap = this.src.wallMs() - free;
    const limit = elapsed * SLEW;
    if (gap > limit && this.synced()) this.base = free + gap;
    else this.base = free + (gap > limit ? limit : gap < -limit ? -limit : gap);
    this.baseMono = mono;
    return this.base;
  }

  /** Wall clock minus the timeline: what is left to slew (positive: the wall clock is ahead). */
  behindMs(): number {
    return this.src.wallMs() - this.now();
  }
}
