/** The loss state survives a restart: counters continue, the downtime's gap is counted apart (generated sequences). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LossTracker } from './loss.js';
import { LOSS_FILE, lossState, MAX_DOWN_MS, readLossState, restoreLoss, writeLossState, writeLossStateSync } from './losspersist.js';
import { Numbering } from './numbering.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'netvigil-loss-'));
  dirs.push(d);
  return d;
};

/** A tracker that saw v5 datagrams of 30 flows at seq 0, 30, 90 (30 lost) with uptime 50 s. */
function before(): LossTracker {
  const t = new LossTracker();
  for (const seq of [0, 30, 90]) t.observe('e', '5', 0, seq, 30, 50_000 + seq, 3000);
  return t;
}

/** Saved at 1_000_000 through the file, restored into a new tracker at `now`. */
async function restart(t: LossTracker, now: number, sync = false): Promise<{ t: LossTracker; resumed: string }> {
  const dir = tmp();
  if (sync) writeLossStateSync(dir, lossState(t, 1_000_000));
  else await writeLossState(dir, lossState(t, 1_000_000));
  const next = new LossTracker();
  const st = readLossState(dir);
  if (!st) throw new Error('no state written');
  return { t: next, resumed: restoreLoss(next, st, now).resumed };
}

describe('loss state across a restart', () => {
  it('continues the counters and counts what was sent while down as lost_while_down', async () => {
    for (const sync of [false, true]) {
      const { t } = await restart(before(), 1_060_000, sync);
      expect(t.get('e', '5', 0)).toEqual({ received: 90, lost: 30, duplicates: 0, resets: 0 });
      // expected 120; 5 datagrams (150 flows) went out while no process listened
      t.observe('e', '5', 0, 270, 30, 110_000, 3000);
      t.observe('e', '5', 0, 300, 30, 110_010, 3000);
      expect(t.get('e', '5', 0)).toEqual({ received: 150, lost: 180, lostWhileDown: 150, duplicates: 0, resets: 0 });
      const rec = t.records('flow', 0)[0];
      expect(rec?.fields).toMatchObject({ received: 150n, lost: 180n, lost_while_down: 150n });
      // only the first datagram is measured across the downtime: later gaps are network loss
      t.observe('e', '5', 0, 360, 30, 110_020, 3000);
      expect(t.get('e', '5', 0)).toMatchObject({ lost: 210, lostWhileDown: 150 });
    }
  });

  it('counts a reset, not loss, when the exporter rebooted meanwhile, stepped back, or the state is too old', async () => {
    const rebooted = await restart(before(), 1_060_000);
    rebooted.t.observe('e', '5', 0, 600, 30, 2_000, 3000); // uptime 2 s < 50 s saved
    expect(rebooted.t.get('e', '5', 0)).toEqual({ received: 120, lost: 30, duplicates: 0, resets: 1 });

    const back = await restart(before(), 1_060_000);
    back.t.observe('e', '5', 0, 0, 30, -1, 3000); // sequence restarted, no uptime to tell
    expect(back.t.get('e', '5', 0)).toEqual({ received: 120, lost: 30, duplicates: 0, resets: 1 });

    const old = await restart(before(), 1_000_000 + MAX_DOWN_MS + 1);
    expect(old.resumed).toBe('reset');
    old.t.observe('e', '5', 0, 270, 30, 700_000, 3000);
    expect(old.t.get('e', '5', 0)).toEqual({ received: 120, lost: 30, duplicates: 0, resets: 1 });

    const huge = await restart(before(), 1_060_000);
    huge.t.observe('e', '5', 0, 120 + 2_000_000, 30, 110_000, 3000); // beyond resetGap
    expect(huge.t.get('e', '5', 0)).toEqual({ received: 120, lost: 30, duplicates: 0, resets: 1 });
  });

  it('keeps a learned numbering and sFlow sample streams', async () => {
    const t = new LossTracker();
    // softflowd-style IPFIX: sequence counts flows including the message's own (FlowsAfter)
    let seq = 0;
    for (let i = 0; i < 10; i++) {
      seq += 20;
      t.observeMessage('e', '10', 1, { seq, records: 20, flows: 20, uptimeMs: -1 }, Numbering.Records);
    }
    const parent = t.stream('e', 'sflow5', '0');
    if (!parent) throw new Error('no stream');
    t.advance(parent, 7, 1, 9_000, 100);
    const child = t.child(parent, 'flow', 0, 3);
    if (child) t.advance(child, 40, 1, 9_000, 100);
    // reading a stream still learning settles a copy: that is no change to save
    const learning = new LossTracker();
    learning.observeMessage('e', '10', 2, { seq: 20, records: 20, flows: 20, uptimeMs: -1 }, Numbering.Records);
    const seen = learning.changes;
    expect(seen).toBeGreaterThan(0);
    learning.records('flow', 0);
    lossState(learning, 0);
    expect(learning.changes).toBe(seen);
    const r = await restart(t, 1_001_000);
    // two messages missed while down, then one more: 40 records in the learned unit
    r.t.observeMessage('e', '10', 1, { seq: seq + 60, records: 20, flows: 20, uptimeMs: -1 }, Numbering.Records);
    expect(r.t.get('e', '10', 1)).toEqual({ received: 220, lost: 40, lostWhileDown: 40, duplicates: 0, resets: 0 });
    const p = r.t.stream('e', 'sflow5', '0');
    if (!p) throw new Error('no stream');
    r.t.advance(p, 10, 1, 12_000, 100);
    const c = r.t.child(p, 'flow', 0, 3);
    if (c) r.t.advance(c, 41, 1, 12_000, 100);
    expect(r.t.get('e', 'sflow5', '0')).toEqual({ received: 2, lost: 2, lostWhileDown: 2, duplicates: 0, resets: 0 });
    expect(r.t.get('e', 'sflow5', '0/flow/0:3')).toEqual({ received: 2, lost: 0, duplicates: 0, resets: 0 });
    // the sample stream is still left out of the exporter's totals
    expect(r.t.exporterTotals().get('e')).toEqual({ received: 222, lost: 42 });
  });

  it('rejects a damaged file with a clear error', () => {
    const dir = tmp();
    writeFileSync(join(dir, LOSS_FILE), JSON.stringify({ v: 1, savedAt: 0, streams: [{ exporter: 'e' }] }));
    expect(() => readLossState(dir)).toThrow(/not a loss state/);
    expect(readLossState(tmp())).toBeUndefined();
  });
});
