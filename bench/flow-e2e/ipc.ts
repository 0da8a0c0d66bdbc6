/**
 * Messages between the bench and its child processes (sender, Node receivers), and the one helper
 * that starts such a child pinned to a core and talks to it request-by-request.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Protocol } from './datagrams.js';
import type { StallReport } from './stalls.js';

export interface SendRun {
  type: 'send';
  protocol: Protocol;
  port: number;
  /** Source address (the exporter); for sFlow also the agent address in the datagrams. */
  source: string;
  count: number;
  rate: number;
  /** Datagrams sent back to back before yielding to the event loop. */
  burst: number;
  /** Replay this capture file (capture.ts) instead of the generated datagrams of `protocol`. */
  capture?: string;
  /** Go on in the ring where the last run of this replay stopped, as the exporter would; by default
   * a run starts at the ring's first datagram (the templates, for a receiver started fresh). */
  resume?: boolean;
}
export interface SendDone {
  type: 'sent';
  sent: number;
  seconds: number;
  /** Achieved datagrams/s (below the target when the sender itself is the limit). */
  rate: number;
  /** Flow records and pmacct `packets` in the datagrams sent (ring datagrams only). */
  records: number;
  packets: number;
}

/** What a receiver has taken in so far (cumulative since it started). */
export interface Counts {
  type: 'counts';
  datagrams: number;
  /** Flow records decoded and aggregated (netvigil); datagrams x records per datagram (count-only). */
  records: number;
  errors: number;
  /** Decode errors by reason (netvigil), when there are any. */
  reasons?: Record<string, number>;
  /** On stop: flows in the flow_agg records the collector emitted (proves aggregation happened). */
  aggregated?: number;
}
/** Event-loop delay since the last `loop` request (perf_hooks.monitorEventLoopDelay, ms). */
export interface LoopDelay {
  type: 'loop';
  p99: number;
  max: number;
  /** Longest GC pause in the same window, and how many took over 10 ms (PerformanceObserver 'gc'). */
  gcMax: number;
  /** major / minor / incremental / weak callbacks */
  gcMaxKind: string;
  gcOver10: number;
  /** With FLOW_E2E_STALLS: each pause over the threshold and who held the loop (stalls.ts). */
  stalls?: StallReport;
}
export type ReceiverRequest = { type: 'counts' } | { type: 'stop' } | { type: 'loop' };
export type ChildMessage = SendDone | Counts | LoopDelay | { type: 'ready'; port?: number } | { type: 'error'; message: string };

/**
 * `taskset -c <core> cmd args`, under `nice -n $FLOW_E2E_NICE` when set: on a machine shared with
 * other work a negative niceness keeps it from descheduling the sender and receivers alike.
 */
export function pinned(core: number | string, cmd: string, args: readonly string[]): [string, string[]] {
  const nice = Number(process.env['FLOW_E2E_NICE'] ?? 0);
  const task = ['taskset', '-c', String(core), cmd, ...args];
  return Number.isInteger(nice) && nice !== 0 ? ['nice', ['-n', String(nice), ...task]] : [task[0] as string, task.slice(1)];
}

/** A Node child process under `taskset -c <core>`, with request/response over its IPC channel. */
export class PinnedChild {
  readonly proc: ChildProcess;
  private waiting: ((m: ChildMessage) => void)[] = [];
  private readonly exited: Promise<void>;

  /** `nodeArgs`: flags for node itself (e.g. --cpu-prof). */
  constructor(core: number | string, script: string, args: string[], nodeArgs: string[] = []) {
    // taskset (and nice) exec node, which finds the IPC channel from the inherited descriptor
    const [cmd, argv] = pinned(core, process.execPath, [...nodeArgs, script, ...args]);
    this.proc = spawn(cmd, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (m: ChildMessage) => this.waiting.shift()?.(m));
    this.exited = new Promise((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.once('exit', (code) => {
      for (const w of this.waiting.splice(0)) w({ type: 'error', message: `child exited (${code})` });
    });
  }

  /** The next message from the child (the first one is its `ready`). */
  next(timeoutMs = 30_000): Promise<ChildMessage> {
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve({ type: 'error', message: 'child did not answer in time' }), timeoutMs);
      this.waiting.push((m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  }

  async request(msg: SendRun | ReceiverRequest, timeoutMs?: number): Promise<ChildMessage> {
    const reply = this.next(timeoutMs);
    this.proc.send(msg);
    const m = await reply;
    if (m.type === 'error') throw new Error(m.message);
    return m;
  }

  /** Disconnect (children exit on it), then SIGKILL by PID if it has not gone within 3 s. */
  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    if (this.proc.connected) this.proc.disconnect();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(t);
  }
}
