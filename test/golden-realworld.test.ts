/**
 * Real-world corpus (test/corpus/<case>/): datagrams published as text by other open decoders
 * and RFCs, or rebuilt from vendors' documented template layouts (each case's SOURCE.md says
 * which, and under what licence). Every case is checked twice:
 *   1. `netvigil decode --format jsonl` of its inputs equals expected.jsonl;
 *   2. expected.jsonl agrees with tshark's decode of the same datagrams, field by field, for every
 *      field tshark exposes - so the expectation is not just our own output frozen.
 * KNOWN_WRONG lists the cases where our decoder is known to disagree with the correct decode; they
 * run with it.fails, so a fix turns them red until the entry is removed.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CFLOW, SFLOW, compareUnit } from './helpers/corpus-fields.js';
import { loadCase, tsharkUnits, type CorpusCase, type Expected } from './helpers/corpus.js';
import { decodeCaptured } from './helpers/decode.js';

const ROOT = join(import.meta.dirname, 'corpus');
const scratch = mkdtempSync(join(tmpdir(), 'netvigil-corpus-'));
/** How much of the corpus our decoder gets right (CORPUS_VERBOSE=1 prints it). */
const tally = { records: 0, recordsRight: 0, fields: 0, fieldsRight: 0 };
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  if (process.env.CORPUS_VERBOSE) {
    const pc = (a: number, b: number): string => `${a}/${b} (${((100 * a) / Math.max(b, 1)).toFixed(1)} %)`;
    console.log(`our decoder: records right ${pc(tally.recordsRight, tally.records)}, fields right ${pc(tally.fieldsRight, tally.fields)}`);
  }
});

function count(expected: Expected[], got: Expected[]): void {
  expected.forEach((e, i) => {
    const g = got[i] ?? {};
    tally.records++;
    if (isDeepStrictEqual(e, g)) tally.recordsRight++;
    for (const [k, v] of Object.entries(e)) {
      tally.fields++;
      if (isDeepStrictEqual(g[k], v)) tally.fieldsRight++;
    }
  });
}

/** Case -> why our decoder is wrong on it today (the lead drops an entry when its fix lands). */
export const KNOWN_WRONG: Record<string, string> = {
};

const names = readdirSync(ROOT, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

/** Our decode of the case's datagrams; stderr names each input by its own file name. */
async function ours(c: CorpusCase): Promise<{ records: Expected[]; err: string }> {
  const names = new Map<string, string>();
  const files = c.datagrams.map((d, i) => {
    const n = `input-${String(i + 1).padStart(2, '0')}.hex`;
    const p = join(scratch, `${c.name}-${n}.bin`);
    writeFileSync(p, d);
    names.set(p, n);
    return p;
  });
  const r = await decodeCaptured(['--format', 'jsonl', ...files]);
  const err = [...names].reduce((acc, [p, n]) => acc.split(p).join(n), r.err);
  return { records: r.out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Expected), err };
}

/** Pairs expected records with tshark units: sFlow by sample sequence + source, NetFlow/IPFIX in order. */
function checkAgainstTshark(c: CorpusCase): { problems: string[]; compared: number } {
  const units = tsharkUnits(c, join(scratch, `${c.name}.pcap`), c.proto === 'sflow' ? 6343 : 2055);
  const problems: string[] = [];
  let compared = 0;
  const rules = c.proto === 'sflow' ? SFLOW : CFLOW;
  if (c.proto === 'cflow' && units.length !== c.expected.length) problems.push(`record count: expected.jsonl ${c.expected.length}, tshark ${units.length}`);
  c.expected.forEach((e, i) => {
    const t =
      c.proto === 'sflow'
        ? units.find((u) => [...(u.get('sflow.flow_sample.sequence_number') ?? []), ...(u.get('sflow.counters_sample.sequence_number') ?? []), ...(u.get('sflow.expanded_flow_sample.sequence_number') ?? [])][0] === String(e['sample_sequence']) && (u.get('sflow_245.sequence_number')?.[0] ?? '') === String(e['sequence']))
        : units[i];
    if (!t) {
      problems.push(`record ${i + 1}: not in tshark's decode`);
      return;
    }
    const r = compareUnit(rules, e, t, `record ${i + 1}`);
    problems.push(...r.problems);
    compared += r.compared;
  });
  return { problems, compared };
}

describe('real-world corpus', () => {
  it('has cases, each with its origin and licence', () => {
    expect(names.length).toBeGreaterThanOrEqual(15);
    for (const n of names) {
      expect(existsSync(join(ROOT, n, 'SOURCE.md')), `${n}/SOURCE.md`).toBe(true);
      expect(existsSync(join(ROOT, n, 'expected.jsonl')), `${n}/expected.jsonl`).toBe(true);
    }
    for (const n of Object.keys(KNOWN_WRONG)) expect(names, `KNOWN_WRONG entry ${n}`).toContain(n);
  });

  it('the tshark check is not vacuous: a changed expected value is reported', () => {
    const v5 = loadCase(ROOT, 'softflowd-v5-icmp-multicast');
    v5.expected[0] = { ...v5.expected[0], bytes: 841 };
    expect(checkAgainstTshark(v5).problems).toEqual(['record 1 bytes: expected 841, tshark 840']);
    const sf = loadCase(ROOT, 'sflow-switch-live-header-counters');
    sf.expected[0] = { ...sf.expected[0], src_port: 1 };
    expect(checkAgainstTshark(sf).problems).toEqual(['record 1 src_port: expected 1, tshark 30461']);
  });

  for (const name of names) {
    const c = loadCase(ROOT, name);
    const reason = KNOWN_WRONG[name];
    const title = reason ? `${name}: our decode (known wrong: ${reason})` : `${name}: our decode equals expected.jsonl`;
    (reason ? it.fails : it)(title, async () => {
      const r = await ours(c);
      count(c.expected, r.records);
      const errFile = join(c.dir, 'expected.stderr');
      expect(r.err).toBe(existsSync(errFile) ? readFileSync(errFile, 'utf8') : '');
      expect(r.records).toEqual(c.expected);
    });

    it(`${name}: expected.jsonl agrees with tshark`, () => {
      const r = checkAgainstTshark(c);
      if (process.env.CORPUS_VERBOSE) console.log(`${name}: ${r.compared} fields compared over ${c.expected.length} records`);
      expect(r.problems).toEqual([]);
      // not vacuous: at least three fields per expected record were checked against tshark
      expect(r.compared).toBeGreaterThanOrEqual(3 * c.expected.length);
    });
  }
});
