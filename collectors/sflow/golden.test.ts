import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { goldenCases } from './goldencases.js';
import { decodeSflow, toJsonl } from './index.js';

/**
 * Golden cases: testcases/<case>/input-NN.bin (one UDP payload each, decoded in order) and
 * expected.jsonl (the `netvigil decode --format jsonl` output). A regression becomes a new folder.
 * UPDATE_GOLDEN=1 rewrites the folders from goldencases.ts; review the diff before committing.
 */
const DIR = join(dirname(fileURLToPath(import.meta.url)), 'testcases');
const update = process.env.UPDATE_GOLDEN === '1';

function decodeCase(dir: string): object[] {
  const inputs = readdirSync(dir).filter((f) => /^input-.*\.bin$/.test(f)).sort();
  expect(inputs.length).toBeGreaterThan(0);
  return inputs.flatMap((f) => toJsonl(decodeSflow(new Uint8Array(readFileSync(join(dir, f))))));
}

if (update) {
  for (const c of goldenCases()) {
    const dir = join(DIR, c.name);
    mkdirSync(dir, { recursive: true });
    c.datagrams.forEach((d, i) => writeFileSync(join(dir, `input-${String(i + 1).padStart(2, '0')}.bin`), d));
    const lines = decodeCase(dir).map((o) => JSON.stringify(o));
    writeFileSync(join(dir, 'expected.jsonl'), lines.join('\n') + '\n');
  }
}

describe('sFlow golden cases', () => {
  const cases = readdirSync(DIR, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

  it('every crafted case has a folder and the committed inputs match their description', () => {
    for (const c of goldenCases()) {
      expect(cases).toContain(c.name);
      c.datagrams.forEach((d, i) => {
        const file = join(DIR, c.name, `input-${String(i + 1).padStart(2, '0')}.bin`);
        expect(new Uint8Array(readFileSync(file))).toEqual(d);
      });
    }
  });

  it('the decoded golden inputs are what expected.jsonl says (the generic runner checks it via the CLI too)', () => {
    for (const name of cases) {
      const dir = join(DIR, name);
      const expected = readFileSync(join(dir, 'expected.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as object);
      expect(decodeCase(dir), name).toEqual(expected);
    }
  });
});
