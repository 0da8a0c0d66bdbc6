/**
 * `workers: N` (collectors/flow/workers.ts) against the in-thread path on real exporter output:
 * the cached captures of softflowd 1.1 (NetFlow v9) and pmacctd's sfprobe (sFlow v5) metering the
 * flow-real bench's 2,000-conversation mix (bench/flow-e2e/exporters.ts builds them when missing),
 * replayed over loopback from four source addresses (two exporters per worker) into a collector
 * with `workers: 0` and one with `workers: 2`. Their aggregates must be the same. A worker that is
 * ended mid-run (Worker.terminate: the fault a crash would cause, there being no bug to cause one)
 * is restarted, and what it held is counted in `worker_lost`, exactly, never dropped silently.
 */
import type { Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readUdpPcap } from '../bench/flow-e2e/capture.js';
import { buildCaptures } from '../bench/flow-e2e/exporters.js';
import type { FlowCollector } from '../collectors/flow/collector.js';
import { flowCollector } from '../collectors/flow/index.js';
import { FlowProcessor } from '../collectors/flow/processor.js';
import { shardOf } from '../collectors/flow/shard.js';
import { FlowWorkers, MAX_QUEUED_BYTES } from '../collectors/flow/workers.js';
import { flowConfigSchema } from '../collectors/flow/config.js';
import { aggregatorFor } from '../collectors/flow/worker-entry.js';
import { pino } from 'pino';
import { TemplateStore } from '../collectors/netflow/templates.js';
import type { NetRecord } from '../src/record/record.js';
import { makeTestCtx } from './helpers/flow-ctx.js';
import { replay, sender } from './helpers/udp-replay.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';

let v9: Buffer[] = [];
let sflow: Buffer[] = [];
const cleanups: (() => Promise<void>)[] = [];
beforeAll(async () => {
  const caps = await buildCaptures({ kind: 'mix', conversations: 2000, seed: 1 }, ['softflowd-v9', 'sfprobe-sflow']);
  [v9, sflow] = caps.map((c) => readUdpPcap(readFileSync(c.file))) as [Buffer[], Buffer[]];
}, 300_000);
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));



async function collector(workers: number, extra: Record<string, unknown> = {}, dataDir?: string): Promise<{ col: FlowCollector; port: number; records: NetRecord[]; dir: string }> {
  const { dir, cleanup } = dataDir ? { dir: dataDir, cleanup: async () => undefined } : await makeTmpDir('netvigil-flow-workers-');
  const port = await freeUdpPort();
  const t = makeTestCtx(dir);
  const cfg = flowCollector.configSchema.parse({
    listen: [{ address: '127.0.0.1', port }],
    interval: '1h',
    stats_interval: '1h',
    dimensions: ['exporter', 'src_addr', 'dst_addr', 'proto'],
    max_series: 200_000,
    top_by: ['src_addr', 'dst_addr'],
    top_n: 500,
    workers,
    ...extra,
  });
  const col = flowCollector.create(cfg, t.ctx) as FlowCollector;
  await col.start();
  cleanups.push(async () => {
    await col.stop();
    await cleanup();
  });
  return { col, port, records: t.records, dir };
}

const ADDRS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
const fields = (r: NetRecord): Record<string, bigint> => r.fields as Record<string, bigint>;

function aggregates(records: NetRecord[]): { agg: string[]; top: Record<string, string[]>; totals: Record<string, bigint[]> } {
  const agg = records.filter((r) => r.measurement === 'flow_agg').map((r) => `${JSON.stringify(r.tags)} ${fields(r)['bytes']} ${fields(r)['packets']} ${fields(r)['flows']}`);
  const top: Record<string, string[]> = {};
  const totals: Record<string, bigint[]> = {};
  for (const r of records.filter((x) => x.measurement === 'flow_top')) {
    const by = r.tags['by'] as string;
    const f = fields(r);
    const t = (totals[by] ??= [0n, 0n, 0n]);
    t[0] = (t[0] as bigint) + (f['bytes'] as bigint);
    t[1] = (t[1] as bigint) + (f['packets'] as bigint);
    t[2] = (t[2] as bigint) + (f['flows'] as bigint);
    // talkers with equal bytes may rank in another order: the ranked volumes must be the same
    if (r.tags['talker'] !== 'other') (top[by] ??= []).push(`${f['rank']} ${f['bytes']}`);
  }
  return { agg: agg.sort(), top, totals };
}

