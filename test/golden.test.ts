/**
 * Generic golden runner (habit 2): every folder collectors/<collector>/testcases/<case>/ holds the
 * input datagrams, decoded in name order as one exporter session, and the expected output of
 * `netvigil decode` in the sink's own format:
 *   input-NN.bin   one raw UDP payload       input-NN.hex   the same as hex ('#' starts a comment)
 *   input-NN.pcap / .pcapng                  a capture (exporter = packet source)
 *   expected.jsonl (--format jsonl) and/or expected.lp (--format lp); expected.stderr optional
 * A regression becomes a new folder named after what it broke.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCaptured } from './helpers/decode.js';
import { hexToBytes } from './helpers/hex.js';

const ROOT = join(import.meta.dirname, '..', 'collectors');
const scratch = mkdtempSync(join(tmpdir(), 'netvigil-golden-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const decode = decodeCaptured;

/** Input paths to decode, and how to turn each back into the input's own name in stderr text. */
function inputs(dir: string, name: string): { paths: string[]; names: Map<string, string> } {
  const files = readdirSync(dir).filter((f) => /^input-.*\.(bin|hex|pcap|pcapng)$/.test(f)).sort();
  const names = new Map<string, string>();
  const paths = files.map((f) => {
    let p = join(dir, f);
    if (f.endsWith('.hex')) {
      p = join(scratch, `${name}-${f}.bin`);
      writeFileSync(p, hexToBytes(readFileSync(join(dir, f), 'utf8')));
    }
    names.set(p, f);
    return p;
  });
  return { paths, names };
}

const cases: { collector: string; name: string; dir: string }[] = [];
for (const collector of readdirSync(ROOT)) {
  const tc = join(ROOT, collector, 'testcases');
  if (!existsSync(tc)) continue;
  for (const name of readdirSync(tc)) {
    const dir = join(tc, name);
    if (existsSync(join(dir, 'expected.jsonl')) || existsSync(join(dir, 'expected.lp'))) cases.push({ collector, name, dir });
  }
}

describe('golden test cases', () => {
  it('finds the netflow cases', () => {
    expect(cases.filter((c) => c.collector === 'netflow').length).toBeGreaterThan(0);
  });
  for (const c of cases) {
    it(`${c.collector}/${c.name}`, async () => {
      const { paths: files, names } = inputs(c.dir, `${c.collector}-${c.name}`);
      expect(files.length).toBeGreaterThan(0);
      const relabel = (t: string): string => [...names].reduce((acc, [p, f]) => acc.split(p).join(f), t);
      const jsonl = join(c.dir, 'expected.jsonl');
      if (existsSync(jsonl)) {
        const r = await decode(['--format', 'jsonl', ...files]);
        const parse = (t: string): unknown[] => t.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as unknown);
        expect(parse(r.out)).toEqual(parse(readFileSync(jsonl, 'utf8')));
        const errFile = join(c.dir, 'expected.stderr');
        if (existsSync(errFile)) expect(relabel(r.err)).toBe(readFileSync(errFile, 'utf8'));
        else expect(r.err).toBe('');
      }
      const lp = join(c.dir, 'expected.lp');
      if (existsSync(lp)) expect((await decode(['--format', 'lp', ...files])).out).toBe(readFileSync(lp, 'utf8'));
    });
  }
});
