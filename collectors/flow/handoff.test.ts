/** Loss streams handed from one processor to the next per bus partition (generated v5 sequences). */
import { describe, expect, it } from 'vitest';
import { lossHandoff } from './handoff.js';
import { LossTracker } from './loss.js';
import { LossWindow } from './loss-ratio.js';

/** v5 datagrams of 30 flows of exporter `e` at these sequence numbers, uptime growing with them. */
function feed(t: LossTracker, e: string, seqs: number[]): void {
  for (const seq of seqs) t.observe(e, '5', 0, seq, 30, 50_000 + seq, 3000);
}

const partitionOf = (e: string): number => (e === 'a' ? 0 : 1);

describe('lossHandoff', () => {
  it('saves each partition\'s exporters apart, and the next owner continues them with no false gap', () => {
    const old = new LossTracker();
    feed(old, 'a', [0, 30, 90]); // 30 lost
    feed(old, 'b', [0, 30]);
    const saved = lossHandoff(old).save(partitionOf);
    expect([...saved.keys()].sort()).toEqual([0, 1]);
    const next = new LossTracker();
    expect(lossHandoff(next).load(JSON.parse(JSON.stringify(saved.get(0))))).toEqual(['a']);
    feed(next, 'a', [120, 150]);
    expect(next.get('a', '5', 0)).toEqual({ received: 150, lost: 30, duplicates: 0, resets: 0 });
    expect(next.get('b', '5', 0)).toBeUndefined();
    // a real gap right at the hand-over is counted
    const other = new LossTracker();
    lossHandoff(other).load(saved.get(1));
    feed(other, 'b', [90]);
    expect(other.get('b', '5', 0)).toEqual({ received: 90, lost: 30, duplicates: 0, resets: 0 });
  });

  it('replaces what the taker knew of those exporters, and forgets a partition handed away', () => {
    const stale = new LossTracker();
    feed(stale, 'a', [0]); // held the partition long ago: its expectation is 30
    const owner = new LossTracker();
    feed(owner, 'a', [0, 30, 60, 90]);
    lossHandoff(stale).load(lossHandoff(owner).save(partitionOf).get(0));
    feed(stale, 'a', [120]);
    expect(stale.get('a', '5', 0)).toEqual({ received: 150, lost: 0, duplicates: 0, resets: 0 });
    lossHandoff(stale).forget((e) => e === 'a');
    expect(stale.get('a', '5', 0)).toBeUndefined();
    expect(stale.records('flow', 0)).toEqual([]);
  });

  it('the next owner\'s first interval counts only its own loss, not the totals it took over (loss_ratio)', () => {
    const old = new LossTracker();
    feed(old, 'a', [0, 30, 90]); // 30 of 120 lost before the hand-over
    const next = new LossTracker();
    lossHandoff(next).load(lossHandoff(old).save(partitionOf).get(0));
    const w = new LossWindow();
    feed(next, 'a', [120, 150]);
    const first = w.next(next.exporterTotals(), new Map([['a', 2]]), 0, next.takeRestored());
    expect(first.get('a')).toMatchObject({ ratio: 0, seqReceived: 60, seqLost: 0 });
    feed(next, 'a', [210]); // 30 lost now
    const second = w.next(next.exporterTotals(), new Map([['a', 3]]), 0, next.takeRestored());
    expect(second.get('a')).toMatchObject({ ratio: 0.5, seqReceived: 30, seqLost: 30 });
  });

  it('refuses a state that is not one, and saves nothing for exporters of no known partition', () => {
    expect(() => lossHandoff(new LossTracker()).load({ v: 2 })).toThrow(/not a loss state/);
    const t = new LossTracker();
    feed(t, 'a', [0]);
    expect(lossHandoff(t).save(() => undefined).size).toBe(0);
  });
});
