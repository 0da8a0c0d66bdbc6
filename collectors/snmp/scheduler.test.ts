import { describe, expect, it } from 'vitest';
import { backoffDelay, PollLoop, Semaphore, type Lanes } from './scheduler.js';

const lanes = (live: number, suspect = 1): Lanes => ({ live: new Semaphore(live), suspect: new Semaphore(suspect) });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('scheduler', () => {
  it('semaphore caps concurrency and hands slots over in order', async () => {
    const s = new Semaphore(2);
    const order: number[] = [];
    const r1 = await s.acquire();
    const r2 = await s.acquire();
    const p3 = s.acquire().then((r) => (order.push(3), r));
    const p4 = s.acquire().then((r) => (order.push(4), r));
    expect(s.queued).toBe(2);
    r1();
    r1(); // double release is harmless
    await p3;
    expect(order).toEqual([3]);
    r2();
    (await p4)();
    (await p3)();
    expect(s.inUse).toBe(0);
  });

  it('backoff doubles per dead poll and is capped', () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(10_000, n, 60_000))).toEqual([10_000, 20_000, 40_000, 60_000, 60_000]);
    expect(backoffDelay(10_000, 0, 60_000)).toBe(0);
  });

  it('a poll that hangs neither delays another device nor stacks up on itself', async () => {
    const sem = lanes(4);
    let fast = 0;
    let slowStarted = 0;
    const slow = new PollLoop({ intervalMs: 50, phaseMs: 0, backoffMaxMs: 1000 }, sem, async () => {
      slowStarted++;
      await sleep(400);
      return true;
    });
    const quick = new PollLoop({ intervalMs: 50, phaseMs: 0, backoffMaxMs: 1000 }, sem, async () => (fast++, true));
    slow.start();
    quick.start();
    await sleep(330);
    expect(fast).toBeGreaterThanOrEqual(3);
    expect(slowStarted).toBe(1);
    expect(slow.overruns).toBeGreaterThanOrEqual(4);
    await Promise.all([slow.stop(), quick.stop()]);
  });

  it('a dead device is polled less often (backoff), and recovers at once when it answers', async () => {
    const sem = lanes(1);
    let calls = 0;
    let alive = false;
    const loop = new PollLoop({ intervalMs: 20, phaseMs: 0, backoffMaxMs: 160 }, sem, async () => (calls++, alive));
    loop.start();
    await sleep(400);
    // without backoff ~20 polls; with 20,40,80,160,160... far fewer
    expect(calls).toBeLessThanOrEqual(7);
    expect(loop.consecutiveFailures).toBeGreaterThanOrEqual(3);
    alive = true;
    await sleep(250);
    expect(loop.consecutiveFailures).toBe(0);
    await loop.stop();
  });
});

describe('lanes', () => {
  it('devices that stopped answering poll in their own lane and cannot starve live ones', async () => {
    const l = lanes(1, 1);
    let live = 0;
    const dead = [0, 1, 2].map(
      () =>
        new PollLoop({ intervalMs: 30, phaseMs: 0, backoffMaxMs: 30 }, l, async () => {
          await sleep(120); // a timeout's worth of waiting, holding a slot
          return false;
        }),
    );
    for (const d of dead) d.start();
    await sleep(10);
    const ok = new PollLoop({ intervalMs: 30, phaseMs: 0, backoffMaxMs: 30 }, l, async () => (live++, true));
    // the dead ones' first polls hold the single live slot for ~360 ms; after that they move lanes
    await sleep(400);
    ok.start();
    const before = live;
    await sleep(300);
    // ~10 ticks due; with the dead devices back in the live lane it would be ~2
    expect(live - before).toBeGreaterThanOrEqual(6);
    await Promise.all([...dead, ok].map((x) => x.stop()));
  });
});
