import { describe, expect, it } from 'vitest';
import { LossTracker } from './loss.js';
import { Numbering } from './numbering.js';

/** A stream of messages with these record counts, numbered by `seqOf` (options records in `opts`). */
function feed(t: LossTracker, version: '9' | '10', counts: number[], seqOf: (i: number, before: number, flowsBefore: number) => number, opts: number[] = [], skip: number[] = []): void {
  let before = 0;
  let flowsBefore = 0;
  counts.forEach((n, i) => {
    const o = opts[i] ?? 0;
    const seq = seqOf(i, before, flowsBefore) >>> 0;
    before += n;
    flowsBefore += n - o;
    if (skip.includes(i)) return; // lost on the way
    t.observeMessage('e', version, 1, { seq, records: n, flows: n - o, uptimeMs: -1 }, version === '9' ? Numbering.Messages : Numbering.Records);
  });
}

const numbering = (t: LossTracker): unknown => t.records('flow', 0)[0]?.fields['numbering'];
const COUNTS = [21, 26, 27, 26, 26, 26, 26, 26, 27, 26, 26, 26, 27, 27, 26, 12];

describe('sequence numbering learned per stream', () => {
  it('reads softflowd 1.1.0 IPFIX (flows including the message, options not numbered) without false loss', () => {
    const t = new LossTracker();
    // measured from softflowd 1.1.0: 20, 46, 73, ... for 20 flows + 1 options record, then 26, 27, ...
    feed(t, '10', COUNTS, (i, _b, flowsBefore) => flowsBefore + COUNTS[i]! - (i === 0 ? 1 : 0), [1]);
    expect(t.get('e', '10', 1)).toEqual({ received: COUNTS.reduce((a, b) => a + b, 0) - 1, lost: 0, duplicates: 0, resets: 0 });
    expect(numbering(t)).toBe('flows_after');
  });

  it('settles a short stream (fewer messages than the learning window) when asked for its counters', () => {
    const t = new LossTracker();
    feed(t, '10', [21, 26, 14], (i, _b, fb) => fb + [20, 26, 14][i]!, [1]);
    expect(t.get('e', '10', 1)).toEqual({ received: 60, lost: 0, duplicates: 0, resets: 0 });
    // asking twice changes nothing: the copy was settled, the stream still learns
    expect(t.get('e', '10', 1)).toEqual({ received: 60, lost: 0, duplicates: 0, resets: 0 });
  });

  it('counts messages for an IPFIX exporter that numbers messages, and still sees a lost one', () => {
    const t = new LossTracker();
    feed(t, '10', COUNTS, (i) => 1000 + i, [], [11]);
    expect(t.get('e', '10', 1)).toEqual({ received: COUNTS.length - 1, lost: 1, duplicates: 0, resets: 0 });
    expect(numbering(t)).toBe('messages');
  });

  it('keeps the RFC 7011 reading for an exporter that follows it, loss inside the window included', () => {
    const t = new LossTracker();
    feed(t, '10', COUNTS, (_i, before) => before, [], [3]);
    expect(t.get('e', '10', 1)).toMatchObject({ lost: COUNTS[3], duplicates: 0, resets: 0 });
    expect(numbering(t)).toBe('records');
    // one record per message: records and messages read alike, the RFC's rule wins the tie
    const u = new LossTracker();
    feed(u, '10', Array<number>(12).fill(1), (_i, before) => before);
    expect(numbering(u)).toBe('records');
  });

  it('learns a v9 exporter that numbers flows instead of export packets (RFC 3954 §5.1)', () => {
    const t = new LossTracker();
    feed(t, '9', COUNTS, (_i, before) => before, [], [9]);
    expect(t.get('e', '9', 1)).toMatchObject({ lost: COUNTS[9], resets: 0 });
    // without options records in the window, flows and records read alike
    expect(numbering(t)).toBe('flows');
    const rfc = new LossTracker();
    feed(rfc, '9', COUNTS, (i) => i, [], [9]);
    expect(rfc.get('e', '9', 1)).toMatchObject({ received: COUNTS.length - 1, lost: 1 });
    expect(numbering(rfc)).toBe('messages');
  });
});
