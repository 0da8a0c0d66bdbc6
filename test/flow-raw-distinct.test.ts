/**
 * Raw flow points never collide in InfluxDB (issue: 1,000 flows of one exporter ending in the same
 * millisecond were stored as 1 point while the sink counted 1,000 written). NetFlow v5 datagrams
 * (built from the RFC layout: generated input, the all-equal end time is the edge case) are decoded
 * and normalized as the collector does, stamped by RawSeq, and written by the real sink to a real
 * influxd; every flow must come back, also when a second run sees flows with the same end times.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeV5 } from '../collectors/netflow/v5.js';
import { normalizeV5 } from '../collectors/netflow/normalize.js';
import { EARLY_MS, perFlow, RawSeq } from '../collectors/flow/rawseq.js';
import { decodeSflow, normalizeSflow } from '../collectors/sflow/index.js';
import { datagram, discardSample, flowSample, sampledIp, type Tlv } from '../collectors/sflow/testutil.js';
import { InfluxSink } from '../src/sinks/influx/sink.js';
import type { FlowRecord, NetRecord } from '../src/record/record.js';
import { buildV5, type V5FlowSpec } from './helpers/flow-build.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { makeTmpDir } from './helpers/net.js';

let influx: Influxd;
let tmp: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  [influx, tmp] = await Promise.all([startInfluxd(), makeTmpDir('netvigil-raw-')]);
}, 30_000);
afterAll(async () => {
  await Promise.all([influx?.cleanup(), tmp?.cleanup()]);
});

const EXPORT_SECS = Math.floor(Date.UTC(2026, 0, 1, 12) / 1000);

/** 1,000 flows in 34 v5 datagrams, all with the same `last` (end) uptime. */
function flows(firstBytes: number): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (let d = 0, n = 0; n < 1000; d++) {
    const list: V5FlowSpec[] = [];
    for (; list.length < 30 && n < 1000; n++) list.push({ src: `10.1.${n >> 8}.${n & 255}`, dst: '192.0.2.9', packets: 1, bytes: firstBytes + n, first: 90_000, last: 99_000, srcPort: 40000, dstPort: 53, proto: 17 });
    out.push(...normalizeV5(decodeV5(buildV5({ uptime: 100_000, secs: EXPORT_SECS, seq: d * 30 }, list)), '127.0.0.1'));
  }
  return out;
}

async function write(db: string, recs: NetRecord[]): Promise<void> {
  const sink = new InfluxSink(
    { url: influx.url, database: db, createDatabase: true, timeoutMs: 5000, maxInFlight: 1, retryInitialMs: 50, retryMaxMs: 200, spoolDir: join(tmp.dir, db), spoolMaxBytes: 1 << 26, spoolMaxAgeMs: 3_600_000 },
    pino({ level: 'silent' }),
  );
  await sink.start();
  await sink.write(recs);
  expect(sink.stats().points).toBe(recs.length);
  await sink.stop(2000);
}

describe('raw flow points ending in the same millisecond', () => {
  it('are 1,000 points in InfluxDB, not 1, and a later run adds its own instead of replacing them', async () => {
    const first = flows(1000);
    expect(new Set(first.map((r) => r.time)).size).toBe(1); // the edge case: one end ms for all
    const end = first[0]?.time ?? 0;
    // a run that started long before these flows ended: only collisions get a tag
    const run1 = new RawSeq(end - 10 * EARLY_MS);
    for (const r of first) run1.stamp(r);
    expect(first[0]?.tags['seq']).toBeUndefined();
    expect(first[999]?.tags['seq']).toBe('999');
    await write('raw', first);
    const q = async (): Promise<number[]> => ((await influx.query('raw', 'SELECT count(bytes), sum(bytes) FROM flow'))[0]?.values[0] ?? []).slice(1).map(Number);
    const sum1 = first.reduce((s, r) => s + Number(r.fields['bytes']), 0);
    expect(await q()).toEqual([1000, sum1]);

    // a restarted process receives more flows that ended in the same ms (an exporter's late batch)
    const second = flows(5000);
    const run2 = new RawSeq(end + 1000);
    for (const r of second) run2.stamp(r);
    expect(second[0]?.tags['seq']).toMatch(/^r[0-9a-z]+\.0$/);
    await write('raw', second);
    const sum2 = second.reduce((s, r) => s + Number(r.fields['bytes']), 0);
    expect(await q()).toEqual([2000, sum1 + sum2]);
    const series = await influx.query('raw', 'SHOW SERIES CARDINALITY FROM flow');
    expect(Number(series[0]?.values[0]?.[0])).toBe(2000); // one series per k: bounded by the largest same-ms burst
  });
});

