/**
 * A real Prometheus scrapes a real `netvigil run` every second while softflowd exports NetFlow to
 * it; the assertions go through Prometheus' query API, so they hold for what Prometheus stored, not
 * for what we think we wrote. `promtool check metrics` lints the same text.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildV5 } from './helpers/flow-build.js';
import { freeTcpPort, freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { makeTraffic, writePcap } from './helpers/pcap.js';
import { startDaemon, type Daemon } from './helpers/proc.js';
import { startPrometheus, type Prometheus } from './helpers/prometheus.js';
import { runSoftflowd } from './helpers/softflowd.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'src', 'cli.js');
const VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
const README = join(import.meta.dirname, '..', 'src', 'http', 'README.md');
const FLOWS = 40;

let tmp: { dir: string; cleanup: () => Promise<void> };
let netvigil: Daemon;
let prom: Prometheus;
let httpPort: number;
let flowPort: number;
let pcapFile: string;
let startedAt: number;

beforeAll(async () => {
  [tmp, httpPort, flowPort] = await Promise.all([makeTmpDir('netvigil-prom-test-'), freeTcpPort(), freeUdpPort()]);
  pcapFile = join(tmp.dir, 'traffic.pcap');
  writeFileSync(pcapFile, writePcap(makeTraffic(FLOWS, Math.floor(Date.now() / 1000) - 60)));
  const cfg = join(tmp.dir, 'collector.yaml');
  writeFileSync(
    cfg,
    `data_dir: ${tmp.dir}/data
http: { listen: "127.0.0.1:${httpPort}" }
sinks:
  file: { dir: ${tmp.dir}/lp }
monitor: { interval: 500ms }
collectors:
  flow: { listen: [{ address: 127.0.0.1, port: ${flowPort} }], interval: 1s }
`,
  );
  startedAt = Date.now() / 1000;
  netvigil = startDaemon(process.execPath, [CLI, 'run', '-c', cfg]);
  await waitFor('netvigil /healthz', async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined))?.status === 200, 15_000, 100).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${netvigil.output()}`);
  });
  prom = await startPrometheus('netvigil', [`127.0.0.1:${httpPort}`]);
}, 60_000);
afterAll(async () => {
  await prom?.cleanup();
  await netvigil?.stop('SIGTERM', 5000);
  await tmp?.cleanup();
});

/** The single sample of `expr` once Prometheus has scraped it and `ok` holds for its value. */
async function settled(expr: string, ok: (v: number) => boolean, timeoutMs = 15_000): Promise<number> {
  const s = await waitFor(`${expr} in Prometheus`, async () => {
    const r = await prom.query(expr);
    return r.length === 1 && ok(r[0]?.value ?? NaN) ? r[0] : undefined;
  }, timeoutMs, 250);
  return s.value;
}

async function sendFrom(address: string, datagrams: Uint8Array[]): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((r, j) => {
    s.once('error', j);
    s.bind(0, address, () => r());
  });
  for (const d of datagrams) await new Promise<void>((r, j) => s.send(d, flowPort, '127.0.0.1', (e) => (e ? j(e) : r())));
  s.close();
}

