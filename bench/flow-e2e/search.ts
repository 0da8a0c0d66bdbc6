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
  /** True when the best trial passed at the sender's own ceiling: the receiver may take more. */
  senderBound: boolean;
  trials: string[];
}

export interface SearchOptions {
  lo: number;
  hi: number;
  steps: number;
}

class Search {
  good: number;
  bad: number;
  best = 0;
  senderBound = false;
  done = false;
  readonly trials: string[] = [];

  constructor(
    private readonly opts: SearchOptions,
    readonly trial: (rate: number) => Promise<TrialResult>,
  ) {
    this.good = opts.lo;
    this.bad = opts.hi;
  }

  next(): number {
    return Math.sqrt(this.good * this.bad);
  }

  record(target: number, r: TrialResult): void {
    this.trials.push(`${Math.round(target)}/s -> ${Math.round(r.achieved)}/s ${r.ok ? 'ok' : `LOSS ${r.detail}`}`);
    const short = r.achieved < target * 0.97;
    if (r.ok) {
      if (r.achieved > this.best) {
        this.best = r.achieved;
        this.senderBound = short;
      }
      this.good = Math.max(this.good, r.achieved);
      // the sender could not go faster: nothing above can be tried
      if (short) this.done = true;
    } else this.bad = Math.min(this.bad, r.achieved);
    if (this.bad / this.good < 1.03) this.done = true;
  }

  result(): SearchResult {
    return { rate: this.best, failedAt: this.bad >= this.opts.hi ? Infinity : this.bad, senderBound: this.senderBound, trials: this.trials };
  }
}

/** Runs the searches for several receivers in lockstep; results in the same order. */
export async function searchAll(trials: ((rate: number) => Promise<TrialResult>)[], opts: SearchOptions): Promise<SearchResult[]> {
  const searches = trials.map((t) => new Search(opts, t));
  for (let step = 0; step < opts.steps; step++) {
    for (const s of searches) {
      if (s.done) continue;
      const target = s.next();
      s.record(target, await s.trial(target));
    }
  }
  return searches.map((s) => s.result());
}
