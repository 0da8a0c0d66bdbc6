import { describe, expect, it } from 'vitest';
import { LossTracker } from './loss.js';

describe('LossTracker', () => {
  it('counts gaps, late datagrams, wraps and restarts modulo 2^32', () => {
    const t = new LossTracker();
    const obs = (seq: number, count: number, up = -1, win = 1024) => t.observe('e', '10', 1, seq, count, up, win);
    obs(4294967290, 10); // expects 4 after wrapping
    obs(4, 5); // in order across the wrap
    obs(19, 1); // 9..18 lost
    obs(12, 1); // late, within the window: fills part of the gap, so it is not lost
    expect(t.get('e', '10', 1)).toEqual({ received: 17, lost: 9, duplicates: 0, reordered: 1, resets: 0 });
    obs(12, 1); // the same again: a duplicate
    expect(t.get('e', '10', 1)).toEqual({ received: 18, lost: 9, duplicates: 1, reordered: 1, resets: 0 });
    obs(20, 4000);
    obs(0, 3); // 4020 behind without uptime: an IPFIX exporter restart, not a late datagram
    obs(3, 1);
    expect(t.get('e', '10', 1)).toMatchObject({ lost: 9, duplicates: 1, resets: 1 });
    obs(3_000_000, 1); // an absurd jump forward is a restart, not 3 M lost records
    expect(t.get('e', '10', 1)).toMatchObject({ lost: 9, resets: 2 });
  });

  it('uses uptime going back as a restart even when the sequence looks plausible', () => {
    const t = new LossTracker();
    t.observe('e', '9', 0, 10, 1, 50_000);
    t.observe('e', '9', 0, 11, 1, 60_000);
    t.observe('e', '9', 0, 12, 1, 100); // rebooted and happened to continue numbering
    expect(t.get('e', '9', 0)).toEqual({ received: 3, lost: 0, duplicates: 0, resets: 1 });
  });

  it('takes a late datagram with a slightly older uptime as late, not as a reboot', () => {
    const t = new LossTracker();
    t.observe('e', '9', 0, 1, 1, 50_000);
    t.observe('e', '9', 0, 3, 1, 50_020); // 2 is missing
    t.observe('e', '9', 0, 2, 1, 50_010); // ... and arrives late
    t.observe('e', '9', 0, 4, 1, 50_030);
    // late, not lost and then found again: counted once, as reordered (issue 20 item 4)
    expect(t.get('e', '9', 0)).toEqual({ received: 4, lost: 0, duplicates: 0, reordered: 1, resets: 0 });
  });

  it('tells reordered from duplicated datagrams and never counts a late one as lost (generated sequences)', () => {
    const t = new LossTracker();
    const obs = (seq: number, count: number) => t.observe('e', '5', 0, seq, count, -1, 3000);
    // v5 numbers flows: datagrams of 30 flows; 3 swapped with 4, 6 sent twice, 9 never arrives
    for (const d of [0, 1, 2, 4, 3, 5, 6, 6, 7, 8, 10, 11]) obs(d * 30, 30);
    expect(t.get('e', '5', 0)).toEqual({ received: 360, lost: 30, duplicates: 1, reordered: 1, resets: 0 });
    // a datagram split over two gaps' worth of reordering: 13 and 14 missing, 14 arrives, then 13
    for (const d of [12, 15, 14, 13]) obs(d * 30, 30);
    expect(t.get('e', '5', 0)).toMatchObject({ lost: 30, duplicates: 1, reordered: 3 });
    // 17 more gaps: the one of datagram 9 is forgotten (MAX_GAPS), so its late arrival stays lost
    for (let d = 16; d < 50; d += 2) obs(d * 30, 30);
    expect(t.get('e', '5', 0)).toMatchObject({ lost: 30 + 16 * 30, reordered: 3 });
    obs(9 * 30, 30);
    expect(t.get('e', '5', 0)).toMatchObject({ lost: 30 + 16 * 30, duplicates: 2, reordered: 3, resets: 0 });
    obs(47 * 30, 30); // a remembered gap is still filled
    expect(t.get('e', '5', 0)).toMatchObject({ lost: 30 + 15 * 30, duplicates: 2, reordered: 4 });
  });

  it('does not advance on an unknown count and bounds the number of streams', () => {
    const t = new LossTracker({ maxStreams: 2 });
    t.observe('a', '10', 0, 0, -1);
    t.observe('a', '10', 0, 50, 5); // previous count unknown: resynchronise, no loss claimed
    t.observe('a', '10', 0, 55, 1);
    expect(t.get('a', '10', 0)).toEqual({ received: 6, lost: 0, duplicates: 0, resets: 0 });
    t.observe('b', '10', 0, 0, 1);
    t.observe('c', '10', 0, 0, 1);
    expect(t.get('c', '10', 0)).toBeUndefined();
    expect(t.records('flow', 0)).toHaveLength(2);
  });

  it('keeps sFlow sample streams apart per kind and source, compact or expanded ids alike', () => {
    const t = new LossTracker();
    const dg = t.stream('e', 'sflow5', '0');
    expect(dg).toBeDefined();
    const parent = dg as NonNullable<typeof dg>;
    const sample = (kind: string, type: number, index: number, seq: number) => {
      const s = t.child(parent, kind, type, index);
      if (s) t.advance(s, seq, 1);
    };
    sample('flow', 0, 3, 1);
    sample('flow', 0, 3, 3); // 2 lost
    sample('counters', 0, 3, 10);
    sample('counters', 0, 3, 11);
    sample('flow', 0, 0x1000003, 7); // expanded: index past 24 bits is its own stream
    sample('flow', 0, 0x1000003, 8);
    sample('flow', 1, 3, 5); // another source type
    expect(t.get('e', 'sflow5', '0/flow/0:3')).toEqual({ received: 2, lost: 1, duplicates: 0, resets: 0 });
    expect(t.get('e', 'sflow5', '0/counters/0:3')).toEqual({ received: 2, lost: 0, duplicates: 0, resets: 0 });
    expect(t.get('e', 'sflow5', `0/flow/0:${0x1000003}`)).toEqual({ received: 2, lost: 0, duplicates: 0, resets: 0 });
    expect(t.get('e', 'sflow5', '0/flow/1:3')).toMatchObject({ received: 1 });
    expect(t.records('flow', 0)).toHaveLength(5);
  });

  it('sums each exporter over its export streams for /metrics, sFlow sample streams left out', () => {
    const t = new LossTracker();
    t.observe('e', '5', 0, 0, 10);
    t.observe('e', '5', 0, 20, 10); // 10 flows lost
    t.observe('e', '9', 7, 0, 1);
    t.observe('e', '9', 7, 2, 1); // 1 packet lost
    const dg = t.stream('e', 'sflow5', '0');
    if (!dg) throw new Error('stream not tracked');
    t.advance(dg, 1, 1);
    t.advance(dg, 2, 1);
    for (const [type, index] of [[0, 3], [0, 0x1000003]] as const) {
      const s = t.child(dg, 'flow', type, index);
      if (!s) throw new Error('sample stream not tracked');
      t.advance(s, 1, 1);
      t.advance(s, 5, 1); // lost samples, not counted again
    }
    t.observe('f', '10', 0, 0, 3);
    expect(t.exporterTotals()).toEqual(
      new Map([
        ['e', { received: 20 + 2 + 2, lost: 10 + 1 }],
        ['f', { received: 3, lost: 0 }],
      ]),
    );
  });
});