describe('Prometheus scraping netvigil', () => {
  it('finds the target up, with netvigil_build_info carrying the package version', async () => {
    await settled('up{job="netvigil"}', (v) => v === 1);
    const [target] = await prom.targets();
    expect(target).toMatchObject({ health: 'up', lastError: '', scrapeUrl: `http://127.0.0.1:${httpPort}/metrics` });
    const info = await prom.query('netvigil_build_info');
    expect(info).toHaveLength(1);
    expect(info[0]?.metric).toMatchObject({ version: VERSION, job: 'netvigil' });
    expect(info[0]?.value).toBe(1);
  });

  it('sees the flow counters grow by exactly what softflowd exported, v5 then v9, with no loss', async () => {
    const ex = '{exporter="127.0.0.1"}';
    expect(await prom.query(`netvigil_flow_records_total${ex}`)).toEqual([]);
    const v5 = Number(/Flows exported: (\d+)/.exec(await runSoftflowd(pcapFile, '5', [flowPort], tmp.dir))?.[1]);
    expect(v5).toBe(FLOWS);
    await settled(`netvigil_flow_records_total${ex}`, (v) => v === v5);
    const v9 = Number(/Flows exported: (\d+)/.exec(await runSoftflowd(pcapFile, '9', [flowPort], tmp.dir))?.[1]);
    expect(v9).toBe(FLOWS);
    await settled(`netvigil_flow_records_total${ex}`, (v) => v === v5 + v9);
    // v5 sequence numbers count flows, v9 count export packets: at least the v5 flows were accounted
    expect(await settled(`netvigil_flow_sequence_received_total${ex}`, (v) => v > v5)).toBeGreaterThan(v5);
    expect(await settled(`netvigil_flow_sequence_lost_total${ex}`, () => true)).toBe(0);
    expect(await settled(`netvigil_flow_loss_ratio${ex}`, () => true)).toBe(0);
    const seen = await settled(`netvigil_flow_last_seen_timestamp_seconds${ex}`, () => true);
    expect(seen).toBeGreaterThanOrEqual(startedAt);
    expect(seen).toBeLessThanOrEqual(Date.now() / 1000);
    expect(await prom.query(`netvigil_flow_decode_errors_total${ex}`)).toEqual([]);
  }, 60_000);

  it('exposes per-exporter loss ratio, last-seen time and decode errors, and the README alerts fire on them', async () => {
    // generated input (the fault is the point): from 127.0.0.2, v5 flows 0-9; once Prometheus has
    // that, flows 20-29 (10 lost) and a datagram cut to 30 bytes
    const flow = (i: number) => ({ src: '10.7.0.1', dst: '10.7.0.2', packets: 1, bytes: 80, first: 1_000 + i, last: 2_000 + i, srcPort: 1000 + i, dstPort: 53, proto: 17 });
    const secs = Math.floor(Date.now() / 1000);
    const batch = (seq: number) => buildV5({ uptime: 100_000, secs, seq }, Array.from({ length: 10 }, (_, i) => flow(seq + i)));
    const ex = '{exporter="127.0.0.2"}';
    const before = Date.now() / 1000;
    await sendFrom('127.0.0.2', [batch(0)]);
    expect(await settled(`netvigil_flow_sequence_received_total${ex}`, (v) => v > 0)).toBe(10);
    expect(await settled(`netvigil_flow_exporter_errors_total${ex}`, () => true)).toBe(0);
    await sendFrom('127.0.0.2', [batch(20), batch(40).subarray(0, 30)]);
    expect(await settled(`netvigil_flow_loss_ratio${ex}`, (v) => v > 0)).toBeCloseTo(10 / 30, 9);
    const after = Date.now() / 1000;
    expect(await settled(`netvigil_flow_sequence_lost_total${ex}`, (v) => v > 0)).toBe(10);
    expect(await settled(`netvigil_flow_sequence_received_total${ex}`, (v) => v > 10)).toBe(20);
    expect(await settled(`netvigil_flow_exporter_errors_total${ex}`, (v) => v > 0)).toBe(1);
    expect(await settled(`netvigil_flow_decode_errors_total{exporter="127.0.0.2",reason="netflow5_truncated"}`, (v) => v > 0)).toBe(1);
    const seen = await settled(`netvigil_flow_last_seen_timestamp_seconds${ex}`, () => true);
    // the receive time, in seconds: after our first send, before Prometheus had scraped the result
    expect(seen).toBeGreaterThanOrEqual(Math.floor(before * 1000) / 1000);
    expect(seen).toBeLessThanOrEqual(after);
    const exporters = (await prom.query('netvigil_flow_last_seen_timestamp_seconds')).map((s) => s.metric['exporter']).sort();
    expect(exporters).toEqual(['127.0.0.1', '127.0.0.2']);

    // the alert table of src/http/README.md: a valid rules file, and each expression, evaluated by
    // Prometheus, fires for exactly the exporters it should
    const alerts = [...readFileSync(README, 'utf8').matchAll(/^\| ([^|`]+) \| `([^`]+)` \|$/gm)].map((m) => ({ name: (m[1] ?? '').trim(), expr: m[2] ?? '' }));
    expect(alerts.map((a) => a.name)).toEqual(['exporter silent for 5 minutes', 'recent sequence loss above 1 %', 'loss since start above 1 %', 'datagrams that fail to decode', 'collector not ready']);
    const rules = join(tmp.dir, 'rules.yml');
    writeFileSync(rules, `groups:\n  - name: netvigil\n    rules:\n${alerts.map((a, i) => `      - alert: NetvigilReadme${i}\n        expr: ${JSON.stringify(a.expr)}\n`).join('')}`);
    const check = spawnSync('promtool', ['check', 'rules', rules], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const firing = async (expr: string): Promise<string[]> => (await prom.query(expr)).map((s) => s.metric['exporter'] ?? '').sort();
    const want = [[], ['127.0.0.2'], ['127.0.0.2'], ['127.0.0.2'], []];
    for (const [i, a] of alerts.entries()) {
      // rate() and increase() need the sample before the fault and one after it
      await waitFor(`${a.name} firing for ${JSON.stringify(want[i])}`, async () => JSON.stringify(await firing(a.expr)) === JSON.stringify(want[i]), 10_000, 250);
    }
  }, 60_000);

  it('has the process_* and nodejs_* metrics of the netvigil process itself', async () => {
    const start = await settled('process_start_time_seconds{job="netvigil"}', () => true);
    // prom-client reads the start time to the second; the process started just after `startedAt`
    expect(start).toBeGreaterThanOrEqual(Math.floor(startedAt) - 1);
    expect(start).toBeLessThanOrEqual(Date.now() / 1000);
    const rss = await settled('process_resident_memory_bytes{job="netvigil"}', (v) => v > 0);
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${netvigil.pid}/status`, 'utf8'))?.[1]);
    // same process, read a second or so apart: within a factor of two
    expect(rss / (kb * 1024)).toBeGreaterThan(0.5);
    expect(rss / (kb * 1024)).toBeLessThan(2);
    expect(await settled('process_cpu_seconds_total{job="netvigil"}', (v) => v > 0)).toBeGreaterThan(0);
    const node = await prom.query('nodejs_version_info{job="netvigil"}');
    expect(node[0]?.metric['version']).toBe(execFileSync(process.execPath, ['--version'], { encoding: 'utf8' }).trim());
    expect(await prom.query('nodejs_eventloop_lag_seconds{job="netvigil"}')).toHaveLength(1);
    expect(await prom.query('nodejs_heap_size_used_bytes{job="netvigil"}')).toHaveLength(1);
  });
});

describe('promtool check metrics', () => {
  it('finds no problem in /metrics: counters end in _total, units are base units', async () => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    // the families this test relies on are all in the linted text
    for (const name of ['netvigil_build_info', 'netvigil_flow_loss_ratio', 'netvigil_flow_decode_errors_total', 'process_cpu_seconds_total', 'nodejs_gc_duration_seconds']) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
    // promtool only lints a few unit words: check the names ourselves as well
    const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? ''] as const);
    expect(families.length).toBeGreaterThan(50);
    for (const [name, type] of families) {
      expect(name.endsWith('_total'), `${name} (${type})`).toBe(type === 'counter');
      expect(name, name).not.toMatch(/_(milli|micro|nano)seconds|_percent|_pct|_ms$|_kb|_kib|_mb/);
    }
  });
});
