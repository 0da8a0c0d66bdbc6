/**
 * The golden cases through the live collector (habit 14), the real-world corpus's too: each case's
 * datagrams go over loopback UDP, in order from one socket, into a running flow collector (default
 * path, raw: false), and the aggregates it emits at stop must be what the case's expected flow
 * records (the offline decoder's output, expected.jsonl) sum to: per (src_addr, dst_addr, proto)
 * series and per talker, bytes and packets scaled by each record's sampling rate, and flows counted. So the socket path, the keys
 * built from decoded values and the offline Record path cannot drift apart on any case.
 */
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FlowCollector } from '../collectors/flow/collector.js';
import { flowCollector } from '../collectors/flow/index.js';
import { makeTestCtx } from './helpers/flow-ctx.js';
import { hexToBytes } from './helpers/hex.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';

const ROOT = join(import.meta.dirname, '..', 'collectors');
const cases: { name: string; dir: string }[] = [];
// the decoders' own cases and the real-world corpus (test/corpus: other decoders' and vendors' datagrams)
for (const [label, tc] of [['netflow', join(ROOT, 'netflow', 'testcases')], ['sflow', join(ROOT, 'sflow', 'testcases')], ['corpus', join(import.meta.dirname, 'corpus')]] as const) {
  for (const name of readdirSync(tc)) if (existsSync(join(tc, name, 'expected.jsonl'))) cases.push({ name: `${label}/${name}`, dir: join(tc, name) });
}

function datagrams(dir: string): Uint8Array[] {
  return readdirSync(dir)
    .filter((f) => /^input-.*\.(bin|hex)$/.test(f))
    .sort()
    .map((f) => (f.endsWith('.hex') ? hexToBytes(readFileSync(join(dir, f), 'utf8')) : new Uint8Array(readFileSync(join(dir, f)))));
}

type Sums = Map<string, [number, number, number]>;
const addTo = (m: Sums, k: string, b: number, p: number): void => {
  const s = m.get(k) ?? [0, 0, 0];
  m.set(k, [s[0] + b, s[1] + p, s[2] + 1]);
};
const text = (v: unknown): string => (v === undefined ? '' : String(v));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('golden cases through the live collector', () => {
  it('finds flow cases', () => {
    expect(cases.length).toBeGreaterThan(30);
    expect(cases.filter((c) => c.name.startsWith('corpus/')).length).toBeGreaterThan(10);
  });
  for (const c of cases) {
    it(c.name, async () => {
      const want = { series: new Map() as Sums, src: new Map() as Sums };
      for (const line of readFileSync(join(c.dir, 'expected.jsonl'), 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const r = JSON.parse(line) as Record<string, unknown>;
        if (r['type'] !== 'flow') continue;
        const rate = Number(r['sampling_rate'] ?? 1) || 1;
        const b = Number(r['bytes'] ?? 0) * rate;
        const p = Number(r['packets'] ?? 0) * rate;
        addTo(want.series, [r['src_addr'], r['dst_addr'], r['proto']].map(text).join('|'), b, p);
        if (r['src_addr'] !== undefined) addTo(want.src, text(r['src_addr']), b, p);
      }
      const { dir } = await makeTmpDir('netvigil-golden-live-');
      const port = await freeUdpPort();
      const t = makeTestCtx(dir);
      const cfg = flowCollector.configSchema.parse({ listen: [{ address: '127.0.0.1', port }], interval: '1h', stats_interval: '1h', dimensions: ['src_addr', 'dst_addr', 'proto'], top_by: ['src_addr'], top_n: 1000 });
      const col = flowCollector.create(cfg, t.ctx) as FlowCollector;
      await col.start();
      cleanups.push(() => col.stop());
      const s = createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      cleanups.push(() => new Promise((r) => s.close(() => r())));
      const input = datagrams(c.dir);
      // one at a time, each handled before the next is sent: the case's order is the exporter's
      for (let i = 0; i < input.length; i++) {
        await new Promise<void>((res, rej) => s.send(input[i] as Uint8Array, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
        await waitFor(`datagram ${i + 1}`, () => col.processor.exporterStats('127.0.0.1')?.datagrams === i + 1);
      }
      await col.stop();
      const got = { series: new Map() as Sums, src: new Map() as Sums };
      for (const r of t.records) {
        const f = r.fields as Record<string, bigint>;
        const sums: [number, number, number] = [Number(f['bytes']), Number(f['packets']), Number(f['flows'])];
        if (r.measurement === 'flow_agg') got.series.set(['src_addr', 'dst_addr', 'proto'].map((d) => r.tags[d] ?? '').join('|'), sums);
        if (r.measurement === 'flow_top' && r.tags['talker'] !== 'other') got.src.set(r.tags['talker'] as string, sums);
      }
      const round = (m: Sums): Sums => new Map([...m].map(([k, v]) => [k, v.map(Math.round) as [number, number, number]]));
      expect(got.series).toEqual(round(want.series));
      expect(got.src).toEqual(round(want.src));
    });
  }
});
