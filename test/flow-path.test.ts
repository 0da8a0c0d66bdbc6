/**
 * The data path in numbers (issue 20 item 4). Real exports (softflowd NetFlow v5 and v9, pmacctd
 * sfprobe sFlow, over a generated traffic capture) are received once, then replayed with GENERATED
 * EDITS of that real input: datagrams swapped (reordered), one sent twice (duplicated), one left out
 * (lost). The loss accounting must count a swap as reordered and not as loss, a repeat as a
 * duplicate, and only the left-out datagram as lost. A running App then takes the edited v5
 * replay over loopback: the counters reach the exporter's `flow_stats` record and /metrics, and the
 * verdict carries the reason `exporter_path`.
 */
import { createSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlowProcessor } from '../collectors/flow/processor.js';
import { TemplateStore } from '../collectors/netflow/templates.js';
import { App } from '../src/app.js';
import { configSchema } from '../src/commands/common.js';
import { parseConfigText } from '../src/config/load.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { makeTraffic, writePcap } from './helpers/pcap.js';
import { runSfprobe } from './helpers/pmacct.js';
import { startDaemon } from './helpers/proc.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
const captures = new Map<string, Uint8Array[]>();

/** What real softflowd sends for the capture, received on a socket of ours. */
async function softflowdExports(pcap: string, version: '5' | '9'): Promise<Uint8Array[]> {
  const sock = createSocket('udp4');
  const got: Uint8Array[] = [];
  sock.on('message', (m) => void (got.length < 10_000 && got.push(new Uint8Array(m))));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const d = startDaemon('softflowd', ['-r', pcap, '-v', version, '-d', '-c', 'none', '-p', join(tmp.dir, `p${version}.pid`), '-n', `127.0.0.1:${sock.address().port}`]);
  await new Promise<void>((r) => (d.proc.exitCode !== null ? r() : d.proc.once('exit', () => r())));
  await new Promise((r) => setTimeout(r, 300));
  sock.close();
  return got;
}

beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-path-');
  const pcap = join(tmp.dir, 'traffic.pcap');
  writeFileSync(pcap, writePcap(makeTraffic(900, Math.floor(Date.now() / 1000) - 60)));
  captures.set('5', await softflowdExports(pcap, '5'));
  captures.set('9', await softflowdExports(pcap, '9'));
  captures.set('sflow', (await runSfprobe({ dir: tmp.dir, pcapPath: pcap })).datagrams);
}, 60_000);
afterAll(async () => tmp?.cleanup());

/** Generated edits of a real sequence: swap i with i+1, send i twice, leave i out. */
function edit(ds: readonly Uint8Array[], e: { swap: number[]; dup: number[]; drop: number[] }): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < ds.length; i++) {
    if (e.drop.includes(i)) continue;
    if (e.swap.includes(i) && i + 1 < ds.length) {
      out.push(ds[i + 1] as Uint8Array, ds[i] as Uint8Array);
      i++;
      continue;
    }
    out.push(ds[i] as Uint8Array);
    if (e.dup.includes(i)) out.push(ds[i] as Uint8Array);
  }
  return out;
}

function replay(ds: readonly Uint8Array[]): FlowProcessor {
  const p = new FlowProcessor({ collector: 'flow', store: new TemplateStore(), raw: false, maxExporters: 10 }, {
    emit: () => undefined, aggregate: () => undefined, interfaces: () => undefined, clockOffset: () => undefined,
    internalError: (e) => {
      throw e;
    },
  });
  let now = Date.now();
  for (const d of ds) p.handle(d, '127.0.0.1', 9999, (now += 5));
  return p;
}

/** The flows (v5: its count field) or datagrams (v9 packets, sFlow) a datagram's sequence counts. */
const units = (kind: string, d: Uint8Array): number => (kind === '5' ? ((d[2] as number) << 8) | (d[3] as number) : 1);

describe.each(['5', '9', 'sflow'])('replayed real %s export with generated edits', (kind) => {
  it('counts swaps as reordered (not lost), repeats as duplicated, a missing datagram as lost', () => {
    const ds = captures.get(kind) ?? [];
    // enough datagrams that the edits sit after v9's numbering is learned (8 messages)
    expect(ds.length).toBeGreaterThanOrEqual(20);
    const clean = replay(ds).loss.pathTotals().get('127.0.0.1');
    expect(clean).toMatchObject({ lost: 0, duplicates: 0, reordered: 0 });
    const ed = { swap: [10, 14], dup: [12], drop: [17] };
    const got = replay(edit(ds, ed)).loss.pathTotals().get('127.0.0.1');
    expect(got).toEqual({ received: (clean?.received ?? 0) - units(kind, ds[17] as Uint8Array) + units(kind, ds[12] as Uint8Array), lost: units(kind, ds[17] as Uint8Array), duplicates: 1, reordered: 2 });
  });
});

