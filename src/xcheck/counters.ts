/**
 * SNMP octet counters of one interface over time, so a flow interval's window [start, end] can be
 * matched with the octets the interface counted in the same window: the counter's value at a
 * moment between two polls is interpolated linearly (traffic inside a poll interval is taken as
 * even; the error is bounded by what moved in the poll intervals at the window's edges).
 */

export interface CounterSample {
  /** Poll time on our clock, Unix ms. */
  t: number;
  in: number;
  out: number;
}

/** Samples older than the newest minus this are pruned. */
const KEEP_MS = 30 * 60_000;

export class CounterHistory {
  private samples: CounterSample[] = [];

  /** A poll's counters; a counter that went backwards (reboot, wrap of a 32-bit counter, reset) starts afresh. */
  add(s: CounterSample): void {
    const last = this.samples[this.samples.length - 1];
    if (last && s.t <= last.t) return;
    if (last && (s.in < last.in || s.out < last.out)) this.samples = [];
    this.samples.push(s);
    const oldest = s.t - KEEP_MS;
    let drop = 0;
    while (drop < this.samples.length - 2 && (this.samples[drop + 1] as CounterSample).t < oldest) drop++;
    if (drop) this.samples.splice(0, drop);
  }

  /** Keeps the newest `n` samples. */
  trim(n: number): void {
    if (this.samples.length > n) this.samples.splice(0, this.samples.length - n);
  }

  newest(): number {
    return this.samples[this.samples.length - 1]?.t ?? -Infinity;
  }

  /** Counter values at `t`, or undefined when no two polls since the last reset bracket it. */
  at(t: number): { in: number; out: number } | undefined {
    const a = this.samples;
    for (let i = a.length - 1; i > 0; i--) {
      const hi = a[i] as CounterSample;
      const lo = a[i - 1] as CounterSample;
      if (lo.t <= t && t <= hi.t) {
        const f = (t - lo.t) / (hi.t - lo.t);
        return { in: lo.in + f * (hi.in - lo.in), out: lo.out + f * (hi.out - lo.out) };
      }
    }
    return undefined;
  }

  /** Octets counted in [start, end], per direction. */
  delta(start: number, end: number): { in: number; out: number } | undefined {
    const a = this.at(start);
    const b = this.at(end);
    return a && b ? { in: b.in - a.in, out: b.out - a.out } : undefined;
  }
}
