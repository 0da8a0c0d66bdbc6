/**
 * The collector's timeline (src/clock.ts) against a wall clock we step by hand (generated clock
 * readings: the real steps are in clock-step.test.ts). It must follow a steady wall clock exactly,
 * never go back, and absorb a step at no more than SLEW of elapsed time.
 */
import { describe, expect, it } from 'vitest';
import { SLEW, SteadyClock } from '../src/clock.js';

function fake(start = 1_800_000_000_000, synced = false) {
  const c = { wall: start, mono: 0, synced };
  const clock = new SteadyClock({ wallMs: () => c.wall, monoMs: () => c.mono }, () => c.synced);
  const advance = (ms: number): number => {
    c.wall += ms;
    c.mono += ms;
    return clock.now();
  };
  return { c, clock, advance, start };
}

describe('SteadyClock', () => {
  it('follows a wall clock that does not step, including NTP-sized slews', () => {
    const { c, clock, advance, start } = fake();
    expect(clock.now()).toBe(start);
    expect(advance(1000)).toBe(start + 1000);
    c.wall += 0.5; // a 500 ppm slew over one second
    expect(advance(1000)).toBe(start + 2000.5);
    expect(clock.behindMs()).toBe(0);
  });

  for (const stepMs of [2000, 30_000, 3_600_000, -2000, -30_000, -3_600_000]) {
    it(`absorbs a ${stepMs} ms step by slewing ${SLEW * 100} % and never goes back`, () => {
      const { c, clock, advance, start } = fake();
      advance(1000);
      c.wall += stepMs;
      let prev = clock.now();
      // right after the step the timeline has not moved
      expect(prev).toBe(start + 1000);
      for (let i = 1; i <= 100; i++) {
        const t = advance(100);
        expect(t - prev).toBeGreaterThanOrEqual(100 * (1 - SLEW) - 1e-6);
        expect(t - prev).toBeLessThanOrEqual(100 * (1 + SLEW) + 1e-6);
        prev = t;
      }
      // 10 s later: 5 % of 10 s caught up (or all of the step, when smaller)
      const caught = Math.min(Math.abs(stepMs), 10_000 * SLEW) * Math.sign(stepMs);
      expect(clock.now() - (start + 11_000)).toBeCloseTo(caught, 6);
      expect(clock.behindMs()).toBeCloseTo(stepMs - caught, 6);
    });
  }

  it('converges: after a 2 s step, 40 s of slewing leaves nothing', () => {
    const { c, clock, advance } = fake();
    c.wall += 2000;
    for (let i = 0; i < 410; i++) advance(100);
    expect(clock.behindMs()).toBe(0);
  });

  it('follows a forward step at once while the host is synchronised (a correction), and slews back steps anyway', () => {
    const { c, clock, advance, start } = fake(undefined, true);
    advance(1000);
    c.wall += 3_600_000; // chronyd's makestep after a resume: the monotonic clock missed an hour
    expect(advance(100)).toBe(start + 1100 + 3_600_000);
    expect(clock.behindMs()).toBe(0);
    c.wall -= 30_000;
    const t = advance(1000);
    // the timeline never goes back: intervals already written are not reopened
    expect(t - (start + 1100 + 3_600_000)).toBeCloseTo(1000 * (1 - SLEW), 6);
    // and while unsynchronised a forward step is slewed like any other
    c.synced = false;
    const before = clock.now();
    c.wall += 60_000;
    expect(advance(1000) - before).toBeCloseTo(1000 * (1 + SLEW), 6);
  });
});