describe('an App receiving the edited v5 replay', () => {
  let app: App;
  let port: number;
  let base: string;
  beforeAll(async () => {
    port = await freeUdpPort();
    const cfg = parseConfigText(
      `data_dir: ${tmp.dir}/data
http: { listen: "127.0.0.1:0" }
pipeline: { flush_interval: 100ms }
sinks: { file: { dir: ${tmp.dir}/lp } }
monitor: { interval: 300ms }
collectors:
  flow: { listen: [{ address: 127.0.0.1, port: ${port} }], interval: 1h, stats_interval: 1s, exporter_path: { min_datagrams: 5 }, timestamps: { default: exporter } }
`,
      join(tmp.dir, 'collector.yaml'),
      configSchema(),
    );
    app = new App(cfg, { log: pino({ level: 'silent' }), configDir: tmp.dir });
    await app.start();
    base = `http://127.0.0.1:${app.httpPort}`;
  }, 30_000);
  afterAll(async () => app?.stop(3000));

  it('shows the counters on flow_stats and /metrics and raises exporter_path', async () => {
    const metrics = async (): Promise<string> => (await fetch(`${base}/metrics`)).text();
    expect(await metrics()).not.toMatch(/netvigil_vm_verdict_reason\{reason="exporter_path"\} 1/);
    const ds = captures.get('5') ?? [];
    const sock = createSocket('udp4');
    // bounded: one pass over the capture, paced so loopback keeps the order we send in
    for (const d of edit(ds, { swap: [10, 14], dup: [12], drop: [17] })) {
      await new Promise<void>((r, j) => sock.send(d, port, '127.0.0.1', (e) => (e ? j(e) : r())));
      await new Promise((r) => setTimeout(r, 2));
    }
    sock.close();
    // (the replayed export times are seconds old: under `auto` this exporter would be re-anchored)
    const text = await waitFor('exporter_path in the verdict', async () => {
      const t = await metrics();
      return /netvigil_vm_verdict_reason\{reason="exporter_path"\} 1/.test(t) ? t : undefined;
    }, 15_000);
    expect(text).toMatch(/netvigil_flow_sequence_reordered_total\{exporter="127\.0\.0\.1"\} 2\n/);
    expect(text).toMatch(/netvigil_flow_sequence_duplicated_total\{exporter="127\.0\.0\.1"\} 1\n/);
    expect(text).toMatch(new RegExp(`netvigil_flow_sequence_lost_total\\{exporter="127\\.0\\.0\\.1"\\} ${units('5', ds[17] as Uint8Array)}\\n`));
    expect(text).toMatch(/netvigil_flow_exporter_delay_tail_seconds\{exporter="127\.0\.0\.1"\} [0-9.e-]+\n/);
    expect(text).toMatch(/netvigil_flow_exporter_time_source\{exporter="127\.0\.0\.1",source="exporter"\} 1\n/);
    await waitFor('flow_stats in the file', () => /^flow_stats,collector=flow,exporter=127\.0\.0\.1 .*seq_reordered=2i/m.test(readFileSync(join(tmp.dir, 'lp', 'netvigil.lp'), 'utf8')), 10_000);
    const line = readFileSync(join(tmp.dir, 'lp', 'netvigil.lp'), 'utf8').split('\n').filter((l) => /^flow_stats,collector=flow,exporter=127\.0\.0\.1 .*seq_reordered=2i/.test(l)).at(-1) ?? '';
    expect(line).toMatch(/seq_duplicated=1i/);
    expect(line).toMatch(/time_source="exporter"/);
    expect(line).toMatch(/jitter_ms=/);
    // the monitor's own record names it (a vm_verdict event only when the level changed: under
    // load another reason may have made it degraded first)
    await waitFor('a vm_host sample naming exporter_path', () => /^vm_host[, ].*reasons="[^"]*exporter_path/m.test(readFileSync(join(tmp.dir, 'lp', 'netvigil.lp'), 'utf8')), 15_000);
  }, 40_000);
});
