/**
 * The accounting invariant under random faults: every flow sent is stored in InfluxDB, or counted
 * as lost under a named reason by the collector itself (netvigil_lost), or falls in the stated crash
 * window of a SIGKILL. Flows are GENERATED numbered NetFlow v5 (test/helpers/numbered.ts; `bytes` is
 * the flow's number) sent to the built CLI with raw output and 5 s aggregation; a real influxd.
 *
 * Faults, from a fixed seed: the collector SIGTERMed or SIGKILLed at random moments (restarts inside
 * an aggregation interval), influxd SIGSTOPped (hung) or SIGKILLed and restarted, and the spool on a
 * 256 KiB tmpfs that a long InfluxDB outage fills (needs root for mount; without it that fault is
 * left out and the test says so). Sending pauses 150 ms before each signal so the socket buffer is
 * read: datagrams the kernel still held when the socket closed would be lost before the collector
 * received them, which no collector can count.
 *
 * Raw: stored + counted = sent - unaccounted, where unaccounted <= the flows sent within
 * W = flush_interval + hang_threshold + 0.5 s before each SIGKILL (records in memory, nothing can
 * count them) and every missing flow outside those windows is covered by the counts.
 * Aggregated (flow_agg): each 5 s interval no SIGKILL touched holds exactly the flows sent in it
 * (sending pauses 300 ms either side of a boundary, so the interval of every flow is clear); the
 * others never more, and the total is missing at most the flows of the last checkpoint period
 * (5 s) + W before each SIGKILL.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { countByMeasurement, LossLedger } from '../src/pipeline/loss.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { int, makeRecord, type NetRecord } from '../src/record/record.js';
import { emptyStats, type Sink } from '../src/sinks/sink.js';
import { Spool } from '../src/sinks/influx/spool.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { freeTcpPort, freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { compareIds, NumberedFlows, startRun, storedFlowIds } from './helpers/numbered.js';
import { seededRandom } from './helpers/random.js';

const SEED = 19;
const RUNS = 9;
const FLUSH_MS = 200;
const HANG_MS = 1000;
const W = FLUSH_MS + HANG_MS + 500;
const CHECKPOINT_MS = 5000;
const AGG_MS = 5000;

const rng = seededRandom;
function ranges(ids: readonly number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === (ids[j] ?? 0) + 1) j++;
    out.push(`${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return out;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('loss ledger', () => {
  it('counts line protocol by measurement, escapes included, and continues from its file', async () => {
    expect([...countByMeasurement('# c\nflow,a=1 x=1 1\nflow x=2 2\nmy\\ m,b=2 x=1\nmy\\,n x=1\n\n')]).toEqual([['flow', 2], ['my m', 1], ['my,n', 1]]);
    const tmp = await makeTmpDir('netvigil-ledger-');
    try {
      const file = join(tmp.dir, 'lost.json');
      const a = new LossLedger(file);
      a.addLines('spool_write_failed', 'flow x=1 1\nflow x=2 2\nflow_agg x=1 1\n');
      a.add('queue_full', 'flow', 3);
      a.flush();
      const b = new LossLedger(file);
      b.add('queue_full', 'flow', 1);
      expect(b.list()).toEqual([
        { reason: 'spool_write_failed', measurement: 'flow', points: 2 },
        { reason: 'spool_write_failed', measurement: 'flow_agg', points: 1 },
        { reason: 'queue_full', measurement: 'flow', points: 4 },
      ]);
    } finally {
      await tmp.cleanup();
    }
  });
});

/**
 * A sink that never finishes a write and cannot spool: a TEST DOUBLE for a destination and disk too
 * slow for the shutdown deadline, which no real part here produces on demand.
 */
class NeverSink implements Sink {
  readonly name = 'never';
  got = 0;
  async start(): Promise<void> {}
  write(batch: readonly NetRecord[]): Promise<void> {
    this.got += batch.length;
    return new Promise(() => {});
  }
  async stop(): Promise<void> {}
  stats() {
    return emptyStats();
  }
  ready(): boolean {
    return true;
  }
}

