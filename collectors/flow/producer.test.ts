import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hexToBytes } from '../../test/helpers/hex.js';
import { copyView } from '../../test/helpers/recordview.js';
import { TemplateStore } from '../netflow/templates.js';
import type { FlowRecord, NetRecord } from '../../src/record/record.js';
import { FlowProcessor } from './processor.js';
import { samplingSchema, SamplingRates } from './sampling.js';
import { DIMENSIONS, dimKey, keyText, type FlowView } from './view.js';

/**
 * The producer path (the collector's default: decoder -> FlowView -> aggregator, no Record built)
 * held equal to the Records `netvigil decode` printed before the view existed: every golden case's
 * expected.jsonl (collectors/netflow/testcases, collectors/sflow/testcases, test/corpus), flow by
 * flow, in every dimension, volume, sampling rate and time the view carries.
 */
const ROOTS = [join(import.meta.dirname, '../netflow/testcases'), join(import.meta.dirname, '../sflow/testcases'), join(import.meta.dirname, '../../test/corpus')];

type Json = Record<string, unknown>;

function caseDirs(): string[] {
  return ROOTS.flatMap((root) => readdirSync(root).map((c) => join(root, c))).filter((d) => existsSync(join(d, 'expected.jsonl')));
}

function views(dir: string): FlowView[] {
  const out: FlowView[] = [];
  run(dir, false, (v) => void out.push(copyView(v)), () => undefined);
  return out;
}

/** Every input datagram of a case through one processor, in name order. */
function run(dir: string, raw: boolean, aggregate: (v: FlowView) => void, emit: (r: NetRecord) => void): void {
  const files = readdirSync(dir).filter((f) => /^input-\d+\.(hex|bin)$/.test(f)).sort();
  const p = new FlowProcessor({ collector: 'flow', store: new TemplateStore(), raw, maxExporters: 10 }, {
    emit,
    aggregate,
    interfaces: () => undefined,
    clockOffset: () => undefined,
    internalError: (e) => {
      throw e;
    },
  });
  files.forEach((f, i) => {
    const b = readFileSync(join(dir, f));
    p.handle(f.endsWith('.hex') ? hexToBytes(b.toString('utf8')) : new Uint8Array(b), '192.0.2.9', 2055, 1_700_000_000_000 + i);
  });
}

const expectedFlows = (dir: string): Json[] =>
  readFileSync(join(dir, 'expected.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Json).filter((o) => o['type'] === 'flow');

/** A Record field as `netvigil decode --format jsonl` prints it. */
const jsonValue = (v: unknown): unknown => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v);
/** What an expected.jsonl line holds beside the Record's fields (decode's head, sFlow's datagram header). */
const HEAD = new Set(['version', 'type', 'exporter', 'domain', 'agent', 'sub_agent_id', 'sequence', 'sample_sequence']);
/** What a raw Record holds beside decode's fields: the clock its times are on (timestamps.ts); sFlow's agent again and receive time. */
const RAW_ONLY = new Set(['time_source']);
const SFLOW_ONLY = new Set(['agent_addr', 'start_ms', 'end_ms']);

/** The text a Record field printed as ('' absent), as a key's tag text must read. */
const text = (x: unknown): string => (x === undefined ? '' : String(x));
const num = (x: unknown, absent: number): number => (x === undefined ? absent : Number(x));

describe('producer view', () => {
  const dirs = caseDirs();
  it('finds the golden cases of all three folders', () => {
    expect(dirs.length).toBeGreaterThan(30);
  });
  for (const dir of dirs) {
    it(`equals the expected Records of ${dir.split('/').slice(-3).join('/')}`, () => {
      const expected = expectedFlows(dir);
      const got = views(dir);
      expect(got.length).toBe(expected.length);
      got.forEach((v, i) => {
        const e = expected[i] as Json;
        const sflow = e['version'] === 'sflow5';
        expect(v.version).toBe(String(e['version']));
        expect(v.domain).toBe(Number(sflow ? e['sub_agent_id'] : e['domain']));
        const dims: Record<string, string> = {};
        const want: Record<string, string> = {};
        DIMENSIONS.forEach((d, j) => {
          if (j < 2) return; // exporter and version are tags, not jsonl fields
          dims[d] = keyText(j, dimKey(v, j));
          want[d] = text(e[d]);
        });
        expect(dims).toEqual(want);
        expect(v.family).toBe(e['src_addr'] === undefined ? 0 : String(e['src_addr']).includes(':') ? 6 : 4);
        expect([v.bytes, v.packets, v.rate]).toEqual([num(e['bytes'], 0), num(e['packets'], 0), num(e['sampling_rate'], 1)]);
        // sFlow carries no flow times (the Record's are the receive time, left out of the jsonl)
        if (!sflow) expect([v.startMs, v.endMs]).toEqual([num(e['start_ms'], NaN), num(e['end_ms'], NaN)]);
      });
    });
  }

  /**
   * Raw export reads the same view: each raw flow Record (v5, v9/IPFIX and sFlow alike) holds the
   * case's expected fields. A configured override (sampling.ts, applied in the collector's aggregate
   * hook as here) scales aggregation only; the Record keeps the rate the exporter sent.
   */
  for (const dir of dirs) {
    it(`writes the expected raw Records of ${dir.split('/').slice(-3).join('/')}`, () => {
      const expected = expectedFlows(dir);
      const rates = new SamplingRates(samplingSchema.parse({ map: [{ exporter: '192.0.2.9', rate: 999_983, override: true }] }));
      const aggregated: number[] = [];
      const records: FlowRecord[] = [];
      run(dir, true, (v) => {
        rates.apply(v);
        aggregated.push(v.rate);
      }, (r) => {
        if (r.kind === 'flow' && r.measurement === 'flow') records.push(r);
      });
      expect(aggregated).toEqual(expected.map(() => 999_983));
      expect(records.length).toBe(expected.length);
      records.forEach((r, i) => {
        const e = expected[i] as Json;
        const sflow = e['version'] === 'sflow5';
        expect(r.tags['version']).toBe(String(e['version']));
        expect(r.tags['domain']).toBe(String(sflow ? e['sub_agent_id'] : e['domain']));
        const got: Json = {};
        for (const k in r.fields) if (!RAW_ONLY.has(k) && !(sflow && SFLOW_ONLY.has(k))) got[k] = jsonValue(r.fields[k]);
        const want: Json = {};
        for (const k in e) if (!HEAD.has(k) && !(k in r.tags)) want[k] = e[k];
        expect(got).toEqual(want);
        // a sample is one packet seen when its datagram was received
        if (sflow) expect([r.fields['start_ms'], r.fields['end_ms'], r.fields['agent_addr']]).toEqual([BigInt(r.time), BigInt(r.time), e['agent']]);
      });
    });
  }
});
