/**
 * The bench's stall tracker (bench/flow-e2e/stalls.ts) names who held the event loop: a timer of
 * ours that computes for 60 ms of CPU, and one that sleeps 150 ms in Atomics.wait (a blocking
 * call). On a shared machine the host may take the core in the middle of either, so the test
 * does not assume the cause: it checks that the tracker reports the pause, names the task by the
 * line that scheduled it, and derives the cause from the scheduler figures it reports (the thread
 * waited for a CPU at least half the pause: the host's; else on the CPU: the task; else blocked).
 * The busy task spins on the thread's own CPU time (schedstat), so at any load it is >= 60 ms.
 */
import { openSync, readSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { StallTracker, type Stall } from '../bench/flow-e2e/stalls.js';

const fd = openSync('/proc/thread-self/schedstat', 'r');
const buf = Buffer.alloc(96);
const cpuMs = (): number => Number(buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0)).split(' ')[0]) / 1e6;

let tracker: StallTracker | undefined;
afterEach(() => tracker?.stop());

const later = (fn: () => void): Promise<void> =>
  new Promise((resolve) =>
    setTimeout(() => {
      fn();
      // two probe periods and more, so the late tick is seen
      setTimeout(resolve, 50);
    }, 20),
  );

function expectCause(s: Stall, ours: 'task' | 'blocked'): void {
  expect(s.cause).toBe(s.runqueue >= s.ms / 2 ? 'host' : s.gcMs >= s.ms / 2 ? 'gc' : ours);
}

describe('StallTracker', () => {
  it('reports a long computing timer with its scheduling line and CPU time', async () => {
    tracker = new StallTracker(30);
    tracker.start();
    await later(() => {
      const end = cpuMs() + 60;
      while (cpuMs() < end);
    });
    const r = tracker.take();
    const s = r.stalls.find((x) => x.task?.includes('flow-stalls.test'));
    expect(s, JSON.stringify(r)).toBeDefined();
    expect(s?.ms).toBeGreaterThanOrEqual(55);
    expect(s?.cpu).toBeGreaterThanOrEqual(55);
    expect(s?.taskMs).toBeGreaterThanOrEqual(60);
    expectCause(s as Stall, 'task');
    const task = r.longestTasks.find((t) => t.label.includes('flow-stalls.test'));
    expect(task?.cpu).toBeGreaterThanOrEqual(60);
  });

  it('tells a blocking call from computing: the thread was off the CPU', async () => {
    tracker = new StallTracker(30);
    tracker.start();
    await later(() => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 150));
    const r = tracker.take();
    const s = r.stalls.find((x) => x.task?.includes('flow-stalls.test'));
    expect(s, JSON.stringify(r)).toBeDefined();
    expect(s?.taskMs).toBeGreaterThanOrEqual(150);
    expect(s?.cpu).toBeLessThan(75);
    expectCause(s as Stall, 'blocked');
  });
});
