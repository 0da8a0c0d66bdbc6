/**
 * Stamps every record with `vm_verdict`: the worst VM verdict in force while it was collected, as a
 * string field (a tag would multiply the series cardinality of every measurement by up to three).
 *
 * The monitor judges an interval only when it samples at its end, and then backdates the finding to
 * the interval's start. So a record is stamped at dispatch, after the monitor has settled its
 * collection time; the pipeline holds a batch for at most one monitor interval waiting for that.
 */
import type { NetRecord, Verdict } from '../record/record.js';

export interface VerdictSource {
  verdictFor(fromMs: number, toMs: number): { verdict: Verdict; reasons?: readonly string[] };
  /** Wall time up to which verdicts are final. */
  settledUntil(): number;
}

/** A record time older than this is not when we collected it (an exporter's clock, a flow's start). */
const MAX_WINDOW_MS = 10 * 60_000;

export function stampVerdict(r: NetRecord, source: VerdictSource): void {
  const to = r.collectedAt ?? Date.now();
  // Our own timestamps earlier than receipt mark the start of the window (an aggregation interval,
  // a poll); other clocks cannot be compared with ours.
  const from = r.timeSource === 'collector' && r.time <= to && to - r.time < MAX_WINDOW_MS ? r.time : to;
  const v = source.verdictFor(from, to);
  r.fields.vm_verdict = v.verdict;
  // why, where it matters: an `ok` record carries no second field
  if (v.verdict !== 'ok' && v.reasons?.length) r.fields.vm_reasons = v.reasons.join(',');
}
