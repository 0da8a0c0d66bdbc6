/**
 * The floor under netvigil's CPU per datagram at a fixed rate (issue 12): the same REAL exporters'
 * captures as `flow-real` (its cache, built there when missing), replayed at one fixed rate to
 *   - `count`: a bare Node dgram socket whose handler only counts (Node's own cost per datagram:
 *     the wake-up, recvmsg, the Buffer and rinfo, the 'message' event);
 *   - `count-wait`: the same, reading in turns with the collector's wait after a drained turn
 *     (collectors/flow/turns.ts, `receive_wait`);
 *   - `bookkeeping`: that socket doing what the collector does per datagram before any decoding
 *     (the turn's receive time, FlowProcessor.admit, the version word: receiver.ts);
 *   - `netvigil`: the collector with its default config (receiver.ts), and `netvigil-nowait` with
 *     `receive_wait: 0` (a wake-up per datagram at this rate, as before turns.ts);
 *   - pmacct (nfacctd / sfacctd), the reference of the issue's target;
 * all pinned to core 0, the sender to core 1. The receivers take turns, ROUNDS times, so a noisy
 * moment on a shared machine hits them all; per receiver the median of its rounds is reported,
 * with the range. CPU is that of the process tree from the first datagram until idle (USER_HZ
 * ticks); wake-ups are voluntary context switches of all its threads in the same span.
 *
 * `npm run bench -- flow-floor` (~4 min for the default four captures). Environment:
 * FLOW_FLOOR_EXPORTERS (nfprobe-v9,nfprobe-ipfix,sfprobe-sflow,softflowd-v9), FLOW_FLOOR_ROUNDS (5),
 * FLOW_FLOOR_RECEIVERS (count,count-wait,bookkeeping,netvigil,netvigil-nowait,pmacct), FLOW_REAL_RATE (20000),
 * FLOW_FLOOR_SECONDS (3), FLOW_REAL_CONVERSATIONS / SEED / CACHE as flow-real, FLOW_E2E_NICE.
 */
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCaptures, EXPORTERS, type Exporter } from './flow-e2e/exporters.js';
import { PinnedChild, type SendDone, type SendRun } from './flow-e2e/ipc.js';
import { nodeTarget, pmacctTarget, trial, type Measured, type Target } from './flow-e2e/targets.js';
import type { BenchResult } from './types.js';

const here = join(dirname(fileURLToPath(import.meta.url)), 'flow-e2e');
const num = (k: string, d: number): number => {
  const v = Number(process.env[k]);
  return process.env[k] && Number.isFinite(v) && v > 0 ? v : d;
};
const RATE = num('FLOW_REAL_RATE', 20_000);
const SECONDS = num('FLOW_FLOOR_SECONDS', 3);
const ROUNDS = num('FLOW_FLOOR_ROUNDS', 5);
const RCVBUF = 32 * 1024 * 1024;
const WARMUP = 15_000;
const RECEIVERS = (process.env['FLOW_FLOOR_RECEIVERS'] ?? 'count,count-wait,bookkeeping,netvigil,netvigil-nowait,pmacct').split(',').filter(Boolean);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function targetsFor(sflow: boolean, send: (r: Omit<SendRun, 'type' | 'burst'>) => Promise<SendDone>, capture: string): Promise<Target[]> {
  const out: Target[] = [];
  for (const r of RECEIVERS) {
    if (r === 'pmacct') out.push(await pmacctTarget(sflow ? 'sfacctd' : 'nfacctd', RCVBUF, send, capture, sflow ? 'sflow' : 'v9'));
    else if (r === 'count' || r === 'count-wait' || r === 'bookkeeping' || r === 'netvigil') out.push(await nodeTarget(here, r, process.env['FLOW_E2E_COLLECTOR'] ?? '{}'));
    else if (r === 'netvigil-nowait') out.push(await nodeTarget(here, 'netvigil', JSON.stringify({ receive_wait: 0 }), [], 0, r));
    else throw new Error(`FLOW_FLOOR_RECEIVERS: unknown receiver ${r}`);
  }
  return out;
}

