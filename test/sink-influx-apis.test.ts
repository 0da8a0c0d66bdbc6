/**
 * The InfluxDB sink against real servers of each write API it speaks: VictoriaMetrics (Debian's
 * `victoria-metrics`) on `/write` and `/api/v2/write` with gzip bodies and unsigned integers, influxd
 * 1.6 over HTTPS with a throwaway CA (`tls.ca`), influxd with a small max-body-size (413 splits the
 * batch), and the v2 API pointed at a 1.6 server that has none (404: not_found, not an outage).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pino } from 'pino';
import { InfluxSink, type InfluxSinkOptions } from '../src/sinks/influx/sink.js';
import { makeRecord, type NetRecord } from '../src/record/record.js';
import { buildConfigSchema } from '../src/config/schema.js';
import { parseConfigText } from '../src/config/load.js';
import { ConfigError } from '../src/errors.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { startVictoria, type Victoria } from './helpers/victoria.js';
import { makeTmpDir, waitFor } from './helpers/net.js';

const log = pino({ level: 'silent' });
let tmp: { dir: string; cleanup: () => Promise<void> };
let vm: Victoria;
let tls: Influxd;
let small: Influxd;
let seq = 0;

beforeAll(async () => {
  tmp = await makeTmpDir();
  [vm, tls, small] = await Promise.all([startVictoria(), startInfluxd({ tls: true }), startInfluxd({ maxBodySize: 2000 })]);
});
afterAll(async () => {
  await Promise.all([vm?.cleanup(), tls?.cleanup(), small?.cleanup()]);
  await tmp?.cleanup();
});

function opts(url: string, over: Partial<InfluxSinkOptions> = {}): InfluxSinkOptions {
  return {
    url,
    database: 'netvigil',
    createDatabase: true,
    timeoutMs: 2000,
    maxInFlight: 2,
    retryInitialMs: 50,
    retryMaxMs: 200,
    spoolDir: join(tmp.dir, `spool-${seq++}`),
    spoolMaxBytes: 64 * 1024 * 1024,
    spoolMaxAgeMs: 3_600_000,
    ...over,
  };
}

const T0 = Date.UTC(2026, 0, 1);
const ifRec = (dev: string, i: number, octets: bigint): NetRecord =>
  makeRecord('interface', 'interface', { device: dev, if_index: String(i) }, { in_octets: octets, in_bps: i * 1.5, sys_descr: 'line one\nline two' }, T0 + i * 1000);

describe('InfluxDB sink: the v1 and v2 write APIs on real servers', () => {
  it('VictoriaMetrics: /write with gzip bodies', async () => {
    const sink = new InfluxSink(opts(vm.url, { createDatabase: false, gzip: true }), log);
    await sink.start();
    await sink.write(Array.from({ length: 50 }, (_, i) => ifRec('v1dev', i, BigInt(i * 1000))));
    expect(sink.stats()).toMatchObject({ points: 50, state: 'ok', spoolBatches: 0 });
    const series = await waitFor('v1 series exported', async () => {
      const s = (await vm.export('interface_in_octets')).filter((x) => x.metric.device === 'v1dev');
      return s.reduce((n, x) => n + x.values.length, 0) === 50 ? s : undefined;
    });
    expect(series.flatMap((x) => x.values).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i * 1000));
    await sink.stop(1000);
  });

  it('VictoriaMetrics: /api/v2/write with token, org, bucket, gzip and unsigned integers up to 2^64-1', async () => {
    const sink = new InfluxSink(opts(vm.url, { api: 'v2', token: 'not-checked-by-vm', org: 'o', bucket: 'b', gzip: true, integers: 'unsigned', createDatabase: true }), log);
    await sink.start();
    await sink.write([ifRec('v2dev', 1, 18446744073709551615n), ifRec('v2dev', 2, 7n)]);
    expect(sink.stats()).toMatchObject({ points: 2, state: 'ok', clampedValues: 0 });
    const series = await waitFor('v2 series exported', async () => {
      const s = (await vm.export('interface_in_octets')).filter((x) => x.metric.device === 'v2dev');
      return s.length === 2 ? s : undefined;
    });
    // VictoriaMetrics keeps float64 samples (with its own decimal compression): 2^64-1 reads back
    // within 1e-12 of 2^64; what matters here is that the `u` line was accepted, not refused.
    const [low, high] = series.flatMap((x) => x.values).sort((a, b) => a - b) as [number, number];
    expect(low).toBe(7);
    expect(high / 2 ** 64).toBeCloseTo(1, 12);
    await sink.stop(1000);
  });

  it('influxd over HTTPS: tls.ca trusts the server; without it the certificate is refused and the data spooled', async () => {
    const good = new InfluxSink(opts(tls.url, { tlsCaFile: tls.certs?.caFile, gzip: true }), log);
    await good.start();
    await good.write(Array.from({ length: 20 }, (_, i) => ifRec('tls', i, BigInt(i))));
    expect(good.stats()).toMatchObject({ points: 20, state: 'ok' });
    const s = await tls.query('netvigil', "SELECT count(in_octets) FROM interface WHERE device = 'tls'");
    expect(s[0]?.values[0]?.[1]).toBe(20);
    await good.stop(1000);

    const lines: Record<string, unknown>[] = [];
    const capture = pino({ level: 'info' }, { write: (t: string) => void lines.push(JSON.parse(t) as Record<string, unknown>) });
    const bad = new InfluxSink(opts(tls.url), capture);
    await bad.start();
    await bad.write([ifRec('tls', 99, 1n)]);
    expect(bad.stats()).toMatchObject({ points: 0, state: 'unavailable', spoolBatches: 1 });
    expect(JSON.stringify(lines)).toMatch(/certificate/i);
    await bad.stop(100);
  });

  it('413 from a small max-body-size splits the batch until it fits; nothing is rejected', async () => {
    const sink = new InfluxSink(opts(small.url), log);
    await sink.start();
    await sink.write(Array.from({ length: 300 }, (_, i) => ifRec('big', i, BigInt(i))));
    const st = sink.stats();
    expect(st.failures?.too_large).toBeGreaterThan(0);
    expect(st).toMatchObject({ points: 300, rejectedPoints: 0, spoolBatches: 0, state: 'ok' });
    const s = await small.query('netvigil', 'SELECT count(in_octets) FROM interface');
    expect(s[0]?.values[0]?.[1]).toBe(300);
    await sink.stop(1000);
  });

  it('the v2 API against influxd 1.6 (which has none) is not_found, not an outage', async () => {
    const sink = new InfluxSink(opts(small.url, { api: 'v2', bucket: 'b' }), log);
    await sink.start();
    await sink.write([ifRec('none', 1, 1n)]);
    expect(sink.stats()).toMatchObject({ state: 'not_found', spoolBatches: 1 });
    expect(sink.ready()).toBe(false);
    await sink.stop(100);
  });

  it('precision s, us and ns write the same instants; a spool of another precision is refused, not misdated', async () => {
    for (const precision of ['s', 'us', 'ns'] as const) {
      const sink = new InfluxSink(opts(small.url, { database: `p${precision}`, precision }), log);
      await sink.start();
      await sink.write([makeRecord('health', 'p', {}, { v: 1 }, T0 + 3000)]);
      expect(sink.stats()).toMatchObject({ points: 1, state: 'ok' });
      const s = await small.query(`p${precision}`, 'SELECT v FROM p');
      expect(s[0]?.values).toEqual([[T0 + 3000, 1]]);
      await sink.stop(500);
    }
    const spoolDir = join(tmp.dir, 'spool-precision');
    const down = new InfluxSink(opts('http://127.0.0.1:9', { spoolDir, createDatabase: false }), log); // port 9: nothing listens
    await down.start();
    await down.write([makeRecord('health', 'p', {}, { v: 1 }, T0)]);
    expect(down.stats().spoolBatches).toBe(1);
    await down.stop(50);
    expect(() => new InfluxSink(opts(small.url, { spoolDir, precision: 'ns' }), log)).toThrow(/holds batches with precision ms/);
  });

  it('validate: credentials in the URL and in username at once, or v2 keys with api v1, are config errors', () => {
    const schema = buildConfigSchema([]);
    const problems = (yaml: string): string[] => {
      try {
        parseConfigText(yaml, 'c.yaml', schema, {}, {});
      } catch (e) {
        if (e instanceof ConfigError) return e.problems.map((p) => `${p.path}: ${p.message}`);
        throw e;
      }
      return [];
    };
    expect(problems('sinks: { influx: { url: "http://u:p@127.0.0.1:8086" } }')).toEqual([]);
    expect(problems('sinks: { influx: { url: "http://u:p@127.0.0.1:8086", username: x } }').join()).toMatch(/sinks\.influx\.url: credentials both in url/);
    expect(problems('sinks: { influx: { token: t } }').join()).toMatch(/sinks\.influx\.api: token, org and bucket belong to api: v2/);
    expect(problems('sinks: { influx: { api: v2, token: t, bucket: b, gzip: true, precision: ns, integers: unsigned, tls: { ca: /x.pem } } }')).toEqual([]);
  });
});
