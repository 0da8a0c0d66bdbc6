/**
 * The operations HTTP surface of a real App: NetFlow v5 datagrams into a loopback flow listener, a
 * real influxd behind the sink, /metrics scraped and parsed as Prometheus text, /readyz through an
 * InfluxDB outage with a small spool, and the endpoints' edges (HEAD, 404, 405, port clash).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { pino } from 'pino';
import { App } from '../src/app.js';
import { configSchema } from '../src/commands/common.js';
import { parseConfigText } from '../src/config/load.js';
import { MAX_EXPORTER_LABELS } from '../src/http/metrics.js';
import { OpsServer, parseListen } from '../src/http/server.js';
import { buildV5 } from './helpers/flow-build.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Text exposition format 0.0.4, strictly: every sample belongs to a declared family, labels quoted. */
function parseProm(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        expect(meta[3]).toMatch(/^(counter|gauge|histogram|summary|untyped)$/);
        expect(types.has(meta[2] ?? ''), `TYPE twice for ${meta[2]}`).toBe(false);
        types.set(meta[2] ?? '', meta[3] ?? '');
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})? (\S+)$/.exec(line);
    expect(m, `not a Prometheus sample line: ${line}`).not.toBeNull();
    const name = m?.[1] ?? '';
    // a histogram's samples are <family>_bucket, _sum and _count; a summary's <family>, _sum, _count
    const suffix = /_(bucket|sum|count)$/.exec(name)?.[1];
    const family = types.has(name) || !suffix ? name : name.slice(0, -suffix.length - 1);
    expect(types.has(family), `sample ${name} has no TYPE line`).toBe(true);
    if (family !== name) expect(suffix === 'bucket' ? ['histogram'] : ['histogram', 'summary'], `sample ${name} of a ${types.get(family)}`).toContain(types.get(family));
    const labels: Record<string, string> = {};
    for (const l of (m?.[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] ?? ''] = l[2] ?? '';
    const value = Number(m?.[3]);
    expect(Number.isNaN(value), `value of ${line}`).toBe(false);
    samples.push({ name, labels, value });
  }
  return { types, samples };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

let influx: Influxd;
let tmp: { dir: string; cleanup: () => Promise<void> };
let app: App;
let base: string;
let flowPort: number;
const sock = createSocket('udp4');

beforeAll(async () => {
  [influx, tmp, flowPort] = await Promise.all([startInfluxd(), makeTmpDir(), freeUdpPort()]);
  const cfg = parseConfigText(
    `data_dir: ${tmp.dir}/data
telemetry_interval: 300ms
http: { listen: "127.0.0.1:0" }
pipeline: { batch_size: 10, flush_interval: 100ms }
sinks:
  influx: { url: "${influx.url}", database: httptest, retry: { initial: 50ms, max: 200ms }, spool: { max_size: 64KiB } }
monitor: { interval: 300ms }
collectors:
  flow: { listen: [{ address: 127.0.0.1, port: ${flowPort} }], interval: 1s, raw: true }
`,
    join(tmp.dir, 'collector.yaml'),
    configSchema(),
  );
  app = new App(cfg, { log: pino({ level: 'silent' }), configDir: tmp.dir });
  await app.start();
  base = `http://127.0.0.1:${app.httpPort}`;
}, 60_000);
afterAll(async () => {
  sock.close();
  await app?.stop(3000);
  await Promise.all([influx?.cleanup(), tmp?.cleanup()]);
});

let seq = 0;
async function sendDatagrams(n: number, flowsEach = 20): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const flows = Array.from({ length: flowsEach }, (_, k) => ({
      // distinct end times: InfluxDB keeps one point per series and timestamp
      src: `10.1.${i % 250}.${k + 1}`, dst: '10.2.0.1', input: 3, output: 4, packets: 2, bytes: 300, first: 9_000 + seq + k, last: 10_000 + seq + k, srcPort: 1000 + k, dstPort: 443, proto: 6,
    }));
    const d = buildV5({ uptime: 100_000, secs: Math.floor(now / 1000), seq }, flows);
    seq += flowsEach;
    await new Promise<void>((r, j) => sock.send(d, flowPort, '127.0.0.1', (e) => (e ? j(e) : r())));
  }
}

async function scrape(): Promise<Sample[]> {
  const r = await fetch(`${base}/metrics`);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseProm(await r.text()).samples;
}

