import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { InfluxSink, type InfluxSinkOptions } from '../src/sinks/influx/sink.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { int, makeRecord, type NetRecord } from '../src/record/record.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { makeTmpDir, waitFor } from './helpers/net.js';

const log = pino({ level: 'silent' });
let influx: Influxd;
let tmp: { dir: string; cleanup: () => Promise<void> };
let dbSeq = 0;

beforeAll(async () => {
  influx = await startInfluxd();
  tmp = await makeTmpDir();
});
afterAll(async () => {
  await influx?.cleanup();
  await tmp?.cleanup();
});

function sinkOptions(db: string, over: Partial<InfluxSinkOptions> = {}): InfluxSinkOptions {
  return {
    url: influx.url,
    database: db,
    createDatabase: true,
    timeoutMs: 2000,
    maxInFlight: 2,
    retryInitialMs: 50,
    retryMaxMs: 400,
    spoolDir: join(tmp.dir, `spool-${db}`),
    spoolMaxBytes: 64 * 1024 * 1024,
    spoolMaxAgeMs: 3_600_000,
    ...over,
  };
}

const T0 = Date.UTC(2026, 0, 1);
/** Point i of a stream: unique timestamp, deterministic value, so count + sum identify the content. */
function point(i: number): NetRecord {
  return makeRecord('health', 'stream', { src: 'test' }, { seq: int(i), value: int((i * 7919) % 100_003) }, T0 + i);
}
const expectedSum = (n: number): number => Array.from({ length: n }, (_, i) => (i * 7919) % 100_003).reduce((a, b) => a + b, 0);

async function countAndSum(db: string): Promise<{ count: number; sum: number }> {
  const s = await influx.query(db, 'SELECT count("value"), sum("value") FROM "stream"');
  const row = s[0]?.values[0];
  return { count: Number(row?.[1] ?? 0), sum: Number(row?.[2] ?? 0) };
}

