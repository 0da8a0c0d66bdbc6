/**
 * The receive side's view of the event loop's turns: one receive time per turn, and fewer
 * wake-ups per datagram below saturation (issue 12).
 *
 * At a few tens of thousands of datagrams/s each datagram reaches an idle loop: the kernel wakes
 * the thread, epoll returns, libuv reads one datagram (and a second recvmsg finds none) and the loop
 * blocks again. On the flow-floor bench (bench/flow-floor.bench.ts) that costs a bare Node socket
 * more CPU per datagram than all of our decoding. So after a turn that drained the sockets, the
 * main thread sleeps (Atomics.wait: a timed futex wait, no CPU) for about as long as one libuv read
 * pass (32 datagrams, uv__udp_recvmsg) takes to arrive at the current rate, never longer than
 * `maxWaitMs`; the next turn reads them after one wake-up. A turn that read a full pass is not
 * followed by a sleep (the socket may hold more), so a saturated receiver never sleeps, and the
 * wait is sized by the rate, so what queues meanwhile is one pass, far below any receive buffer.
 * The cost: timers and other I/O of the process wait up to `maxWaitMs` longer.
 */
import { performance } from 'node:perf_hooks';

/** Datagrams libuv reads from one socket per wake-up before it yields to the loop (src/unix/udp.c). */
export const READ_PASS = 32;
/** Shorter waits save nothing: the futex wake-up costs what it would save. */
const MIN_WAIT_MS = 0.05;
/**
 * The first turn of a burst after a quiet spell waits as if the rate were the quiet one. So no
 * wait is longer than half the receive buffer takes to fill at this many datagrams per ms (200 k/s,
 * past what one core decodes), counting 2 KiB of buffer per datagram (the kernel's truesize of a
 * full-MTU datagram, socket(7) SO_RCVBUF counts it): 4 MiB allows 5 ms, Linux's default 208 KiB
 * 0.25 ms.
 */
const BURST_PER_MS = 200;
const TRUESIZE = 2048;

export class ReceiveTurns {
  private n = 0;
  private at = -1;
  private scheduled = false;
  /** Datagrams per ms, smoothed over turns. */
  private rate = 0;
  private since = performance.now();
  private readonly cell = new Int32Array(new SharedArrayBuffer(4));
  private readonly end = (): void => this.turnEnd();
  /** Longest wait the smallest receive buffer allows (buffer()). */
  private bufferMs = Infinity;
  /** Sleeps taken, and the length of the last one asked for, ms (for tests). */
  waits = 0;
  lastWaitMs = 0;

  constructor(
    /** The collector's timeline (CollectorContext.clock), read once per turn. */
    private readonly clock: () => number,
    private maxWaitMs: number,
  ) {}

  configure(maxWaitMs: number): void {
    this.maxWaitMs = maxWaitMs;
  }

  /** The sockets' smallest usable receive buffer, in bytes. */
  buffer(bytes: number): void {
    this.bufferMs = bytes / TRUESIZE / 2 / BURST_PER_MS;
  }

  /** Counts one datagram of the current turn; returns the turn's receive time. */
  datagram(): number {
    this.n++;
    if (!this.scheduled) {
      this.scheduled = true;
      // the check phase follows the poll phase that read the datagrams of this turn; an immediate
      // queued before this one (the worker pool's post) runs before the sleep
      setImmediate(this.end);
    }
    return this.time();
  }

  /** The current turn's receive time, without counting a datagram (call `datagram()` after). */
  time(): number {
    if (this.at < 0) this.at = this.clock();
    return this.at;
  }

  private turnEnd(): void {
    const n = this.n;
    this.n = 0;
    this.at = -1;
    this.scheduled = false;
    const t = performance.now();
    const dt = t - this.since;
    // up at once, down smoothly: a rising rate must not meet a wait sized for the old one
    const inst = dt > 0 ? n / dt : this.rate;
    this.rate = inst > this.rate ? inst : 0.75 * this.rate + 0.25 * inst;
    if (this.maxWaitMs > 0 && n < READ_PASS && this.rate > 0) {
      const ms = Math.min(this.maxWaitMs, this.bufferMs, READ_PASS / this.rate);
      if (ms >= MIN_WAIT_MS) {
        Atomics.wait(this.cell, 0, 0, ms);
        this.waits++;
        this.lastWaitMs = ms;
      }
    }
    this.since = performance.now();
  }
}