describe('/metrics', () => {
  it('parses as Prometheus text and moves with traffic; counters never go back', async () => {
    const before = await scrape();
    expect(value(before, 'netvigil_queue_capacity')).toBe(200_000);
    expect([0, 1, 2]).toContain(value(before, 'netvigil_vm_verdict'));
    expect(value(before, 'netvigil_sink_ready', { sink: 'influx' })).toBe(1);
    const dBefore = value(before, 'netvigil_flow_datagrams_total', { exporter: '127.0.0.1' }) ?? 0;

    await sendDatagrams(7);
    const after = await waitFor('7 datagrams counted', async () => {
      const s = await scrape();
      return value(s, 'netvigil_flow_datagrams_total', { exporter: '127.0.0.1' }) === dBefore + 7 ? s : undefined;
    });
    expect(value(after, 'netvigil_flow_records_total', { exporter: '127.0.0.1' })).toBeGreaterThanOrEqual(7 * 20);
    expect(value(after, 'netvigil_flow_exporters')).toBe(1);
    // the raw flow records reach InfluxDB, and the sink's point counter covers them
    await waitFor('raw flows in InfluxDB', async () => (await influx.query('httptest', 'SELECT count(bytes) FROM flow').catch(() => []))[0]?.values[0]?.[1] === 140, 15_000, 100);
    const later = await waitFor('sink points counted', async () => {
      const s = await scrape();
      return (value(s, 'netvigil_sink_points_total', { sink: 'influx' }) ?? 0) >= 140 ? s : undefined;
    });
    expect(value(later, 'netvigil_records_in_total', { collector: 'flow' })).toBeGreaterThanOrEqual(140);
    expect(value(later, 'netvigil_records_out_total')).toBeGreaterThanOrEqual(140);
    expect(value(later, 'netvigil_sink_writes_total', { sink: 'influx' })).toBeGreaterThan(0);
    expect(value(later, 'netvigil_sink_write_seconds_total', { sink: 'influx' })).toBeGreaterThan(0);
    expect(value(later, 'netvigil_vm_monitor_samples_total')).toBeGreaterThan(0);
    // scrapes closer together than the 10 ms event-loop delay sampling: no empty-window garbage
    const [a, b] = [await scrape(), await scrape()];
    for (const s of [...a, ...b].filter((x) => x.name.startsWith('nodejs_eventloop_lag_'))) expect(s.value, s.name).toBeLessThan(60);
    for (const s of before.filter((x) => x.name.endsWith('_total'))) {
      const now = value(later, s.name, s.labels);
      expect(now, `${s.name}${JSON.stringify(s.labels)}`).toBeGreaterThanOrEqual(s.value);
    }
  });

  it('keeps the flow counters monotonic when a reload restarts the collector', async () => {
    const s0 = await scrape();
    const d0 = value(s0, 'netvigil_flow_datagrams_total', { exporter: '127.0.0.1' }) ?? 0;
    expect(d0).toBeGreaterThan(0);
    // a changed block reloads the collector in place; stopping and restarting it resets its counters
    const { flow, ...others } = app.config.collectors;
    await app.reload({ ...app.config, collectors: others });
    await app.reload({ ...app.config, collectors: { ...others, flow } });
    await sendDatagrams(2);
    const s1 = await waitFor('datagrams after the restart', async () => {
      const s = await scrape();
      return value(s, 'netvigil_flow_datagrams_total', { exporter: '127.0.0.1' }) === d0 + 2 ? s : undefined;
    });
    expect(JSON.parse(await (await fetch(`${base}/status.json`)).text()).flow.exporters[0].datagrams).toBe(2);
    expect(value(s1, 'netvigil_flow_records_total', { exporter: '127.0.0.1' })).toBeGreaterThanOrEqual(value(s0, 'netvigil_flow_records_total', { exporter: '127.0.0.1' }) ?? 0);
  });
});

describe('/metrics label bounds', () => {
  it(`keeps at most ${MAX_EXPORTER_LABELS} exporter labels and sums the rest under "other"`, async () => {
    const s0 = await scrape();
    const sum = (s: Sample[]): number => s.filter((x) => x.name === 'netvigil_flow_datagrams_total').reduce((a, x) => a + x.value, 0);
    const n = MAX_EXPORTER_LABELS + 5;
    // every 127/8 address is local on Linux: n real exporters, each with its own source address
    for (let i = 0; i < n; i++) {
      const src = createSocket('udp4');
      await new Promise<void>((r, j) => {
        src.once('error', j);
        src.bind(0, `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`, () => r());
      });
      const d = buildV5({ uptime: 100_000, secs: Math.floor(Date.now() / 1000), seq: 0 }, [
        { src: '10.9.0.1', dst: '10.9.0.2', packets: 1, bytes: 60, first: 99_000, last: 99_000 + i, srcPort: 1, dstPort: 2, proto: 17 },
      ]);
      await new Promise<void>((r, j) => src.send(d, flowPort, '127.0.0.1', (e) => (e ? j(e) : r())));
      src.close();
    }
    const s1 = await waitFor('every exporter counted', async () => {
      const s = await scrape();
      return sum(s) === sum(s0) + n ? s : undefined;
    });
    const labels = s1.filter((x) => x.name === 'netvigil_flow_datagrams_total').map((x) => x.labels.exporter);
    expect(labels).toHaveLength(MAX_EXPORTER_LABELS + 1);
    expect(labels).toContain('other');
    expect(labels).toContain('127.0.0.1');
    // 127.0.0.1 came first and holds one of the labels, so six of the new exporters share "other"
    expect(value(s1, 'netvigil_flow_datagrams_total', { exporter: 'other' })).toBe(6);
    expect(value(s1, 'netvigil_flow_exporters')).toBe(n + 1);
    for (const m of ['netvigil_flow_exporter_errors_total', 'netvigil_flow_sequence_received_total', 'netvigil_flow_sequence_lost_total', 'netvigil_flow_loss_ratio', 'netvigil_flow_last_seen_timestamp_seconds']) {
      expect(s1.filter((x) => x.name === m).map((x) => x.labels.exporter).sort(), m).toEqual([...labels].sort());
    }
    // `other` is the six exporters together: one flow each, no gap, and the latest of their arrivals
    expect(value(s1, 'netvigil_flow_sequence_received_total', { exporter: 'other' })).toBe(6);
    expect(value(s1, 'netvigil_flow_loss_ratio', { exporter: 'other' })).toBe(0);
    const seen = s1.filter((x) => x.name === 'netvigil_flow_last_seen_timestamp_seconds').map((x) => x.value);
    expect(value(s1, 'netvigil_flow_last_seen_timestamp_seconds', { exporter: 'other' })).toBe(Math.max(...seen));
  });
});