describe('the pipeline counts what it drops in the ledger, by measurement', () => {
  it('queue_full, at_stop and after_stop', async () => {
    const loss = new LossLedger();
    const sink = new NeverSink();
    const pipe = new Pipeline({ queueSize: 100, overflow: 'drop_oldest', batchSize: 10, flushIntervalMs: 5, concurrency: 1, loss }, [sink], () => {}, pino({ level: 'silent' }));
    pipe.start();
    const e = pipe.emitterFor('c');
    for (let i = 0; i < 10; i++) e.emit(makeRecord('health', 'a', {}, { i: int(i) }, i));
    await sleep(30); // the first batch is now stuck in the sink
    for (let i = 0; i < 120; i++) e.emit(makeRecord('health', i < 60 ? 'a' : 'b', {}, { i: int(i) }, i));
    await pipe.stop(300, () => [makeRecord('health', 'final', {}, { i: int(0) }, 0)]);
    e.emit(makeRecord('health', 'a', {}, { i: int(0) }, 0));
    const by = Object.fromEntries(loss.list().map((l) => [`${l.reason}/${l.measurement}`, l.points]));
    // 120 into a queue of 100 (drop_oldest): the 20 oldest, all `a`, and one more `a` for the final
    // record; the 100 left (39 a, 60 b, final) at the deadline
    expect(by).toEqual({ 'queue_full/a': 21, 'at_stop/a': 39, 'at_stop/b': 60, 'at_stop/final': 1, 'after_stop/a': 1 });
    expect(sink.got + loss.total()).toBe(10 + 120 + 1 + 1);
    expect(pipe.stats().droppedAtStop).toBe(100);
  });
});

describe('the spool counts what it loses in the ledger, by measurement', () => {
  it('spool_evicted (max_size), spool_expired (max_age), spool_corrupt (measurement unknown)', async () => {
    const tmp = await makeTmpDir('netvigil-spool-loss-');
    try {
      const loss = new LossLedger();
      const hook = (why: 'spool_evicted' | 'spool_expired' | 'spool_corrupt', text: string | undefined, points: number) => (text === undefined ? loss.add(why, '', points) : loss.addLines(why, text));
      const lines = (m: string, n: number, from: number) => Array.from({ length: n }, (_, i) => `${m} v=${from + i}i ${from + i}\n`).join('');
      const batches: [string, number, number][] = [[lines('flow', 3, 0), 3, 0], [lines('flow_agg', 2, 3), 2, 0], [lines('flow', 3, 5), 3, 10], [lines('flow', 3, 8), 3, 20]];
      const scratch = new Spool(join(tmp.dir, 'scratch'), { maxBytes: 1 << 20, maxAgeMs: 1000 });
      for (const [t, n, at] of batches) scratch.append(t, n, at);
      // room for exactly these four: a fifth evicts the oldest (3 flow)
      const s = new Spool(join(tmp.dir, 'spool'), { maxBytes: scratch.size.bytes + 1, maxAgeMs: 1000 }, undefined, hook);
      for (const [t, n, at] of batches) s.append(t, n, at);
      s.append(lines('flow', 3, 1), 3, 30); // as large as the oldest
      s.expire(1005); // older than 1 s at 1005 ms: the flow_agg batch created at 0
      writeFileSync(s.peek()?.entry.file ?? '', 'garbage'); // the next one is changed on disk
      s.peek();
      expect(Object.fromEntries(loss.list().map((l) => [`${l.reason}/${l.measurement}`, l.points]))).toEqual({ 'spool_evicted/flow': 3, 'spool_expired/flow_agg': 2, 'spool_corrupt/': 3 });
      expect(s.size.points).toBe(6);
    } finally {
      await tmp.cleanup();
    }
  });
});

