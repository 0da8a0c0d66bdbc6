/**
 * How the InfluxDB sink classifies what a real influxd 1.6 answers, with authentication on:
 * a write-only user (403 on CREATE DATABASE), a wrong password (401 on write), a missing database
 * (404), field type conflicts and points outside the retention policy (400 partial writes), and a
 * Counter64 above 2^63-1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pino } from 'pino';
import { InfluxSink, type InfluxSinkOptions } from '../src/sinks/influx/sink.js';
import { int, makeRecord, type NetRecord } from '../src/record/record.js';
import { SelfTelemetry } from '../src/telemetry/self.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { makeTmpDir, waitFor } from './helpers/net.js';

let influx: Influxd;
let tmp: { dir: string; cleanup: () => Promise<void> };
let seq = 0;

beforeAll(async () => {
  influx = await startInfluxd({ auth: true });
  tmp = await makeTmpDir();
});
afterAll(async () => {
  await influx?.cleanup();
  await tmp?.cleanup();
});

/** A logger whose JSON lines land in `lines`, to assert what the operator is told. */
function capture(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

function opts(db: string, over: Partial<InfluxSinkOptions> = {}): InfluxSinkOptions {
  return {
    url: influx.url,
    database: db,
    username: influx.admin?.user,
    password: influx.admin?.password,
    createDatabase: true,
    timeoutMs: 2000,
    maxInFlight: 2,
    retryInitialMs: 50,
    retryMaxMs: 200,
    spoolDir: join(tmp.dir, `spool-${db}-${seq++}`),
    spoolMaxBytes: 64 * 1024 * 1024,
    spoolMaxAgeMs: 3_600_000,
    ...over,
  };
}

const T0 = Date.UTC(2026, 0, 1);
const pt = (i: number, fields: NetRecord['fields'] = { v: int(i) }, m = 'stream'): NetRecord => makeRecord('health', m, { src: 't' }, fields, T0 + i);

async function count(db: string, q: string): Promise<number> {
  const s = await influx.query(db, q);
  return Number(s[0]?.values[0]?.[1] ?? 0);
}

describe('InfluxDB sink: errors classified against a real influxd with auth', () => {
  it('a write-only user: CREATE DATABASE refused (403) is one warning, and the writes land', async () => {
    const db = 'wo';
    await influx.createWriter('writer', 'w-pass', db);
    await influx.query('', `CREATE RETENTION POLICY "keep" ON "${db}" DURATION INF REPLICATION 1 DEFAULT`); // the admin's part
    const { log, lines } = capture();
    const sink = new InfluxSink(opts(db, { username: 'writer', password: 'w-pass', retentionPolicy: { name: 'keep', duration: 'INF', replication: 1, default: true } }), log);
    await sink.start();
    for (let b = 0; b < 3; b++) await sink.write(Array.from({ length: 10 }, (_, k) => pt(b * 10 + k)));
    const st = sink.stats();
    expect(st).toMatchObject({ points: 30, state: 'ok', adminDenied: 1, retries: 0, spoolBatches: 0 });
    expect(sink.ready()).toBe(true);
    expect(lines.filter((l) => String(l.msg).includes('no permission to create'))).toHaveLength(1);
    expect(lines.some((l) => String(l.msg).includes('not reachable'))).toBe(false);
    expect(await count(db, 'SELECT count(v) FROM stream')).toBe(30);
    await sink.stop(1000);
    // A retention policy nobody made: influxd answers 500 "retention policy not found"; that is
    // not an outage but the not_found state, naming the policy.
    const second = capture();
    const noRp = new InfluxSink(opts(db, { username: 'writer', password: 'w-pass', retentionPolicy: { name: 'nobody', duration: '30d', replication: 1, default: false } }), second.log);
    await noRp.start();
    await noRp.write([pt(100)]);
    expect(noRp.stats()).toMatchObject({ state: 'not_found', spoolBatches: 1 });
    expect(noRp.ready()).toBe(false);
    expect(second.lines.some((l) => String(l.msg).includes(`no retention policy nobody in database ${db}`))).toBe(true);
    await noRp.stop(200);
  });

  it('401 on write is its own state: not ready, logged once per interval naming user and database, data kept until the user exists', async () => {
    const db = 'unauth';
    await influx.query('', `CREATE DATABASE "${db}"`);
    const { log, lines } = capture();
    const sink = new InfluxSink(opts(db, { username: 'late', password: 'late-pass', logIntervalMs: 60_000 }), log);
    await sink.start();
    for (let b = 0; b < 4; b++) await sink.write(Array.from({ length: 25 }, (_, k) => pt(b * 25 + k)));
    await waitFor('several refused retries', () => (sink.stats().failures?.unauthorized ?? 0) >= 4);
    const st = sink.stats();
    expect(st.state).toBe('unauthorized');
    expect(sink.ready()).toBe(false);
    expect(st.points).toBe(0);
    expect(st.spoolBatches).toBe(4);
    const said = lines.filter((l) => String(l.msg).includes('refuses writes'));
    expect(said).toHaveLength(1); // once per interval, not once per retry
    expect(said[0]).toMatchObject({ user: 'late', target: `database ${db}`, status: 401 });
    // The operator creates the user: the spool drains in order and the sink is ready again.
    await influx.query('', `CREATE USER "late" WITH PASSWORD 'late-pass'`);
    await influx.query('', `GRANT WRITE ON "${db}" TO "late"`);
    await waitFor('spool drained after the grant', () => sink.spool.empty, 10_000);
    expect(sink.stats().state).toBe('ok');
    expect(sink.ready()).toBe(true);
    expect(await count(db, 'SELECT count(v) FROM stream')).toBe(100);
    await sink.stop(1000);
  });

  it('403 on write (user without WRITE on this database) is unauthorized too', async () => {
    await influx.createWriter('other', 'o-pass', 'elsewhere');
    await influx.query('', 'CREATE DATABASE "forbidden"');
    const sink = new InfluxSink(opts('forbidden', { username: 'other', password: 'o-pass' }), pino({ level: 'silent' }));
    await sink.start();
    await sink.write([pt(1)]);
    expect(sink.stats()).toMatchObject({ state: 'unauthorized', adminDenied: 1, spoolBatches: 1 });
    expect(sink.stats().failures?.unauthorized).toBeGreaterThanOrEqual(1);
    expect(sink.ready()).toBe(false);
    await sink.stop(200);
  });

  it('404 database not found (create_database off) names the database, keeps the data, drains once it exists', async () => {
    const db = 'later';
    const { log, lines } = capture();
    const sink = new InfluxSink(opts(db, { createDatabase: false }), log);
    await sink.start();
    await sink.write(Array.from({ length: 20 }, (_, k) => pt(k)));
    expect(sink.stats()).toMatchObject({ state: 'not_found', spoolBatches: 1 });
    expect(sink.ready()).toBe(false);
    expect(lines.find((l) => String(l.msg).includes(`has no database ${db}`))).toMatchObject({ status: 404 });
    await influx.query('', `CREATE DATABASE "${db}"`);
    await waitFor('spool drained', () => sink.spool.empty, 10_000);
    expect(sink.ready()).toBe(true);
    expect(await count(db, 'SELECT count(v) FROM stream')).toBe(20);
    await sink.stop(1000);
  });

  it('a field first written as float, then as integer: only the conflicting points are lost, counted by measurement, field and reason', async () => {
    const db = 'conflict';
    const { log, lines } = capture();
    const sink = new InfluxSink(opts(db), log);
    await sink.start();
    await sink.write([pt(0, { x: 1.5, y: 'a' }, 'if')]);
    // 300 points: every 7th carries x as an integer (conflict), every 11th y as a boolean (a second
    // conflict the server's answer does not name), the rest are good, before and after the bad ones.
    const batch: NetRecord[] = [];
    let badX = 0;
    let badY = 0;
    for (let i = 1; i <= 300; i++) {
      const fields: NetRecord['fields'] = { x: i % 7 === 0 ? int(i) : i + 0.5, y: i % 11 === 0 ? true : 's' };
      if (i % 7 === 0) badX++;
      else if (i % 11 === 0) badY++;
      batch.push(pt(i, fields, 'if'));
    }
    await sink.write(batch);
    const st = sink.stats();
    expect(st.spoolBatches).toBe(0);
    expect(st.retries).toBe(0);
    expect(st.rejectedPoints).toBe(badX + badY);
    const byKey = Object.fromEntries((st.rejected ?? []).map((r) => [`${r.measurement}/${r.field}/${r.reason}`, r.points]));
    expect(byKey).toEqual({ 'if/x/field_type_conflict': badX, 'if/y/field_type_conflict': badY });
    expect(await count(db, 'SELECT count(x) FROM "if"')).toBe(1 + 300 - badX - badY);
    const logged = lines.filter((l) => l.reason === 'field_type_conflict');
    expect(logged).toHaveLength(1); // one example per reason per interval
    expect(String(logged[0]?.example)).toMatch(/^if,src=t /);
    // the same counts as self-telemetry records (what dashboards and /metrics read)
    const pipeline = { queueDepth: 0, queueCapacity: 1, queueHighWater: 0, droppedQueueFull: 0, droppedAfterStop: 0, droppedAtStop: 0, sinkFailures: 0, recordsOut: 0, batches: 0, collectors: {} };
    const recs = new SelfTelemetry({ pipeline: () => pipeline, sinks: [sink] }).collect();
    const rejected = recs.filter((r) => r.measurement === 'netvigil_sink_rejected').map((r) => [r.tags.field, r.tags.reason, r.fields.points]);
    expect(rejected).toEqual([
      ['x', 'field_type_conflict', BigInt(badX)],
      ['y', 'field_type_conflict', BigInt(badY)],
    ]);
    expect(recs.find((r) => r.measurement === 'netvigil_sink')?.fields).toMatchObject({ state: 'ok', rejected_points: BigInt(badX + badY), failures_rejected: 2n, clamped_values: 0n });
    await sink.stop(1000);
  });

  it('points outside the retention policy (an answer naming no field) are found by bisection; the others are written', async () => {
    const db = 'retention';
    const sink = new InfluxSink(opts(db, { retentionPolicy: { name: 'short', duration: '1h', replication: 1, default: true } }), pino({ level: 'silent' }));
    await sink.start();
    const now = Date.now();
    const batch = Array.from({ length: 64 }, (_, i) => makeRecord('health', 'rp', {}, { v: int(i) }, i % 16 === 5 ? T0 + i : now - i));
    await sink.write(batch);
    const st = sink.stats();
    expect(st.rejected).toEqual([{ measurement: 'rp', field: '', reason: 'beyond_retention', points: 4 }]);
    expect(st.spoolBatches).toBe(0);
    expect(await count(db, 'SELECT count(v) FROM rp')).toBe(60);
    // a batch the server drops entirely (dropped= equals its size) is counted without bisecting
    const before = sink.stats().failures?.rejected ?? 0;
    await sink.write(Array.from({ length: 500 }, (_, i) => makeRecord('health', 'rp', {}, { v: int(i) }, T0 + 1000 + i)));
    expect(sink.stats().failures?.rejected).toBe(before + 1);
    expect(sink.stats().rejected).toEqual([{ measurement: 'rp', field: '', reason: 'beyond_retention', points: 504 }]);
    await sink.stop(1000);
  });

  it('a Counter64 above 2^63-1 is written as 2^63-1 into an integer field, counted, and its record is kept', async () => {
    const db = 'c64';
    const sink = new InfluxSink(opts(db), pino({ level: 'silent' }));
    await sink.start();
    await sink.write([makeRecord('interface', 'interface', { if_index: '1' }, { in_octets: int(5), oper_status: int(1) }, T0)]);
    await sink.write([makeRecord('interface', 'interface', { if_index: '1' }, { in_octets: 18446744073709551615n, oper_status: int(1) }, T0 + 1000)]);
    const st = sink.stats();
    expect(st).toMatchObject({ points: 2, rejectedPoints: 0, clampedValues: 1 });
    const raw = await influx.query(db, 'SELECT in_octets, oper_status FROM interface');
    expect(raw[0]?.values).toEqual([
      [T0, 5, 1],
      [T0 + 1000, 2 ** 63, 1], // JSON.parse rounds; the exact value is checked by the server below
    ]);
    expect(await count(db, 'SELECT count(in_octets) FROM interface WHERE in_octets = 9223372036854775807')).toBe(1);
    const keys = await influx.query(db, 'SHOW FIELD KEYS FROM interface');
    expect(Object.fromEntries((keys[0]?.values ?? []).map((v) => [v[0], v[1]]))).toEqual({ in_octets: 'integer', oper_status: 'integer' });
    await sink.stop(1000);
  });

  it('a URL with user:pass@ is used as the credentials', async () => {
    const db = 'urlcreds';
    await influx.createWriter('u1', 'p@ss word', db);
    const u = new URL(influx.url);
    u.username = 'u1';
    u.password = encodeURIComponent('p@ss word');
    const sink = new InfluxSink(opts(db, { url: u.href, username: undefined, password: undefined }), pino({ level: 'silent' }));
    await sink.start();
    await sink.write([pt(1), pt(2)]);
    expect(sink.stats()).toMatchObject({ points: 2, state: 'ok' });
    expect(await count(db, 'SELECT count(v) FROM stream')).toBe(2);
    await sink.stop(1000);
  });
});
