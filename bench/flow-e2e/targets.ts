/**
 * The receivers of the real-exporter bench (flow-real.bench.ts) behind one shape, and the trial
 * that sends a capture to one of them: netvigil (the real flow collector in receiver.ts), pmacct
 * (nfacctd / sfacctd, memory table) and nfdump (nfcapd / sfcapd, a fresh daemon per trial).
 * What each counts is compared with what the sender says it put on the wire, from the capture
 * walker (capture.ts): flow records for netvigil and nfdump, `packets` for pmacct.
 */
import { join } from 'node:path';
import { PinnedChild, type Counts, type LoopDelay, type SendDone, type SendRun } from './ipc.js';
import { Nfcapd } from './nfdump.js';
import { FLUSH_DATAGRAMS, Pmacct } from './pmacct.js';
import { treeCpu, treeRss, treeWaits, udpSocketStats, waitQuiet } from './procnet.js';
import type { TrialResult } from './search.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Target {
  name: string;
  port(): number;
  pids(): number[];
  /** A run goes on in the ring where the last stopped (false: from the templates, for a fresh daemon). */
  resume: boolean;
  /** Before the send (nfdump: start a fresh daemon). */
  begin?(): Promise<void>;
  /** Cumulative units taken in and decode errors; `final` after the send (nfdump: stop and count). */
  taken(final: boolean): Promise<{ units: number; errors: number; reasons?: Record<string, number> }>;
  expected(sent: SendDone): number;
  /** Pushes what a receiver holds back out (pmacct's partly filled hand-over buffer). */
  afterRun?(): Promise<void>;
  loop?(): Promise<LoopDelay>;
  close(): Promise<void>;
}

export interface Measured extends TrialResult {
  sent: number;
  /** CPU of the receiver (and its children) from the first datagram until idle, µs per datagram. */
  cpuUsPerDatagram: number;
  /** Times its threads blocked and were woken again over the same span, per datagram (procnet.ts treeWaits). */
  wakeupsPerDatagram: number;
  rss: number;
}

type Send = (run: Omit<SendRun, 'type' | 'burst'>) => Promise<SendDone>;

/** `cores`: taskset's core list for the receiver (its worker threads run on the same cores). */
export async function netvigilTarget(here: string, config = '{}', nodeArgs: string[] = [], cores: number | string = 0): Promise<Target> {
  return nodeTarget(here, 'netvigil', config, nodeArgs, cores);
}

/**
 * A Node receiver of receiver.ts by mode: `netvigil` (the collector) or one of its floors, judged
 * on datagrams (`count`, `bookkeeping`), all taking the same per-exporter counts request.
 */
export async function nodeTarget(here: string, mode: 'netvigil' | 'count' | 'count-wait' | 'bookkeeping', config = '{}', nodeArgs: string[] = [], cores: number | string = 0, name: string = mode): Promise<Target> {
  const child = new PinnedChild(cores, join(here, 'receiver.js'), [mode, '1', config], nodeArgs);
  const ready = await child.next();
  if (ready.type !== 'ready' || !ready.port) throw new Error(`netvigil receiver did not start: ${JSON.stringify(ready)}`);
  const port = ready.port;
  return {
    name,
    port: () => port,
    pids: () => (child.proc.pid ? [child.proc.pid] : []),
    resume: true,
    taken: async () => {
      const c = (await child.request({ type: 'counts' })) as Counts;
      return { units: mode === 'netvigil' ? c.records : c.datagrams, errors: c.errors, ...(c.reasons ? { reasons: c.reasons } : {}) };
    },
    expected: (s) => (mode === 'netvigil' ? s.records : s.sent),
    loop: async () => (await child.request({ type: 'loop' })) as LoopDelay,
    close: async () => {
      if (child.proc.connected) await child.request({ type: 'stop' }).catch(() => undefined);
      await child.close();
    },
  };
}

