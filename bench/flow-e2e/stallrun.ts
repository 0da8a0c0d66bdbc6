/**
 * One long fixed-rate replay per capture to netvigil's receiver with the stall tracker on
 * (stalls.ts): every event-loop pause over the threshold, whether the host took the core or a task
 * of ours (named), a GC or a blocking call held it, and whether the trial lost anything. Long
 * enough by default (65 s) to cross the 60 s interval flush and stats housekeeping and a dozen
 * 5 s checkpoints, which the flow-real bench's 3 s fixed trial meets only by chance.
 *
 *   npm run build && node dist/bench/flow-e2e/stallrun.js [input,...] [rate] [seconds] [threshold_ms]
 *
 * Inputs: exporters of exporters.ts on the 20 k mix, `<exporter>@hosts` on the 1 M-host mix,
 * `generated` (flow-e2e's v9 datagrams). Defaults: softflowd-ipfix,softflowd-v9,softflowd-v9@hosts,
 * generated at 20000/s for 65 s, threshold 20 ms. FLOW_E2E_COLLECTOR (JSON over the collector
 * config) and FLOW_E2E_NICE apply as in flow-real.
 */
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCaptures, EXPORTERS, type Exporter } from './exporters.js';
import { PinnedChild, type SendDone, type SendRun } from './ipc.js';
import { stallSummary } from './stalls.js';
import { netvigilTarget, trial } from './targets.js';

const here = dirname(fileURLToPath(import.meta.url));
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

async function capture(input: string): Promise<{ capture?: string; protocol: SendRun['protocol'] }> {
  if (input === 'generated') return { protocol: 'v9' };
  const [name, mix] = input.split('@') as [string, string | undefined];
  if (!(EXPORTERS as readonly string[]).includes(name)) throw new Error(`unknown exporter ${name} (known: ${EXPORTERS.join(', ')}, generated)`);
  const m = mix === 'hosts' ? { kind: 'hosts' as const, conversations: 1_000_000, seed: 1 } : { kind: 'mix' as const, conversations: 20_000, seed: 1 };
  const [c] = await buildCaptures(m, [name as Exporter], (s) => console.log(s));
  if (!c) throw new Error(`no capture for ${input}`);
  return { capture: c.file, protocol: c.stats.protocol === 'sflow' ? 'sflow' : 'v9' };
}

async function main(): Promise<void> {
  const inputs = (process.argv[2] || 'softflowd-ipfix,softflowd-v9,softflowd-v9@hosts,generated').split(',');
  const rate = Number(process.argv[3] ?? 20_000);
  const seconds = Number(process.argv[4] ?? 65);
  process.env['FLOW_E2E_STALLS'] = process.argv[5] ?? '20';
  const sender = new PinnedChild(1, join(here, 'sender.js'), []);
  try {
    if ((await sender.next()).type !== 'ready') throw new Error('sender did not start');
    for (const input of inputs) {
      const src = await capture(input);
      const t = await netvigilTarget(here, process.env['FLOW_E2E_COLLECTOR'] ?? '{}');
      try {
        const send = async (r: Omit<SendRun, 'type' | 'burst'>): Promise<SendDone> => (await sender.request({ type: 'send', burst: 32, ...r }, (seconds * 3 + 60) * 1000)) as SendDone;
        await send({ ...src, port: t.port(), source: '127.0.0.1', count: 15_000, rate: 10_000, resume: true });
        await t.loop?.();
        const before = load();
        const m = await trial(t, send, { ...src, rate, count: rate * seconds }, () => t.pids());
        const loop = await t.loop?.();
        const r = loop?.stalls;
        console.log(`\n### ${input}: ${m.sent} datagrams at ${Math.round(m.achieved)}/s for ${seconds} s: ${m.ok ? 'loss-free' : `LOSSY (${m.detail})`}; ${m.cpuUsPerDatagram.toFixed(1)} µs CPU/datagram`);
        console.log(`load average ${before} before, ${load()} after; event loop p99 ${loop?.p99.toFixed(1)} ms, max ${loop?.max.toFixed(1)} ms; longest GC ${r?.longestGc.ms.toFixed(1)} ms ${r?.longestGc.kind}; GC ${Object.entries(r?.gcByKind ?? {}).map(([k, v]) => `${k} ${v.n}x ${v.ms.toFixed(0)} ms`).join(', ')}`);
        if (r) console.log(`${stallSummary(r)}; by cause ${JSON.stringify(r.byCause)}`);
        for (const s of r?.stalls ?? []) {
          console.log(`  at ${(s.at / 1000).toFixed(2)} s: ${s.ms.toFixed(0)} ms ${s.cause}; thread on CPU ${s.cpu.toFixed(0)} ms, waiting for a CPU ${s.runqueue.toFixed(0)} ms; longest task ${s.taskMs.toFixed(1)} ms ${s.task ?? ''}; GC ${s.gcMs.toFixed(1)} ms ${s.gcKind}`);
        }
        console.log('longest task per label (>= 2 ms):');
        for (const l of r?.longestTasks ?? []) console.log(`  ${l.ms.toFixed(1)} ms${l.cpu >= 0 ? ` (on CPU ${l.cpu.toFixed(1)} ms)` : ''}, ${l.count} over 2 ms: ${l.label}`);
      } finally {
        await t.close();
      }
    }
  } finally {
    await sender.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
