/**
 * A device's rate state handed from one poller to the next (ratestate.ts): the successor's first
 * update yields the rate the previous poller would have computed, with the same wrap and reboot
 * rules; generated samples (edge cases), times given explicitly, no clock read.
 */
import { describe, expect, it } from 'vitest';
import { RateTracker, type InterfaceSample } from './rates.js';
import { loadRateState, saveRateState } from './ratestate.js';

const sample = (octets: bigint, bits: 32 | 64 = 64, discontinuity?: bigint): InterfaceSample => ({
  ifIndex: 3,
  counters: { in_octets: { value: octets, bits }, out_octets: { value: octets * 2n, bits } },
  ...(discontinuity !== undefined ? { discontinuity } : {}),
  speedBps: 1_000_000_000n,
});

/** Poller A samples at wall 1_000_000 (its mono 500); B loads at wall 1_010_000 (its mono 70_000), through JSON. */
function handOver(prevUptime: bigint, prev: InterfaceSample): RateTracker {
  const a = new RateTracker();
  a.update({ uptimeTicks: prevUptime, monoMs: 500 }, [prev]);
  const doc = JSON.parse(JSON.stringify(saveRateState(a, 1_000_000 + 200, 700))) as unknown;
  const b = new RateTracker();
  expect(loadRateState(b, doc, 1_010_000, 70_000)).toBe(1_000_000);
  return b;
}

describe('rate state across a takeover', () => {
  it('gives the first rate at once, on the device clock', () => {
    const b = handOver(100_000n, sample(1_000_000n));
    // 10.00 s of sysUpTime later (the wall times say 10 s too), 1.25 MB more in
    const r = b.update({ uptimeTicks: 101_000n, monoMs: 70_000 }, [sample(2_250_000n)]);
    expect(b.lastStep).toEqual({ kind: 'delta', ms: 10_000, source: 'device' });
    expect(r.get(3)).toMatchObject({ in_bps: 1_000_000, out_bps: 2_000_000 });
  });

  it('keeps the wrap rule: a 32-bit counter that wrapped is an increase', () => {
    const b = handOver(100_000n, sample((1n << 32n) - 1000n, 32));
    const r = b.update({ uptimeTicks: 101_000n, monoMs: 70_000 }, [sample(1000n, 32)]);
    expect(r.get(3)?.in_bps).toBe((2000 * 8) / 10);
  });

  it('keeps the reboot rule: sysUpTime gone back yields no rate, not a spike', () => {
    const b = handOver(100_000n, sample(1_000_000n));
    const r = b.update({ uptimeTicks: 300n, monoMs: 70_000 }, [sample(5n)]);
    expect(b.lastStep).toEqual({ kind: 'reset', reason: 'reboot' });
    expect(r.size).toBe(0);
  });

  it('keeps the discontinuity rule (ifCounterDiscontinuityTime changed)', () => {
    const b = handOver(100_000n, sample(1_000_000n, 64, 7n));
    expect(b.update({ uptimeTicks: 101_000n, monoMs: 70_000 }, [sample(2_000_000n, 64, 9n)]).size).toBe(0);
  });

  it('has nothing to hand over before the first poll', () => {
    expect(saveRateState(new RateTracker(), 1, 1)).toBeUndefined();
  });

  it('refuses a malformed document with a clear error and leaves the tracker as it was', () => {
    const b = new RateTracker();
    for (const bad of [null, {}, { v: 2, at: 1, ifs: [] }, { v: 1, at: 1, ifs: [[3, { in_octets: '12/16' }]] }, { v: 1, at: 1, ifs: [[3, { bogus: '1/64' }]] }, { v: 1, at: 1, uptime: '-1', ifs: [] }, { v: 1, at: 1, ifs: [['x', {}]] }]) {
      expect(() => loadRateState(b, bad, 10, 10)).toThrow(/rate state/);
    }
    expect(b.last()).toBeUndefined();
  });
});
