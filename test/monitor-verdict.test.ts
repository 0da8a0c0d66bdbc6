import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { monitorConfigSchema } from '../src/monitor/config.js';
import { RANK, VerdictMachine, type Finding } from '../src/monitor/verdict.js';

const T0 = 1_700_000_000_000;
const S = 5000;
const steal: Finding = { reason: 'steal>20%', level: 'untrusted' };
const drops: Finding = { reason: 'socket_drops', level: 'degraded' };

/** Drives a machine tick by tick: tick n covers wall [T0+(n-1)S, T0+nS] and mono [(n-1)S, nS]. */
function driver(recoverMs = 15_000) {
  const m = new VerdictMachine(recoverMs, 3_600_000, 4096, T0);
  let n = 0;
  return {
    m,
    tick(...f: Finding[]) {
      n++;
      return m.observe(f, n * S, T0 + (n - 1) * S, T0 + n * S);
    },
  };
}

describe('verdict state machine', () => {
  it('raises at once, from the start of the interval the finding was measured in', () => {
    const d = driver();
    expect(d.tick()).toBeUndefined();
    const c = d.tick(steal);
    expect(c).toEqual({ from: 'ok', to: 'untrusted', since: T0 + S, reasons: ['steal>20%'] });
    expect(d.m.current()).toMatchObject({ verdict: 'untrusted', since: T0 + S });
    // A record collected during the bad interval, before the sample that saw it, is covered.
    expect(d.m.verdictFor(T0 + S + 100, T0 + S + 200).verdict).toBe('untrusted');
    expect(d.m.verdictFor(T0 + 100, T0 + 200).verdict).toBe('ok');
  });

  it('falls only after recover_after without the cause, passing through degraded', () => {
    const d = driver(15_000);
    d.tick(steal, drops); // n=1, mono 5000
    d.tick(drops); // n=2: steal last seen at 5000
    d.tick(); // n=3 (10 s since steal)
    expect(d.m.current().verdict).toBe('untrusted');
    const down = d.tick(); // n=4: 15 s since steal -> degraded (drops last seen at 10000)
    expect(down).toMatchObject({ from: 'untrusted', to: 'degraded', since: T0 + 4 * S, reasons: ['socket_drops'] });
    expect(d.tick()?.to).toBe('ok'); // n=5: 15 s since drops
  });

  it('does not flap when a cause comes and goes every other interval', () => {
    const d = driver(15_000);
    const changes = [];
    for (let i = 0; i < 40; i++) {
      const c = d.tick(...(i % 2 === 0 ? [drops] : []));
      if (c) changes.push(c);
    }
    expect(changes.map((c) => c.to)).toEqual(['degraded']);
  });

  it('answers old windows from history with every reason of the worst level', () => {
    const d = driver(5000);
    d.tick(); // 1
    d.tick(drops); // 2 degraded since T0+S
    d.tick({ reason: 'loop_stall', level: 'degraded' }); // 3, same level: reasons widen
    d.tick(); // 4 -> ok at T0+4S? (loop_stall seen at 15000, now 20000 -> expires)
    expect(d.m.current().verdict).toBe('ok');
    const w = d.m.verdictFor(T0 + 1.5 * S, T0 + 2.5 * S);
    expect(w).toEqual({ verdict: 'degraded', reasons: ['loop_stall', 'socket_drops'] });
    expect(d.m.verdictFor(T0 + 4.5 * S, T0 + 4.6 * S)).toEqual({ verdict: 'ok', reasons: [] });
    // Before the monitor started: the oldest state is the best answer there is, and it is counted.
    expect(d.m.verdictFor(T0 - 10_000, T0 - 5000).verdict).toBe('ok');
    expect(d.m.beforeHistory).toBe(1);
  });

  it('keeps a bounded history', () => {
    const m = new VerdictMachine(0, 60_000, 50, T0);
    for (let n = 1; n <= 2000; n++) m.observe(n % 2 ? [drops] : [], n * S, T0 + (n - 1) * S, T0 + n * S);
    const kept = m.intervals();
    expect(kept.length).toBeLessThanOrEqual(50);
    expect(kept[0]!.until).toBeGreaterThanOrEqual(T0 + 2000 * S - 60_000);
  });

  it('agrees with a brute-force scan of its intervals for any window, including after a backward clock step', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ bad: fc.constantFrom('none', 'degraded', 'untrusted'), step: fc.integer({ min: -20_000, max: 8000 }) }), { minLength: 1, maxLength: 60 }),
        fc.array(fc.tuple(fc.integer({ min: -50_000, max: 400_000 }), fc.integer({ min: 0, max: 30_000 })), { minLength: 1, maxLength: 20 }),
        (ticks, windows) => {
          const m = new VerdictMachine(10_000, 3_600_000, 4096, T0);
          let wall = T0;
          let mono = 0;
          ticks.forEach((t, i) => {
            const prev = wall;
            mono += S;
            wall += S + (i % 7 === 3 ? t.step : 0);
            if (wall < prev) m.noteWallStep(prev, wall);
            const f: Finding[] = t.bad === 'none' ? [] : [{ reason: t.bad, level: t.bad }];
            m.observe(f, mono, prev, wall);
          });
          const iv = m.intervals();
          for (const [off, len] of windows) {
            const from = T0 + off;
            const to = from + len;
            const hits = iv.filter((e) => e.since <= to && e.until >= from);
            const want = hits.length === 0 ? iv[0]!.verdict : hits.reduce((a, e) => (RANK[e.verdict] > RANK[a] ? e.verdict : a), 'ok' as keyof typeof RANK);
            expect(m.verdictFor(from, to).verdict).toBe(want);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('monitor config schema', () => {
  it('fills every key with a default and parses durations', () => {
    const c = monitorConfigSchema.parse({});
    expect(c.interval).toBe(5000);
    expect(c.thresholds.steal_pct).toEqual({ degraded: 5, untrusted: 20 });
    const d = monitorConfigSchema.parse({ interval: '2s', recover_after: '1m', thresholds: { steal_pct: { untrusted: null } } });
    expect(d.interval).toBe(2000);
    expect(d.recover_after).toBe(60_000);
    expect(d.thresholds.steal_pct).toEqual({ degraded: 5, untrusted: null });
    expect(d.thresholds.loop_stall_ms.degraded).toBe(200);
  });

  it('rejects unknown keys and bad durations', () => {
    expect(monitorConfigSchema.safeParse({ intervall: '5s' }).success).toBe(false);
    expect(monitorConfigSchema.safeParse({ thresholds: { stael_pct: {} } }).success).toBe(false);
    expect(monitorConfigSchema.safeParse({ interval: 'soon' }).success).toBe(false);
  });
});