export async function pmacctTarget(daemon: 'nfacctd' | 'sfacctd', rcvbuf: number, send: Send, capture: string | undefined, protocol: SendRun['protocol']): Promise<Target> {
  const p = await Pmacct.start(daemon, rcvbuf);
  return {
    name: daemon,
    port: () => p.port,
    pids: () => (p.pid ? [p.pid] : []),
    resume: true,
    taken: async () => ({ units: await p.packets('127.0.0.1'), errors: p.missing }),
    expected: (s) => s.packets,
    // from a second exporter whose packets are not counted, slowly
    afterRun: async () => void (await send({ protocol, capture, port: p.port, source: '127.0.0.2', count: FLUSH_DATAGRAMS, rate: 20_000, resume: true })),
    close: () => p.stop(),
  };
}

export function nfdumpTarget(daemon: 'nfcapd' | 'sfcapd', rcvbuf: number): Target {
  let d: Nfcapd | undefined;
  return {
    name: daemon,
    port: () => d?.port ?? 0,
    pids: () => (d?.pid ? [d.pid] : []),
    resume: false,
    begin: async () => {
      await d?.stop();
      d = await Nfcapd.start(daemon, rcvbuf);
      // its start-up work is not part of the trial's CPU
      await waitQuiet(d.pid ? [d.pid] : [], 2000);
    },
    taken: async (final) => {
      if (!final || !d) return { units: 0, errors: 0 };
      const units = await d.finish();
      d = undefined;
      return { units, errors: 0 };
    },
    expected: (s) => s.records,
    close: async () => void (await d?.stop()),
  };
}

/** Until the socket queue is empty and the receiver idle (or 10 s), then until its count stops moving. */
async function settle(t: Target, want: number, before: number): Promise<void> {
  await waitQuiet(t.pids(), 10_000);
  for (let still = 0, last = -1, i = 0; i < 40; i++) {
    const now = t.resume ? (await t.taken(false)).units : 0;
    if (t.resume && now - before >= want) return;
    const queued = udpSocketStats(t.port())?.rxQueue ?? 0;
    still = now === last && queued === 0 ? still + 1 : 0;
    if (still >= 3) return;
    last = now;
    await sleep(100);
  }
}

/**
 * One trial: `count` datagrams at `rate`, all receivers idle first; loss-free when the receiver
 * counted every unit, no decode error, and the kernel dropped nothing on its socket.
 */
export async function trial(t: Target, send: Send, run: { capture?: string; protocol: SendRun['protocol']; rate: number; count: number }, everyone: () => number[]): Promise<Measured> {
  const waited = await waitQuiet(everyone(), 8000);
  await t.begin?.();
  const before = await t.taken(false);
  const port = t.port();
  const drops0 = udpSocketStats(port)?.drops ?? 0;
  const cpu0 = treeCpu(t.pids());
  const waits0 = treeWaits(t.pids());
  const done = await send({ protocol: run.protocol, capture: run.capture, port, source: '127.0.0.1', count: run.count, rate: run.rate, resume: t.resume });
  const want = t.expected(done);
  // CPU until idle, before pmacct's flush traffic (not part of the trial) arrives
  await waitQuiet(t.pids(), 10_000);
  const cpu1 = treeCpu(t.pids());
  const waits1 = treeWaits(t.pids());
  const rss = treeRss(t.pids());
  await t.afterRun?.();
  await settle(t, want, before.units);
  const drops = (udpSocketStats(port)?.drops ?? 0) - drops0;
  const after = await t.taken(true);
  const missing = want - (after.units - before.units);
  const errors = after.errors - before.errors;
  let detail = `missing ${missing} of ${want}, kernel drops ${drops}, decode errors ${errors}`;
  if (errors && after.reasons) detail += ` (so far: ${JSON.stringify(after.reasons)})`;
  if (waited > 1000) detail += `; receivers were busy ${waited} ms before it`;
  return { ok: missing === 0 && drops === 0 && errors === 0, achieved: done.rate, detail, sent: done.sent, cpuUsPerDatagram: ((cpu1 - cpu0) * 10_000) / done.sent, wakeupsPerDatagram: (waits1 - waits0) / done.sent, rss };
}
