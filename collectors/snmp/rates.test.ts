import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { clockStep, counterDelta, RateTracker, type InterfaceSample } from './rates.js';

const r64 = (v: bigint) => ({ value: v, bits: 64 as const });
const r32 = (v: bigint) => ({ value: v, bits: 32 as const });

describe('clockStep (device timeline)', () => {
  it('uses sysUpTime deltas when they agree with the local clock', () => {
    // agent says 10.00 s passed, we measured 10.7 s because the walk took longer
    expect(clockStep({ uptimeTicks: 1000n, monoMs: 0 }, { uptimeTicks: 2000n, monoMs: 10_700 })).toEqual({ kind: 'delta', ms: 10_000, source: 'device' });
  });
  it('falls back to the monotonic clock when sysUpTime is missing or frozen', () => {
    expect(clockStep({ monoMs: 0 }, { monoMs: 5000 })).toEqual({ kind: 'delta', ms: 5000, source: 'local' });
    expect(clockStep({ uptimeTicks: 7n, monoMs: 0 }, { uptimeTicks: 7n, monoMs: 5000 })).toEqual({ kind: 'delta', ms: 5000, source: 'local' });
  });
  it('detects a reboot when sysUpTime goes back', () => {
    expect(clockStep({ uptimeTicks: 500_000n, monoMs: 0 }, { uptimeTicks: 300n, monoMs: 10_000 })).toEqual({ kind: 'reset', reason: 'reboot' });
  });
  it('detects a reboot when the device has been up for less than the poll interval', () => {
    expect(clockStep({ uptimeTicks: 500n, monoMs: 0 }, { uptimeTicks: 2000n, monoMs: 60_000 })).toEqual({ kind: 'reset', reason: 'reboot' });
  });
  it('treats a 32-bit sysUpTime wrap (497 days) as time passing, not a reboot', () => {
    const prev = (1n << 32n) - 500n;
    expect(clockStep({ uptimeTicks: prev, monoMs: 0 }, { uptimeTicks: 500n, monoMs: 10_000 })).toEqual({ kind: 'delta', ms: 10_000, source: 'device' });
  });
  it('first sample gives no step', () => {
    expect(clockStep(undefined, { monoMs: 1 })).toEqual({ kind: 'first' });
  });
});

describe('counterDelta', () => {
  it('handles a 32-bit wrap', () => {
    expect(counterDelta(0xffff_fff0n, 0x10n, 32)).toBe(0x20n);
  });
  it('handles a 64-bit wrap', () => {
    expect(counterDelta(0xffff_ffff_ffff_fff0n, 0x10n, 64)).toBe(0x20n);
  });
  it('refuses an implausible wrap (a reset) so no spike comes out', () => {
    expect(counterDelta(1_000_000n, 5n, 64)).toBeUndefined();
    expect(counterDelta(100n, 5n, 32)).toBeUndefined();
    expect(counterDelta(0xffff_0000n, 5n, 32, 1000n)).toBeUndefined();
  });
  it('is exact above 2^53 for Counter64', () => {
    expect(counterDelta(2n ** 60n + 1n, 2n ** 60n + 12_345_678_901n, 64)).toBe(12_345_678_900n);
  });
  it('property: a real increase smaller than half the range is recovered across a wrap', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 63n }), (start, inc) => {
        const cur = (start + inc) % 2n ** 64n;
        expect(counterDelta(start, cur, 64)).toBe(inc);
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 31n }), (start, inc) => {
        expect(counterDelta(start, (start + inc) % 2n ** 32n, 32)).toBe(inc);
      }),
    );
  });
});

function sample(ifIndex: number, inOct: bigint, extra: Partial<InterfaceSample> = {}): InterfaceSample {
  return { ifIndex, counters: { in_octets: r64(inOct), out_octets: r64(inOct * 2n), in_ucast_pkts: r64(inOct / 100n), in_errors: r32(0n) }, ...extra };
}

describe('RateTracker', () => {
  it('computes bps/pps on the device timeline', () => {
    const t = new RateTracker();
    expect(t.update({ uptimeTicks: 0n + 100_000n, monoMs: 0 }, [sample(1, 1000n)]).size).toBe(0);
    const r = t.update({ uptimeTicks: 101_000n, monoMs: 10_300 }, [sample(1, 1_001_000n)]).get(1);
    expect(r?.in_bps).toBeCloseTo((1_000_000 * 8) / 10, 6);
    expect(r?.out_bps).toBeCloseTo((2_000_000 * 8) / 10, 6);
    expect(r?.in_pps).toBeCloseTo(10_000 / 10, 6);
    expect(r?.in_errors_ps).toBe(0);
  });
  it('leaves a gap after a reboot and resumes after', () => {
    const t = new RateTracker();
    t.update({ uptimeTicks: 900_000n, monoMs: 0 }, [sample(1, 5_000_000n)]);
    const afterReboot = t.update({ uptimeTicks: 500n, monoMs: 10_000 }, [sample(1, 1000n)]);
    expect(afterReboot.size).toBe(0);
    expect(t.lastStep).toEqual({ kind: 'reset', reason: 'reboot' });
    const next = t.update({ uptimeTicks: 1500n, monoMs: 20_000 }, [sample(1, 11_000n)]).get(1);
    expect(next?.in_bps).toBeCloseTo(8000, 6);
  });
  it('leaves a gap on ifCounterDiscontinuityTime change', () => {
    const t = new RateTracker();
    t.update({ monoMs: 0 }, [sample(1, 1000n, { discontinuity: 0n })]);
    expect(t.update({ monoMs: 1000 }, [sample(1, 2000n, { discontinuity: 55n })]).size).toBe(0);
  });
  it('refuses a 32-bit wrap faster than the line rate', () => {
    const t = new RateTracker();
    const s = (v: bigint): InterfaceSample => ({ ifIndex: 3, counters: { in_octets: r32(v) }, speedBps: 10_000_000n });
    t.update({ monoMs: 0 }, [s(0xffff_0000n)]);
    // a genuine wrap: 0x10000 + 0x100 bytes in 1 s on 10 Mbit/s is plausible
    expect(t.update({ monoMs: 1000 }, [s(0x100n)]).get(3)?.in_bps).toBeCloseTo((0x10000 + 0x100) * 8, 6);
    // counter cleared from 0x100 to 5: a wrap would mean 4 GB in 1 s on 10 Mbit/s -> gap
    expect(t.update({ monoMs: 2000 }, [s(5n)]).get(3)?.in_bps).toBeUndefined();
  });
  it('gives no rate when a counter changes width (HC appeared)', () => {
    const t = new RateTracker();
    t.update({ monoMs: 0 }, [{ ifIndex: 1, counters: { in_octets: r32(10n) } }]);
    expect(t.update({ monoMs: 1000 }, [{ ifIndex: 1, counters: { in_octets: r64(20n) } }]).get(1)?.in_bps).toBeUndefined();
  });
});