export default async function run(): Promise<BenchResult[]> {
  const log = (s: string): void => void process.stdout.write(`  ${s}\n`);
  const load0 = loadavg()[0]?.toFixed(2) ?? '?';
  const names = (process.env['FLOW_FLOOR_EXPORTERS'] ?? 'nfprobe-v9,nfprobe-ipfix,sfprobe-sflow,softflowd-v9').split(',').filter(Boolean);
  const bad = names.filter((n) => !(EXPORTERS as readonly string[]).includes(n));
  if (bad.length) throw new Error(`FLOW_FLOOR_EXPORTERS: unknown exporter ${bad.join(', ')}`);
  const mix = { kind: 'mix' as const, conversations: num('FLOW_REAL_CONVERSATIONS', 20_000), seed: num('FLOW_REAL_SEED', 1) };
  const caps = await buildCaptures(mix, names as Exporter[], log);
  const sender = new PinnedChild(1, join(here, 'sender.js'), []);
  const out: BenchResult[] = [];
  try {
    const ready = await sender.next();
    if (ready.type !== 'ready') throw new Error(`sender did not start: ${JSON.stringify(ready)}`);
    const send = async (r: Omit<SendRun, 'type' | 'burst'>): Promise<SendDone> => (await sender.request({ type: 'send', burst: 32, ...r }, 120_000)) as SendDone;
    for (const cap of caps) {
      const sflow = cap.stats.protocol === 'sflow';
      const protocol: SendRun['protocol'] = sflow ? 'sflow' : 'v9';
      const targets = await targetsFor(sflow, send, cap.file);
      try {
        const everyone = (): number[] => targets.flatMap((t) => t.pids());
        for (const t of targets) {
          await send({ protocol, capture: cap.file, port: t.port(), source: '127.0.0.1', count: WARMUP, rate: 10_000, resume: true });
          await t.afterRun?.();
        }
        const runs: Measured[][] = targets.map(() => []);
        for (let k = 0; k < ROUNDS; k++) {
          for (const [i, t] of targets.entries()) runs[i]?.push(await trial(t, send, { capture: cap.file, protocol, rate: RATE, count: RATE * SECONDS }, everyone));
        }
        const perDgram = (cap.stats.records / cap.stats.datagrams).toFixed(1);
        for (const [i, t] of targets.entries()) {
          const ms = runs[i] ?? [];
          const cpu = ms.map((m) => m.cpuUsPerDatagram);
          const lossy = ms.filter((m) => !m.ok);
          const note = [
            `range ${Math.min(...cpu).toFixed(1)}-${Math.max(...cpu).toFixed(1)} over ${ms.length} rounds`,
            `wake-ups ${median(ms.map((m) => m.wakeupsPerDatagram)).toFixed(2)}/datagram`,
            `the sender reached ${median(ms.map((m) => m.achieved)).toFixed(0)}/s`,
            lossy.length ? `LOSSY in ${lossy.length}: ${lossy[0]?.detail}` : 'loss-free',
          ];
          out.push({ name: `${cap.exporter} ${t.name}`, value: median(cpu), unit: `µs CPU/datagram (target rate ${RATE}/s)`, note: note.join('; ') });
        }
        log(`${cap.exporter}: ${cap.stats.datagrams} datagrams in the ring, ${perDgram} ${sflow ? 'samples' : 'records'} each`);
      } finally {
        for (const t of targets) await t.close();
      }
    }
  } finally {
    await sender.close();
  }
  out.push({ name: 'setup', value: ROUNDS, unit: 'rounds per receiver', note: `${SECONDS}s at ${RATE}/s each, sender on core 1, receivers on core 0, load average ${load0} before / ${loadavg()[0]?.toFixed(2) ?? '?'} after` });
  return out;
}
