/**
 * Where netvigil's receiver spends its time on the real exporters' captures: the receiver of the
 * bench runs under `node --cpu-prof` (core 0) while the sender (core 1) replays a capture at a
 * fixed rate below the loss point, and the V8 profile is summed up by function (self time, and
 * total time of netvigil's own functions including what they call), as percentages of the
 * receiver's busy samples (idle excluded).
 *
 *   npm run build && node dist/bench/flow-e2e/profile.js [exporter,...] [rate] [seconds]
 *
 * Defaults: softflowd-v9,softflowd-ipfix,sfprobe-sflow at 10000 datagrams/s for 10 s, on the
 * 20,000-conversation mix of flow-real (same cache). The .cpuprofile files stay in a temp dir
 * (printed) for Chrome DevTools.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCaptures, EXPORTERS, type Exporter } from './exporters.js';
import { PinnedChild, type SendDone, type SendRun } from './ipc.js';
import { netvigilTarget } from './targets.js';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
  positionTicks?: { line: number; ticks: number }[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

function label(n: Node): string {
  const f = n.callFrame;
  const file = f.url.startsWith('file:') ? relative(root, fileURLToPath(f.url)).replace(/^dist\//, '') : f.url;
  return `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
}

export interface Summary {
  self: Map<string, number>;
  total: Map<string, number>;
  /** Sample ticks per source line, per function label. */
  lines: Map<string, Map<number, number>>;
  busy: number;
  /** µs under the datagram handler (the socket's `message` callback, collector.ts onMessage). */
  path: number;
  gc: number;
}

/**
 * Self and total (inclusive) µs per function label within the datagram handler's subtree (so
 * start-up and module loading stay out), plus the busy total of the whole process (idle out).
 */
export function summarise(p: Profile, under = /^onMessage collectors\/flow\/collector/): Summary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const out: Summary = { self: new Map(), total: new Map(), lines: new Map(), busy: 0, path: 0, gc: 0 };
  const walk = (id: number, inside: boolean, onStack: Set<string>): number => {
    const n = byId.get(id);
    if (!n) return 0;
    const name = label(n);
    const mine = selfUs.get(id) ?? 0;
    if (name.startsWith('(idle)')) return 0;
    out.busy += mine;
    if (name.startsWith('(garbage collector)')) out.gc += mine;
    const entering = !inside && under.test(name);
    const counted = inside || entering;
    const fresh = counted && !onStack.has(name);
    if (counted) {
      out.self.set(name, (out.self.get(name) ?? 0) + mine);
      const lines = out.lines.get(name) ?? new Map<number, number>();
      for (const t of n.positionTicks ?? []) lines.set(t.line, (lines.get(t.line) ?? 0) + t.ticks);
      out.lines.set(name, lines);
    }
    if (fresh) onStack.add(name);
    let sum = mine;
    for (const c of n.children ?? []) sum += walk(c, counted, onStack);
    // recursion: a function's total counts once, at its outermost frame
    if (fresh) {
      out.total.set(name, (out.total.get(name) ?? 0) + sum);
      onStack.delete(name);
    }
    if (entering) out.path += sum;
    return sum;
  };
  walk(p.nodes[0]!.id, false, new Set());
  return out;
}

function top(m: Map<string, number>, busy: number, n: number, only?: (k: string) => boolean): string[] {
  return [...m]
    .filter(([k]) => !only || only(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`);
}

async function main(): Promise<void> {
  const names = (process.argv[2] ?? 'softflowd-v9,softflowd-ipfix,sfprobe-sflow').split(',') as Exporter[];
  for (const n of names) if (!(EXPORTERS as readonly string[]).includes(n)) throw new Error(`unknown exporter ${n}`);
  const rate = Number(process.argv[3] ?? 10_000);
  const seconds = Number(process.argv[4] ?? 10);
  const caps = await buildCaptures({ kind: 'mix', conversations: Number(process.env['FLOW_REAL_CONVERSATIONS'] ?? 20_000), seed: 1 }, names, (s) => console.log(s));
  const sender = new PinnedChild(1, join(here, 'sender.js'), []);
  try {
    if ((await sender.next()).type !== 'ready') throw new Error('sender did not start');
    for (const c of caps) {
      const dir = mkdtempSync(join(tmpdir(), `netvigil-prof-${c.exporter}-`));
      const t = await netvigilTarget(here, '{}', ['--cpu-prof', '--cpu-prof-dir', dir]);
      const send = async (count: number, r: number): Promise<SendDone> => (await sender.request({ type: 'send', protocol: c.stats.protocol === 'sflow' ? 'sflow' : 'v9', capture: c.file, port: t.port(), source: '127.0.0.1', count, rate: r, burst: 32, resume: true } satisfies SendRun, 120_000)) as SendDone;
      await send(15_000, 10_000);
      const loss0 = await t.taken(false);
      const done = await send(rate * seconds, rate);
      await new Promise((r) => setTimeout(r, 500));
      const loss1 = await t.taken(false);
      const loop = await t.loop?.();
      await t.close();
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) throw new Error(`no profile written in ${dir}`);
      const s = summarise(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile);
      const mine = (k: string): boolean => / (collectors|src)\//.test(k);
      console.log(`\n### ${c.exporter}: ${done.sent} datagrams at ${Math.round(done.rate)}/s, ${loss1.units - loss0.units} of ${done.records} records counted; event loop p99 ${loop?.p99.toFixed(1)} ms, max ${loop?.max.toFixed(1)} ms`);
      console.log(`datagram path ${(s.path / 1e6).toFixed(2)} s of ${(s.busy / 1e6).toFixed(2)} s busy; garbage collector ${(s.gc / 1e6).toFixed(2)} s; profile: ${join(dir, file)}`);
      console.log('self time, % of the datagram path:');
      for (const l of top(s.self, s.path, 25)) console.log(`  ${l}`);
      console.log('total time (callees included), % of the datagram path:');
      for (const l of top(s.total, s.path, 20, mine)) console.log(`  ${l}`);
      console.log('hottest lines of the top functions (sample ticks):');
      for (const [name] of [...s.self].sort((a, b) => b[1] - a[1]).slice(0, 5)) {
        const lines = [...(s.lines.get(name) ?? new Map<number, number>())].sort((a, b) => b[1] - a[1]).slice(0, 5);
        console.log(`  ${name}: ${lines.map(([l, t]) => `line ${l} x${t}`).join(', ')}`);
      }
    }
  } finally {
    await sender.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