describe('sFlow discard samples of one datagram', () => {
  it('are one point each in InfluxDB, though they share the datagram\'s receive time and a reason', async () => {
    // generated datagrams (sflow_drops.txt §2): 40 discards of two reasons and 10 flow samples each
    const ip = (i: number): Tlv => sampledIp({ length: 100 + i, proto: 17, src: `10.2.0.${i + 1}`, dst: '192.0.2.9', srcPort: 4000 + i, dstPort: 53 });
    const recs: FlowRecord[] = [];
    const seq = new RawSeq(0);
    for (let d = 0; d < 3; d++) {
      const samples = Array.from({ length: 50 }, (_, i) => (i % 5 === 4 ? flowSample({ sequence: i, records: [ip(i)] }) : discardSample({ sequence: i, reason: i % 2 ? 2 : 257, drops: i, records: [ip(i)] })));
      // every datagram received in the same ms as the last (a burst): only `seq` keeps samples apart
      for (const r of normalizeSflow(decodeSflow(datagram({ agent: '127.0.0.1', sequence: d + 1, samples })), '127.0.0.1', Date.UTC(2026, 0, 1, 12))) {
        if (r.kind !== 'flow') continue;
        if (perFlow(r)) seq.stamp(r); // as the collector and `netvigil decode` do
        recs.push(r);
      }
    }
    const discards = recs.filter((r) => r.measurement === 'flow_discard');
    expect(discards).toHaveLength(120);
    expect(new Set(discards.map((r) => `${r.tags['reason']} ${r.time}`)).size).toBe(2); // the edge case: two keys without `seq`
    await write('discards', recs);
    const [row] = await influx.query('discards', 'SELECT count("reason_code"), sum("discard_drops") FROM "flow_discard"');
    expect(row?.values[0]?.slice(1).map(Number)).toEqual([120, discards.reduce((a, r) => a + Number(r.fields['discard_drops']), 0)]);
    const [flows] = await influx.query('discards', 'SELECT count("sampling_rate") FROM "flow"');
    expect(Number(flows?.values[0]?.[1])).toBe(30);
  });
});

describe('RawSeq bookkeeping', () => {
  it('tags only repeats, counts flows older than the window as late, and forgets old ends', () => {
    const mk = (time: number, exporter = 'e'): FlowRecord => ({ kind: 'flow', measurement: 'flow', tags: { exporter, version: '9', domain: '0' }, fields: {}, time, timeSource: 'exporter' });
    const s = new RawSeq(0);
    const t = 10 * EARLY_MS;
    const a = [mk(t), mk(t), mk(t + 1), mk(t, 'other'), mk(t + 0.4)];
    for (const r of a) s.stamp(r);
    expect(a.map((r) => r.tags['seq'])).toEqual([undefined, '1', undefined, undefined, '2']);
    const later = mk(t + 11 * 60_000);
    s.stamp(later);
    const old = mk(t);
    s.stamp(old);
    expect(s.late).toBe(1);
    expect(old.tags['seq']).toBe('3');
  });
});

describe('netvigil decode --format lp', () => {
  it('keeps flows that end in the same ms distinct, so the file loads into InfluxDB whole', async () => {
    const { writeFileSync } = await import('node:fs');
    const { runDecode } = await import('../collectors/flow/decode-cli.js');
    const list: V5FlowSpec[] = Array.from({ length: 30 }, (_, i) => ({ src: `10.9.0.${i + 1}`, dst: '192.0.2.9', packets: 1, bytes: 100 + i, first: 90_000, last: 99_000, srcPort: 1000 + i, dstPort: 53, proto: 17 }));
    const file = join(tmp.dir, 'same-end.bin');
    writeFileSync(file, buildV5({ uptime: 100_000, secs: EXPORT_SECS, seq: 0 }, list)); // one raw datagram (generated)
    let out = '';
    const sink = new (await import('node:stream')).Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) });
    expect(await runDecode(['--format', 'lp', file], { stdout: sink, stderr: sink })).toBe(0);
    const lines = out.trim().split('\n').filter((l) => l.startsWith('flow,'));
    expect(lines).toHaveLength(30);
    // series key + time: everything but the field set
    const keys = lines.map((l) => `${l.slice(0, l.indexOf(' '))} ${l.slice(l.lastIndexOf(' ') + 1)}`);
    expect(new Set(keys).size).toBe(30);
  });
});
