import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hexToBytes } from '../../test/helpers/hex.js';
import { copyView } from '../../test/helpers/recordview.js';
import { TemplateStore } from '../netflow/templates.js';
import { FlowProcessor } from './processor.js';
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
  const files = readdirSync(dir).filter((f) => /^input-\d+\.(hex|bin)$/.test(f)).sort();
  const out: FlowView[] = [];
  const p = new FlowProcessor({ collector: 'flow', store: new TemplateStore(), raw: false, maxExporters: 10 }, {
    emit: () => undefined,
    aggregate: (v) => void out.push(copyView(v)),
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
  return out;
}

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
      const expected = readFileSync(join(dir, 'expected.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Json).filter((o) => o['type'] === 'flow');
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
});
