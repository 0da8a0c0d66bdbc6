import type { Verdict } from '../record/record.js';

export interface VerdictWindow {
  verdict: Verdict;
  reasons: readonly string[];
}

/** One problem seen in one interval, at the level its threshold says. */
export interface Finding {
  reason: string;
  level: Exclude<Verdict, 'ok'>;
}

export const RANK: Readonly<Record<Verdict, number>> = { ok: 0, degraded: 1, untrusted: 2 };
const OK: VerdictWindow = Object.freeze({ verdict: 'ok', reasons: Object.freeze([]) as readonly string[] });

interface Interval {
  since: number;
  /** Wall ms at which the next interval began; +Infinity while this one is in force. */
  until: number;
  window: VerdictWindow;
  /**
   * Latest `until` of every older interval. Normally it is this interval's `since`; after the wall
   * clock stepped back it is later, and it tells a backward scan that older intervals still overlap.
   */
  olderUntil: number;
}

export interface VerdictChange {
  from: Verdict;
  to: Verdict;
  since: number;
  reasons: readonly string[];
}

/**
 * The verdict state machine and the bounded history of its intervals on the wall clock.
 *
 * Hysteresis: a finding raises the verdict at once (and from the start of the interval in which it
 * was measured, because the signal covers that whole interval); the verdict falls only after every
 * finding of the higher level has been absent for `recoverAfterMs`. Each (reason, level) pair is
 * held separately, so falling from untrusted passes through degraded if a lesser cause remains.
 */
export class VerdictMachine {
  private readonly active = new Map<string, { reason: string; level: Finding['level']; lastSeen: number }>();
  private readonly hist: Interval[] = [];
  private head = 0;
  private cacheFrom = NaN;
  private cacheTo = NaN;
  private cacheResult: VerdictWindow = OK;
  private version = 0;
  private cacheVersion = -1;
  /** Queries for windows that end before the oldest interval kept; answered with that interval. */
  beforeHistory = 0;

  constructor(
    private readonly recoverAfterMs: number,
    private readonly retentionMs: number,
    private readonly maxIntervals: number,
    startWall: number,
  ) {
    this.hist.push({ since: startWall, until: Infinity, window: OK, olderUntil: -Infinity });
  }

  private get cur(): Interval {
    return this.hist[this.hist.length - 1] as Interval;
  }

  /**
   * Feed one interval's findings. `monoNow` drives hysteresis (immune to wall steps); `intervalStartWall`
   * and `nowWall` place the change on the wall clock records are stamped with.
   */
  observe(findings: readonly Finding[], monoNow: number, intervalStartWall: number, nowWall: number): VerdictChange | undefined {
    for (const f of findings) this.active.set(`${f.reason}|${f.level}`, { reason: f.reason, level: f.level, lastSeen: monoNow });
    let level: Verdict = 'ok';
    const reasons: string[] = [];
    for (const [key, a] of this.active) {
      // A cause seen in this very interval always counts, even with recover_after 0.
      if (a.lastSeen < monoNow && monoNow - a.lastSeen >= this.recoverAfterMs) {
        this.active.delete(key);
        continue;
      }
      if (RANK[a.level] > RANK[level]) level = a.level;
      if (!reasons.includes(a.reason)) reasons.push(a.reason);
    }
    reasons.sort();
    const cur = this.cur;
    const before = cur.window.verdict;
    if (level === before) {
      // Same level: widen the interval's reasons so a query later sees every cause it covered.
      const add = reasons.filter((r) => !cur.window.reasons.includes(r));
      if (add.length > 0) this.setWindow(cur, { verdict: level, reasons: [...cur.window.reasons, ...add].sort() });
      this.prune(nowWall);
      return undefined;
    }
    const raising = RANK[level] > RANK[before];
    let since = raising ? Math.min(intervalStartWall, nowWall) : nowWall;
    if (since < cur.since) since = cur.since;
    const window: VerdictWindow = level === 'ok' ? OK : { verdict: level, reasons };
    if (since <= cur.since) {
      this.setWindow(cur, window);
    } else {
      cur.until = since;
      this.hist.push({ since, until: Infinity, window: freeze(window), olderUntil: Math.max(cur.olderUntil, since) });
      this.version++;
    }
    this.prune(nowWall);
    return { from: before, to: level, since, reasons };
  }

  /** A wall-clock step back: later intervals start before earlier ones ended; keep the scan honest. */
  noteWallStep(prevWall: number, nowWall: number): void {
    const cur = this.cur;
    if (nowWall >= prevWall) return;
    cur.until = Math.max(prevWall, cur.since);
    this.hist.push({ since: nowWall, until: Infinity, window: cur.window, olderUntil: Math.max(cur.olderUntil, cur.until) });
    this.version++;
  }

  current(): VerdictWindow & { since: number } {
    const c = this.cur;
    return { verdict: c.window.verdict, reasons: c.window.reasons, since: c.since };
  }

  /**
   * Worst verdict in force at any time in [from, to]. O(1) when the window is inside the current
   * interval; older windows scan back only as far as they reach, and a repeated query is cached.
   */
  verdictFor(from: number, to: number): VerdictWindow {
    if (to < from) [from, to] = [to, from];
    const cur = this.cur;
    // Fast path: the window lies inside the current interval and no older interval reaches into it
    // (one can, after the wall clock stepped back).
    if (from >= cur.since && from > cur.olderUntil) return cur.window;
    if (from === this.cacheFrom && to === this.cacheTo && this.cacheVersion === this.version) return this.cacheResult;
    let worst: VerdictWindow | undefined;
    let reasons: string[] | undefined;
    for (let i = this.hist.length - 1; i >= this.head; i--) {
      const e = this.hist[i] as Interval;
      if (e.since <= to && e.until >= from) {
        if (!worst || RANK[e.window.verdict] > RANK[worst.verdict]) {
          worst = e.window;
          reasons = undefined;
        } else if (e.window.verdict === worst.verdict && e.window.verdict !== 'ok') {
          reasons ??= [...worst.reasons];
          for (const r of e.window.reasons) if (!reasons.includes(r)) reasons.push(r);
        }
      }
      if (e.olderUntil < from) break;
    }
    let result: VerdictWindow;
    if (!worst) {
      this.beforeHistory++;
      result = (this.hist[this.head] as Interval).window;
    } else {
      result = reasons ? freeze({ verdict: worst.verdict, reasons: reasons.sort() }) : worst;
    }
    this.cacheFrom = from;
    this.cacheTo = to;
    this.cacheVersion = this.version;
    this.cacheResult = result;
    return result;
  }

  /** Intervals kept, oldest first (for status pages and tests). */
  intervals(): Array<{ since: number; until: number } & VerdictWindow> {
    return this.hist.slice(this.head).map((e) => ({ since: e.since, until: e.until, ...e.window }));
  }

  private setWindow(e: Interval, w: VerdictWindow): void {
    e.window = freeze(w);
    this.version++;
  }

  private prune(nowWall: number): void {
    const oldest = nowWall - this.retentionMs;
    while (this.hist.length - this.head > 1) {
      const e = this.hist[this.head] as Interval;
      if (e.until >= oldest && this.hist.length - this.head <= this.maxIntervals) break;
      this.head++;
    }
    // Compact rarely so pruning stays O(1) amortized.
    if (this.head > 256 && this.head * 2 > this.hist.length) {
      this.hist.splice(0, this.head);
      this.head = 0;
    }
  }
}

function freeze(w: VerdictWindow): VerdictWindow {
  return w === OK ? w : Object.freeze({ verdict: w.verdict, reasons: Object.freeze([...w.reasons]) });
}
