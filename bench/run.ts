/**
 * `npm run bench`: runs every bench/*.bench.js next to this file, one after the other (the machine
 * has 2 cores: benchmarks in parallel would measure each other), and prints each result with its
 * ratio to the baseline measured in the same run. `npm run bench -- NAME` runs only matching files.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchResult } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js') && (!filter || f.includes(filter)))
  .sort();

function fmt(v: number): string {
  return v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k` : v.toFixed(v < 10 ? 3 : 1);
}

let failed = 0;
for (const f of files) {
  process.stdout.write(`\n## ${f.replace('.bench.js', '')}\n`);
  try {
    const mod = (await import(pathToFileURL(join(here, f)).href)) as { default: () => Promise<BenchResult[]> };
    for (const r of await mod.default()) {
      let line = `${r.name.padEnd(48)} ${fmt(r.value).padStart(10)} ${r.unit}`;
      if (r.baseline) line += `   vs ${r.baseline.name}: ${fmt(r.baseline.value)} -> ratio ${(r.value / r.baseline.value).toFixed(2)}x`;
      if (r.note) line += `   (${r.note})`;
      process.stdout.write(line + '\n');
    }
  } catch (e) {
    failed++;
    process.stdout.write(`  FAILED: ${(e as Error).stack ?? String(e)}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
