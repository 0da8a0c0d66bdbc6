/**
 * The rate search: the highest rate a receiver takes with zero loss, in a fixed number of trials.
 * A geometric bisection between the best passing and the lowest failing rate, since the
 * interesting rates span two orders of magnitude (pmacct's ~40 k v9 datagrams/s to a bare socket's
 * ~300 k); starting in the middle rather than at the top keeps the first trial from flooding a
 * slow receiver with seconds of backlog. A trial is judged at the rate the sender really achieved.
 * Several receivers are searched in lockstep, one trial each per step, so a noisy moment on this
 * 2-core machine hits all of them rather than one.
 */

export interface TrialResult {
  ok: boolean;
  /** Datagrams/s the sender really achieved. */
  achieved: number;
  /** Why it failed, for the report. */
  detail: string;
}

export interface SearchResult {
  /** Achieved rate of the best loss-free trial (0 when none passed). */
  rate: number;
  /** The lowest rate that lost something (Infinity when none failed). */
  failedAt: number;
  /** True when the best trial passed while the sender fell short of its target: the receiver may take more. */
  senderBound: boolean;
  trials: string[];
}

export interface SearchOptions {
  lo: number;
  hi: number;
  steps: number;
}

class Search {
  private readonly runs: { achieved: number; ok: boolean; short: boolean; disturbed: boolean }[] = [];
  readonly trials: string[] = [];

  constructor(
    private readonly opts: SearchOptions,
    readonly trial: (rate: number) => Promise<TrialResult>,
  ) {}

  /**
   * The lowest rate that lost anything. A lossy trial the sender could not run at rate even on the
   * retry is left out: whatever held up the sender's core (other work on this machine) most likely
   * held up the receiver's too, so it says nothing about the rate.
   */
  private bad(): number {
    return Math.min(this.opts.hi, ...this.runs.filter((r) => !r.ok && !r.disturbed).map((r) => r.achieved));
  }

  /**
   * The best loss-free rate below the lowest lossy one: a pass above a loss is noise on this shared
   * machine (another process took the core during the lossy trial), so it never inflates the result.
   */
  private good(): number {
    const bad = this.bad();
    let best = 0;
    for (const r of this.runs) if (r.ok && r.achieved < bad && r.achieved > best) best = r.achieved;
    return best;
  }

  /**
   * Where to look next: below the lowest loss, counting here also the lossy trials the sender could
   * not run at rate (at the rate it did reach). They never lower the result (bad() leaves them
   * out), but without them a receiver that loses at a rate the sender cannot reach on a busy
   * machine would be tried at that same rate trial after trial.
   */
  private ceiling(): number {
    const good = this.good();
    let c = this.bad();
    for (const r of this.runs) if (!r.ok && r.disturbed && r.achieved > good * 1.03) c = Math.min(c, r.achieved);
    return c;
  }

  get done(): boolean {
    return this.ceiling() / Math.max(this.good(), this.opts.lo) < 1.03;
  }

  next(): number {
    return Math.sqrt(Math.max(this.good(), this.opts.lo) * this.ceiling());
  }

  record(target: number, r: TrialResult): void {
    const how = r.ok ? 'ok' : `LOSS ${r.detail}${r.achieved < target * 0.97 ? ' (sender held up: not counted)' : ''}`;
    this.trials.push(`${Math.round(target)}/s -> ${Math.round(r.achieved)}/s ${how}`);
    // far below target (twice) is the sender's own ceiling; either way the trial counts at the
    // rate achieved
    this.runs.push({ achieved: r.achieved, ok: r.ok, short: r.achieved < target * 0.85, disturbed: r.achieved < target * 0.97 });
  }

  result(): SearchResult {
    const good = this.good();
    const bad = this.bad();
    // the sender fell short of its target in the best trial: the receiver may take more than this
    const senderBound = this.runs.some((r) => r.ok && r.short && r.achieved === good);
    return { rate: good, failedAt: bad >= this.opts.hi ? Infinity : bad, senderBound, trials: this.trials };
  }
}

/** Runs the searches for several receivers in lockstep; results in the same order. */
export async function searchAll(trials: ((rate: number) => Promise<TrialResult>)[], opts: SearchOptions): Promise<SearchResult[]> {
  const searches = trials.map((t) => new Search(opts, t));
  for (let step = 0; step < opts.steps; step++) {
    for (const s of searches) {
      if (s.done) continue;
      const target = s.next();
      let r = await s.trial(target);
      // the sender was held up (its core is shared with whatever else runs here): the trial did
      // not test the rate it was meant to, so it is run once more and the second result counts
      if (r.achieved < target * 0.97) r = await s.trial(target);
      s.record(target, r);
    }
  }
  return searches.map((s) => s.result());
}