let tmp: { dir: string; cleanup: () => Promise<void> };
let influx: Influxd;
let tmpfs: string | undefined;
let cannotMount: string | undefined;
beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-acct-');
  influx = await startInfluxd();
  const dir = join(tmp.dir, 'tmpfs');
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { stdio: 'pipe' });
    tmpfs = dir;
  } catch (e) {
    cannotMount = (e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message;
  }
});
afterAll(async () => {
  await influx?.cleanup();
  if (tmpfs) execFileSync('umount', [tmpfs], { stdio: 'pipe' });
  if (tmp) rmSync(tmp.dir, { recursive: true, force: true });
});

describe('accounting under random faults', () => {
  it(`stored + counted lost = sent, within the SIGKILL bound (seed ${SEED}, ${RUNS} runs)`, async () => {
    const [udp, http] = [await freeUdpPort(), await freeTcpPort()];
    const data = join(tmp.dir, 'data');
    const cfg = join(tmp.dir, 'acct.yaml');
    writeFileSync(
      cfg,
      `data_dir: ${data}
shutdown_timeout: 3s
telemetry_interval: 1s
monitor: { enabled: false }
http: { listen: "127.0.0.1:${http}" }
pipeline: { batch_size: 500, flush_interval: ${FLUSH_MS}ms, queue_size: 50000 }
sinks:
  influx: { url: "${influx.url}", database: acct, timeout: 5s, hang_threshold: ${HANG_MS}ms, retry: { initial: 200ms, max: 1s }${tmpfs ? `, spool: { dir: ${join(tmpfs, 'spool')} }` : ''} }
collectors:
  flow: { listen: [{ address: 127.0.0.1, port: ${udp} }], raw: true, interval: 5s }
`,
    );
    const rand = rng(SEED);
    const flows = new NumberedFlows(udp, 20);
    const marks: { t: number; id: number }[] = [];
    const kills: { t: number; from: number; to: number }[] = [];
    const faults = { collector_sigterm: 0, collector_sigkill: 0, influxd_hang: 0, influxd_sigkill: 0, spool_disk_full: 0 };
    let influxDown = false;
    const runIds: [number, string][] = [];
    const events: string[] = [];
    const ev = (what: string) => events.push(`${Date.now() % 1_000_000} id=${flows.sent} ${what}`);
    const logs: string[] = [];
    /** The last flow number sent before time t. */
    const idBefore = (t: number): number => {
      let id = 0;
      for (const m of marks) if (m.t < t) id = m.id;
      return id;
    };
    try {
      for (let run = 0; run < RUNS; run++) {
        const r = await startRun(cfg, tmp.dir);
        runIds.push([flows.sent + 1, String(run)]);
        // every random choice of the run drawn now, in one order: the schedule is the seed's alone
        const pick = { dur: rand(), kind: rand(), kind2: rand(), at: rand(), len: rand(), sig: rand(), down: rand() };
        const kind = run === 4 ? 'long' : pick.kind < 0.45 ? 'hang' : pick.kind2 < 0.7 ? 'kill' : 'none';
        // the long InfluxDB outage (11 s) has traffic all through it, to fill the spool's tmpfs
        const dur = kind === 'long' ? 12_000 : 3000 + pick.dur * 5000;
        const until = Date.now() + dur;
        const sending = (async () => {
          while (Date.now() < until) {
            // nothing within 300 ms of an aggregation boundary: a flush timer late by a busy loop
            // must not make the interval a flow belongs to ambiguous
            const phase = Date.now() % AGG_MS;
            if (phase > AGG_MS - 300 || phase < 300) {
              await sleep((AGG_MS - phase + 300) % AGG_MS);
              continue;
            }
            await flows.send(20, 50);
            marks.push({ t: Date.now(), id: flows.sent });
          }
        })();
        // one influxd fault in most runs; run 4 is a long outage that fills the tmpfs spool
        const fault = (async () => {
          if (kind === 'none') return;
          await sleep(kind === 'long' ? 500 : pick.at * dur * 0.8);
          const len = kind === 'long' ? 11_000 : 1000 + pick.len * 3500;
          if (kind === 'hang') {
            faults.influxd_hang++;
            ev('hang');
            influx.hang();
            await sleep(len);
            influx.resume();
            ev('resume');
          } else {
            faults.influxd_sigkill++;
            influxDown = true;
            ev('influxd kill');
            await influx.stop('SIGKILL');
            await sleep(len);
            await influx.start();
            ev('influxd up');
            influxDown = false;
          }
        })();
        await sending;
        if (kind === 'long') await fault; // the outage spans the whole run
        await sleep(150);
        const sig = pick.sig < 0.5 ? 'SIGKILL' : 'SIGTERM';
        if (sig === 'SIGKILL') {
          const t = Date.now();
          const from = idBefore(t - W) + 1;
          kills.push({ t, from, to: flows.sent });
        }
        if (sig === 'SIGKILL') faults.collector_sigkill++;
        else faults.collector_sigterm++;
        ev(sig);
        r.signal(sig);
        const exit = await r.exited;
        logs.push(r.err());
        if (sig === 'SIGTERM') expect(exit, r.err().slice(-3000)).toEqual({ code: 0, signal: null });
        await fault;
        await sleep(pick.down * 1000);
      }
      if (influxDown) await influx.start();
      influx.resume();
      // a last run with no traffic delivers the spool; its SIGTERM writes the final counters
      const last = await startRun(cfg, tmp.dir);
      await waitFor('spool delivered', async () => {
        const s = (await fetch(`http://127.0.0.1:${http}/status.json`).then((x) => x.json(), () => undefined)) as { sinks?: { name: string; stats: { spoolBatches: number } }[] } | undefined;
        return s?.sinks?.find((x) => x.name === 'influx')?.stats.spoolBatches === 0 || undefined;
      }, 60_000, 250);
      last.signal('SIGTERM');
      expect((await last.exited).code).toBe(0);
    } finally {
      influx.resume();
      flows.close();
    }

    const sent = flows.sent;
    const stored = await storedFlowIds(influx, 'acct');
    const cmp = compareIds(stored, sent);
    expect(cmp.duplicates).toEqual([]);
    expect(cmp.foreign).toEqual([]);
    // the collector's own counts, as it wrote them to InfluxDB (the ledger spans all runs)
    const lostRows = await influx.query('acct', `SELECT last("points") FROM "netvigil_lost" WHERE "measurement" = 'flow' GROUP BY "reason"`);
    const lost = Object.fromEntries(lostRows.map((s) => [s.tags?.reason ?? '', Number(s.values[0]?.[1])]));
    const rejectedRows = await influx.query('acct', `SELECT last("points") FROM "netvigil_sink_rejected" WHERE "measurement" = 'flow'`);
    expect(rejectedRows).toEqual([]);
    const counted = Object.values(lost).reduce((a, b) => a + b, 0);
    const ledger = join(data, 'lost.json'); // written at the first loss
    const onDisk = (existsSync(ledger) ? JSON.parse(readFileSync(ledger, 'utf8')) : []) as { measurement: string; points: number }[];

    const inWindow = (id: number) => kills.some((k) => id >= k.from && id <= k.to);
    const bound = kills.reduce((a, k) => a + k.to - k.from + 1, 0);
    const unaccounted = sent - stored.length - counted;
    const outside = cmp.missing.filter((id) => !inWindow(id));
    const missingOutside = outside.length;

    // aggregated: flow_agg sums every flow's bytes (= its number) once
    const agg = await influx.query('acct', 'SELECT sum("bytes") FROM "flow_agg"');
    const aggStored = Number(agg[0]?.values[0]?.[1] ?? 0);
    const sentSum = (sent * (sent + 1)) / 2;
    let aggBound = 0;
    for (const k of kills) {
      const from = idBefore(k.t - W - CHECKPOINT_MS) + 1;
      for (let id = from; id <= k.to; id++) aggBound += id;
    }
    const aggLost = onDisk.filter((l) => l.measurement === 'flow_agg').reduce((a, l) => a + l.points, 0);
    // Per interval: flows count in the interval they arrive in, and none is sent near a boundary.
    // Timeline segments split at boundaries no datagram was sent within 250 ms of (there should be
    // none); a segment touched by no SIGKILL (nor within W after one) must hold exactly its flows.
    const first = marks[0]?.t ?? 0;
    const lastT = marks.at(-1)?.t ?? 0;
    const rows = await influx.query('acct', `SELECT sum("bytes") FROM "flow_agg" WHERE time >= ${first - AGG_MS}ms AND time <= ${lastT + AGG_MS}ms GROUP BY time(${AGG_MS}ms) fill(none)`);
    const storedAt = new Map<number, number>((rows[0]?.values ?? []).map((v) => [Date.parse(String(v[0])) || Number(v[0]), Number(v[1])]));
    const sentAt = new Map<number, number>();
    let prev = 0;
    for (const m of marks) {
      const b = Math.floor(m.t / AGG_MS) * AGG_MS;
      let sum = 0;
      for (let id = prev + 1; id <= m.id; id++) sum += id;
      sentAt.set(b, (sentAt.get(b) ?? 0) + sum);
      prev = m.id;
    }
    const nearBoundary = (b: number) => marks.some((m) => Math.abs(m.t - b) <= 250);
    const dirty = (b: number) => kills.some((k) => k.t >= b && k.t < b + AGG_MS + W);
    const segments: { from: number; sent: number; stored: number; dirty: boolean }[] = [];
    for (let b = Math.floor(first / AGG_MS) * AGG_MS; b <= lastT; b += AGG_MS) {
      const seg = segments.at(-1);
      const cur = seg && nearBoundary(b) ? seg : { from: b, sent: 0, stored: 0, dirty: false };
      if (cur !== seg) segments.push(cur);
      cur.sent += sentAt.get(b) ?? 0;
      cur.stored += storedAt.get(b) ?? 0;
      cur.dirty ||= dirty(b);
    }
    const cleanWrong = segments.filter((g) => !g.dirty && g.sent !== g.stored);
    const dirtyOver = segments.filter((g) => g.dirty && g.stored > g.sent);
    if (tmpfs) faults.spool_disk_full = (lost.spool_write_failed ?? 0) > 0 ? 1 : 0;
    const figures = { seed: SEED, faults, sent, stored: stored.length, counted_lost: lost, unaccounted, sigkill_bound: bound, missing_outside_kill_windows: missingOutside, agg: { sent_bytes: sentSum, stored_bytes: aggStored, missing: sentSum - aggStored, bound: aggBound, flow_agg_points_lost: aggLost, segments: segments.length, sigkill_segments: segments.filter((g) => g.dirty).length, clean_segments_wrong: cleanWrong }, disk_full: tmpfs ? 'tmpfs 256 KiB' : `left out: ${cannotMount}` };
    // the figures and, to diagnose a failure, the missing flows, faults and each run's log
    writeFileSync(join(tmpdir(), 'netvigil-accounting.json'), JSON.stringify({ figures, missing_outside: ranges(outside), kills, runs: runIds, events, logs }, null, 1));
    console.log(JSON.stringify(figures));

    expect(onDisk.filter((l) => l.measurement === 'flow').reduce((a, l) => a + l.points, 0)).toBe(counted);
    expect(unaccounted).toBeGreaterThanOrEqual(0); // counted lost never overlaps stored
    expect(unaccounted).toBeLessThanOrEqual(bound);
    expect(missingOutside).toBeLessThanOrEqual(counted);
    if (tmpfs) expect(lost.spool_write_failed ?? 0).toBeGreaterThan(0); // the disk-full fault happened
    expect(faults.collector_sigkill).toBeGreaterThan(0);
    expect(faults.collector_sigterm).toBeGreaterThan(0);
    expect(aggStored).toBeLessThanOrEqual(sentSum);
    // a lost flow_agg point (full spool disk) takes an unknown share of bytes: then only the upper bound holds
    if (aggLost === 0) expect(sentSum - aggStored).toBeLessThanOrEqual(aggBound);
    expect(dirtyOver).toEqual([]);
    // each lost flow_agg point (full spool disk, counted) can spoil one segment
    expect(cleanWrong.length).toBeLessThanOrEqual(aggLost);
  }, 240_000);
});