describe('flow workers on real exporter captures', () => {
  it('two workers own two exporters each', () => {
    expect(ADDRS.map((a) => shardOf(a, 2)).sort()).toEqual([0, 0, 1, 1]);
  });

  it('aggregates with workers: 2 equal workers: 0 on the same datagrams (softflowd v9, sfprobe sFlow)', async () => {
    const socks = await Promise.all(ADDRS.map((a) => sender(a, cleanups)));
    const streams: [Socket, Buffer[]][] = [
      [socks[0] as Socket, v9],
      [socks[1] as Socket, v9],
      [socks[2] as Socket, sflow],
      [socks[3] as Socket, sflow],
    ];
    const sent = 2 * (v9.length + sflow.length);
    const out: ReturnType<typeof aggregates>[] = [];
    for (const workers of [0, 2]) {
      const { col, port, records } = await collector(workers);
      await replay(port, streams);
      if (workers === 0) await waitFor('all handled', () => ADDRS.reduce((n, a) => n + (col.processor.exporterStats(a)?.datagrams ?? 0), 0) === sent, 30_000);
      await col.stop();
      const st = col.status() as { exporters: { exporter: string; datagrams: number; records: number }[] };
      // every datagram reached a processor: the comparison is over the same input
      expect(st.exporters.reduce((n, e) => n + e.datagrams, 0)).toBe(sent);
      const lost = records.find((r) => r.measurement === 'flow_stats' && r.tags['exporter'] === undefined);
      if (workers) expect(fields(lost as NetRecord)).toMatchObject({ worker_lost: 0n, worker_restarts: 0n, worker_dropped: 0n });
      out.push(aggregates(records));
    }
    const [inThread, pooled] = out as [ReturnType<typeof aggregates>, ReturnType<typeof aggregates>];
    expect(inThread.agg.length).toBeGreaterThan(1000);
    expect(inThread.top['src_addr']?.length).toBe(500);
    expect(pooled.agg).toEqual(inThread.agg);
    expect(pooled.top).toEqual(inThread.top);
    expect(pooled.totals).toEqual(inThread.totals);
  }, 180_000);

  it('a worker that ends is restarted; the datagrams it held are counted in worker_lost, the rest aggregated', async () => {
    // sFlow needs no template, so after the restart every datagram is aggregated again
    const flowsOf = (d: Buffer): number => {
      let n = 0;
      const p = new FlowProcessor({ collector: 'count', store: new TemplateStore(), raw: false, maxExporters: 10 }, { emit: () => undefined, aggregate: () => void n++, interfaces: () => undefined, clockOffset: () => undefined, internalError: () => undefined });
      p.handle(d, '127.0.0.9', 1, Date.now());
      return n;
    };
    const a = sflow.slice(0, 400);
    const c = sflow.slice(400, 800);
    const b = sflow.slice(800, 1200);
    const { col, port, records } = await collector(2);
    // the pool is private to the collector: reached here to drain it and to end one of its threads
    const inner = col as unknown as { pool: FlowWorkers; aggregator: Parameters<FlowWorkers['drain']>[0] };
    const sock = await sender('127.0.0.2', cleanups);
    const owner = shardOf('127.0.0.2', 2);
    await replay(port, [[sock, a]]);
    await sleep(200);
    await inner.pool.drain(inner.aggregator);
    await replay(port, [[sock, c]]);
    await sleep(200);
    await inner.pool.kill(owner);
    await waitFor('restarted', () => inner.pool.restarts === 1 && inner.pool.running() === 2);
    await sleep(100);
    await replay(port, [[sock, b]]);
    await sleep(200);
    await col.stop();
    const stats = fields(records.find((r) => r.measurement === 'flow_stats' && r.tags['exporter'] === undefined) as NetRecord);
    expect(stats['worker_restarts']).toBe(1n);
    const lost = Number(stats['worker_lost']);
    expect(lost).toBeGreaterThan(0);
    expect(lost).toBeLessThanOrEqual(c.length);
    // what a drain carried before the end is aggregated; exactly the rest of c is counted lost
    const kept = [...a, ...c.slice(0, c.length - lost), ...b].reduce((n, d) => n + flowsOf(d), 0);
    const flows = records.filter((r) => r.measurement === 'flow_agg').reduce((n, r) => n + Number(fields(r)['flows']), 0);
    expect(flows).toBe(kept);
  }, 120_000);

  it('templates, loss streams and the open interval persist across runs with workers, split by owner and joined again', async () => {
    const socks = await Promise.all(ADDRS.slice(0, 2).map((a) => sender(a, cleanups)));
    const first = await collector(2);
    await replay(first.port, [
      [socks[0] as Socket, v9],
      [socks[1] as Socket, sflow],
    ]);
    await sleep(300);
    await first.col.stop();
    const sum = (records: NetRecord[], exporter: string): number => records.filter((r) => r.measurement === 'flow_agg' && r.tags['exporter'] === exporter).reduce((n, r) => n + Number(fields(r)['flows']), 0);
    const v9Flows = sum(first.records, '127.0.0.2');
    const sflowFlows = sum(first.records, '127.0.0.3');
    expect(v9Flows).toBeGreaterThan(0);
    expect(sflowFlows).toBeGreaterThan(0);
    // one file each, holding both workers' parts
    const templates = JSON.parse(readFileSync(join(first.dir, 'templates.json'), 'utf8')) as { templates: { exporter: string }[] };
    expect(new Set(templates.templates.map((t) => t.exporter.replace(/:\d+$/, '')))).toEqual(new Set(['127.0.0.2']));
    const loss = JSON.parse(readFileSync(join(first.dir, 'loss.json'), 'utf8')) as { streams: { exporter: string; received: number }[] };
    expect(new Set(loss.streams.map((x) => x.exporter))).toEqual(new Set(['127.0.0.2', '127.0.0.3']));
    // the next run (same interval, same shape) continues the interval and each worker loads its part
    const second = await collector(2, {}, first.dir);
    await replay(second.port, [[socks[1] as Socket, sflow]]);
    await sleep(300);
    await second.col.stop();
    expect(sum(second.records, '127.0.0.2')).toBe(v9Flows);
    expect(sum(second.records, '127.0.0.3')).toBe(2 * sflowFlows);
    const st = second.col.status() as { templates: { templates: number } };
    expect(st.templates.templates).toBe(templates.templates.length);
    const loss2 = JSON.parse(readFileSync(join(first.dir, 'loss.json'), 'utf8')) as typeof loss;
    const received = (l: typeof loss2, e: string): number => l.streams.filter((x) => x.exporter === e).reduce((n, x) => n + x.received, 0);
    // the v9 exporter's streams were restored in its worker and saved again; the sFlow counts continued
    expect(received(loss2, '127.0.0.2')).toBe(received(loss, '127.0.0.2'));
    expect(received(loss2, '127.0.0.3')).toBe(2 * received(loss, '127.0.0.3'));
  }, 120_000);

  it('a worker that falls behind gets at most MAX_QUEUED_BYTES; the rest is counted in worker_dropped', async () => {
    const { dir, cleanup } = await makeTmpDir('netvigil-flow-workers-queue-');
    cleanups.push(cleanup);
    const cfg = flowConfigSchema.parse({ workers: 1 });
    const pool = new FlowWorkers(cfg, 'flow', dir, { emit: () => undefined, error: () => undefined, interfaces: () => undefined, clockOffset: () => undefined, log: pino({ level: 'silent' }) });
    pool.start();
    cleanups.push(() => pool.stop(aggregatorFor(cfg, []), Date.now()));
    // the whole sFlow capture over and over in one turn of the loop: no answer can free the queue meanwhile
    const input: Buffer[] = [];
    let bytes = 0;
    while (bytes < MAX_QUEUED_BYTES * 1.5) {
      for (const d of sflow) {
        input.push(d);
        bytes += d.length;
      }
    }
    for (const d of input) pool.handle(d, '127.0.0.2', 6343, Date.now());
    const dropped = pool.dropped;
    // at least a third did not fit, and no more than the bound's worth was taken
    expect(dropped).toBeGreaterThan(input.length / 3);
    const agg = aggregatorFor(cfg, []);
    await pool.drain(agg);
    await pool.report(Date.now());
    // every datagram was handled or counted as dropped; the handled ones are all aggregated
    const [e] = pool.exporters() as { stats: { datagrams: number; records: number } }[];
    expect(e?.stats.datagrams).toBe(input.length - dropped);
    expect(agg.flowsIn).toBe(e?.stats.records);
    expect(e?.stats.records).toBeGreaterThan(0);
    // answered batches free the queue again
    pool.handle(sflow[0] as Buffer, '127.0.0.2', 6343, Date.now());
    expect(pool.dropped).toBe(dropped);
  }, 120_000);

  it('a drain in many talker parts adds up to the in-thread aggregator (flush rows equal)', async () => {
    const { dir, cleanup } = await makeTmpDir('netvigil-flow-workers-parts-');
    cleanups.push(cleanup);
    const cfg = flowConfigSchema.parse({ workers: 2, dimensions: ['exporter', 'proto'], top_n: 200 });
    // 50 talkers a message: thousands of parts over the capture's talkers
    const pool = new FlowWorkers(cfg, 'flow', dir, { emit: () => undefined, error: () => undefined, interfaces: () => undefined, clockOffset: () => undefined, log: pino({ level: 'silent' }) }, undefined, 50);
    pool.start();
    const pooled = aggregatorFor(cfg, []);
    cleanups.push(() => pool.stop(aggregatorFor(cfg, []), Date.now()));
    const inThread = aggregatorFor(cfg, []);
    const p = new FlowProcessor({ collector: 'flow', store: new TemplateStore(), raw: false, maxExporters: 10 }, { emit: () => undefined, aggregate: (k) => inThread.add(k), interfaces: () => undefined, clockOffset: () => undefined, internalError: () => undefined });
    for (const [i, d] of sflow.entries()) {
      for (const a of ADDRS.slice(0, 2)) {
        p.handle(d, a, 6343, 0);
        pool.handle(d, a, 6343, 0);
      }
      if (i % 64 === 0) await sleep(0);
      if (i === 1000) await pool.drain(pooled); // a drain mid-interval too
    }
    await pool.drain(pooled);
    const rows = (a: ReturnType<typeof aggregatorFor>): string[] => a.flush(0, 'flow').map((r) => `${r.measurement} ${JSON.stringify(r.tags)} ${JSON.stringify(r.fields, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
    const want = rows(inThread);
    const got = rows(pooled);
    expect(want.filter((r) => r.startsWith('flow_top')).length).toBeGreaterThan(2 * 200);
    // flow_agg equal; flow_top equal in volumes (talkers of equal bytes may rank in another order)
    const vol = (r: string[]): string[] => r.map((x) => x.replace(/"talker":"[^"]*",?/, '')).sort();
    expect(got.filter((r) => r.startsWith('flow_agg')).sort()).toEqual(want.filter((r) => r.startsWith('flow_agg')).sort());
    expect(vol(got.filter((r) => r.startsWith('flow_top')))).toEqual(vol(want.filter((r) => r.startsWith('flow_top'))));
  }, 120_000);

  it('a reload closes the interval with the workers\' sums under the old dimensions, the next under the new', async () => {
    const { col, port, records } = await collector(2);
    const socks = await Promise.all(ADDRS.slice(0, 2).map((a) => sender(a, cleanups)));
    const firstHalf = sflow.slice(0, 1000);
    const secondHalf = sflow.slice(1000, 2000);
    let want1 = 0;
    let want2 = 0;
    const count = new FlowProcessor({ collector: 'count', store: new TemplateStore(), raw: false, maxExporters: 10 }, { emit: () => undefined, aggregate: () => void (phase === 1 ? want1++ : want2++), interfaces: () => undefined, clockOffset: () => undefined, internalError: () => undefined });
    let phase = 1;
    for (const d of firstHalf) for (const a of ADDRS.slice(0, 2)) count.handle(d, a, 6343, 0);
    phase = 2;
    for (const d of secondHalf) for (const a of ADDRS.slice(0, 2)) count.handle(d, a, 6343, 0);
    await replay(port, socks.map((s) => [s, firstHalf] as [Socket, Buffer[]]));
    await sleep(300);
    await col.reload({ listen: [{ address: '127.0.0.1', port }], interval: '1h', stats_interval: '1h', dimensions: ['proto'], workers: 2 });
    const atReload = records.length;
    await replay(port, socks.map((s) => [s, secondHalf] as [Socket, Buffer[]]));
    await sleep(300);
    await col.stop();
    const flows = (rs: NetRecord[]): number => rs.filter((r) => r.measurement === 'flow_agg').reduce((n, r) => n + Number(fields(r)['flows']), 0);
    const before = records.slice(0, atReload);
    const after = records.slice(atReload);
    expect(flows(before)).toBe(want1);
    expect(before.filter((r) => r.measurement === 'flow_agg').every((r) => r.tags['src_addr'] !== undefined)).toBe(true);
    expect(flows(after)).toBe(want2);
    expect(after.filter((r) => r.measurement === 'flow_agg').every((r) => Object.keys(r.tags).sort().join() === 'collector,proto')).toBe(true);
  }, 120_000);
});