describe('/healthz and /readyz', () => {
  it('/healthz answers 200; HEAD has no body; unknown paths 404; writes 405', async () => {
    const h = await fetch(`${base}/healthz`);
    expect([h.status, await h.text()]).toEqual([200, 'ok\n']);
    const head = await fetch(`${base}/healthz`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });

  it('/readyz goes 503 with the reason when InfluxDB is away and the spool nears its bound, and 200 after', async () => {
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    await influx.stop();
    try {
      // ~300 raw flow points of ~200 bytes each overfill the 64 KiB spool; the pipeline's 10-record
      // batches are small against its 10 % headroom, so once full it stays above 90 %
      const body = await waitFor('503 from /readyz', async () => {
        await sendDatagrams(3);
        const r = await fetch(`${base}/readyz`);
        return r.status === 503 ? r.text() : undefined;
      }, 20_000, 200);
      expect(body).toMatch(/^not ready\nsink influx: unreachable and its spool is near its bound \(\d+ bytes in \d+ batches, \d+ points evicted\)/);
      // Not ready from 90 % of the bound; the first eviction comes with the write that crosses 100 %,
      // so the flows keep coming until it has happened (with framed batches the two can be apart).
      const s = await waitFor('a spool eviction counted', async () => {
        const x = await scrape();
        if ((value(x, 'netvigil_sink_spool_dropped_points_total', { sink: 'influx' }) ?? 0) > 0) return x;
        await sendDatagrams(3);
        return undefined;
      }, 20_000, 200);
      expect(value(s, 'netvigil_ready')).toBe(0);
      expect(value(s, 'netvigil_sink_spool_bytes', { sink: 'influx' })).toBeGreaterThan(0.9 * 64 * 1024);
      expect(value(s, 'netvigil_sink_retries_total', { sink: 'influx' })).toBeGreaterThan(0);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      await influx.start();
    }
    await waitFor('200 from /readyz after InfluxDB is back', async () => (await fetch(`${base}/readyz`)).status === 200, 20_000, 100);
    expect(await (await fetch(`${base}/readyz`)).text()).toBe('ready\n');
  }, 60_000);

  it('listens on an IPv6 address given in brackets', async () => {
    expect(parseListen('[::1]:9108')).toEqual({ host: '::1', port: 9108 });
    expect(parseListen('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(() => parseListen('127.0.0.1:70000')).toThrow(/expected ADDRESS:PORT/);
    const v6 = new OpsServer(app, pino({ level: 'silent' }));
    const port = await v6.listen('[::1]:0');
    try {
      const r = await fetch(`http://[::1]:${port}/readyz`);
      expect(r.status).toBe(200);
    } finally {
      await v6.close();
    }
  });

  it('a taken port is a clear error at start, and the half-started App releases its sockets', async () => {
    const port = app.httpPort ?? 0;
    const udp = await freeUdpPort();
    const cfg = parseConfigText(
      `data_dir: ${tmp.dir}/clash\nhttp: { listen: "127.0.0.1:${port}" }\ncollectors:\n  flow: { listen: [{ address: 127.0.0.1, port: ${udp} }] }\n`,
      join(tmp.dir, 'clash.yaml'),
      configSchema(),
    );
    const other = new App(cfg, { log: pino({ level: 'silent' }), configDir: tmp.dir });
    await expect(other.start()).rejects.toThrow(`cannot serve HTTP on 127.0.0.1:${port}: the address is already in use`);
    // its flow socket was closed: the port binds again
    const probe = createSocket('udp4');
    await new Promise<void>((r, j) => {
      probe.once('error', j);
      probe.bind(udp, '127.0.0.1', () => r());
    });
    probe.close();
  });
});