describe('InfluxDB sink against a real influxd', () => {
  it('round-trips field types exactly, escaping measurement names and tags', async () => {
    const db = `types${dbSeq++}`;
    const sink = new InfluxSink(sinkOptions(db), log);
    await sink.start();
    const big = 9007199254740993n; // 2^53 + 1: not representable as a double
    await sink.write([
      makeRecord('device', 'if counters,x', { 'dev ice': 'a=b,c d' }, { c64: big, g: 1.5, s: 'say "hi"\\', up: true, neg: int(-3) }, T0),
    ]);
    const keys = await influx.query(db, 'SHOW FIELD KEYS');
    const types = Object.fromEntries((keys[0]?.values ?? []).map((v) => [v[0], v[1]]));
    expect(keys[0]?.name).toBe('if counters,x');
    expect(types).toEqual({ c64: 'integer', g: 'float', s: 'string', up: 'boolean', neg: 'integer' });
    const raw = await (await fetch(`${influx.url}/query?db=${db}&q=${encodeURIComponent('SELECT * FROM "if counters,x"')}&epoch=ms`)).text();
    expect(raw).toContain('9007199254740993');
    expect(raw).toContain('"a=b,c d"');
    expect(raw).toContain('say \\"hi\\"\\\\');
    expect(sink.stats().points).toBe(1);
    await sink.stop(1000);
  });

  it('counts points InfluxDB rejects as bad data once, keeps the good ones, does not retry', async () => {
    const db = `bad${dbSeq++}`;
    const sink = new InfluxSink(sinkOptions(db), log);
    await sink.start();
    await sink.write([makeRecord('health', 'm', {}, { f: int(1) }, T0)]);
    // same field as a string: a type conflict InfluxDB refuses for that point only
    await sink.write([makeRecord('health', 'm', {}, { f: 'x' }, T0 + 1), makeRecord('health', 'm', {}, { f: int(2) }, T0 + 2)]);
    const st = sink.stats();
    expect(st.rejectedPoints).toBe(1);
    expect(st.retries).toBe(0);
    expect(sink.spool.empty).toBe(true);
    const s = await influx.query(db, 'SELECT count(f) FROM m');
    expect(s[0]?.values[0]?.[1]).toBe(2);
    await sink.stop(1000);
  });

  it('loses nothing when influxd is killed mid-stream and restarted: every point exactly once', async () => {
    const db = `outage${dbSeq++}`;
    const sink = new InfluxSink(sinkOptions(db), log);
    await sink.start();
    const pipe = new Pipeline({ queueSize: 100_000, overflow: 'drop_newest', batchSize: 200, flushIntervalMs: 20, concurrency: 2 }, [sink], () => {}, log);
    pipe.start();
    const emit = pipe.emitterFor('test');
    const N = 12_000;
    let i = 0;
    const burst = async (until: number): Promise<void> => {
      for (; i < until; i++) {
        emit.emit(point(i));
        if (i % 200 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    };
    await burst(3000);
    await influx.stop('SIGKILL');
    await burst(8000); // InfluxDB is down: these must be spooled
    await waitFor('batches spooled during the outage', () => (sink.stats().spoolBatches ?? 0) > 0);
    await influx.start();
    await burst(N);
    await waitFor('spool drained', () => sink.spool.empty && pipe.stats().queueDepth === 0, 30_000);
    await pipe.stop(5000);
    const st = sink.stats();
    expect(st.retries).toBeGreaterThan(0);
    expect(st.lostPoints).toBe(0);
    expect(pipe.stats().droppedQueueFull).toBe(0);
    expect(await countAndSum(db)).toEqual({ count: N, sum: expectedSum(N) });
  });

  it('replays a spool left by a stopped collector when it starts again with InfluxDB up', async () => {
    const db = `restart${dbSeq++}`;
    const opts = sinkOptions(db);
    await influx.stop();
    const first = new InfluxSink(opts, log);
    await first.start();
    for (let b = 0; b < 5; b++) await first.write(Array.from({ length: 100 }, (_, k) => point(b * 100 + k)));
    expect(first.stats().spoolBatches).toBe(5);
    await first.stop(300);
    expect(readdirSync(opts.spoolDir).filter((n) => n.endsWith('.lp'))).toHaveLength(5);
    await influx.start();
    const second = new InfluxSink(opts, log);
    await second.start();
    await waitFor('spool replayed', () => second.spool.empty, 20_000);
    expect(await countAndSum(db)).toEqual({ count: 500, sum: expectedSum(500) });
    expect(readdirSync(opts.spoolDir).filter((n) => n.endsWith('.lp'))).toHaveLength(0);
    await second.stop(1000);
  });

  it('enforces the spool size bound and counts what it evicts', async () => {
    const db = `bound${dbSeq++}`;
    await influx.stop();
    const opts = sinkOptions(db, { spoolMaxBytes: 20_000 });
    const sink = new InfluxSink(opts, log);
    await sink.start();
    let written = 0;
    for (let b = 0; b < 20; b++) {
      await sink.write(Array.from({ length: 50 }, (_, k) => point(b * 50 + k)));
      written += 50;
    }
    const st = sink.stats();
    expect(st.spoolBytes).toBeLessThanOrEqual(20_000);
    expect(st.spoolDroppedPoints).toBeGreaterThan(0);
    // nothing vanishes unaccounted: what is spooled plus what was evicted is what was written
    expect(sink.spool.size.points + (st.spoolDroppedPoints ?? 0)).toBe(written);
    await sink.stop(200);
    await influx.start();
  });

  it('graceful stop flushes queued records before returning', async () => {
    const db = `flush${dbSeq++}`;
    const sink = new InfluxSink(sinkOptions(db), log);
    await sink.start();
    // a long flush interval and a big batch: only stop() can send these
    const pipe = new Pipeline({ queueSize: 10_000, overflow: 'drop_newest', batchSize: 5000, flushIntervalMs: 60_000, concurrency: 1 }, [sink], () => {}, log);
    pipe.start();
    const emit = pipe.emitterFor('test');
    for (let k = 0; k < 1234; k++) emit.emit(point(k));
    expect((await countAndSum(db).catch(() => ({ count: 0, sum: 0 }))).count).toBe(0);
    await pipe.stop(5000);
    expect(await countAndSum(db)).toEqual({ count: 1234, sum: expectedSum(1234) });
  });
});
