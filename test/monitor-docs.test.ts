/** The monitor's README and sample config cannot drift from the code. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { monitorConfigSchema } from '../src/monitor/config.js';
import { hostRecord } from '../src/monitor/records.js';

const DIR = join(import.meta.dirname, '../src/monitor');
const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
const sample = readFileSync(join(DIR, 'sample.yaml'), 'utf8');

function tableFields(section: string): string[] {
  const start = readme.indexOf(`### \`${section}\``);
  const end = readme.indexOf('\n### ', start + 1);
  const body = readme.slice(start, end < 0 ? undefined : end);
  return [...body.matchAll(/^\| `([a-z0-9_]+)` \|/gm)].map((m) => m[1] ?? '');
}

describe('monitor docs', () => {
  it('sample.yaml is valid and is exactly the defaults', () => {
    const doc = parse(sample) as { monitor: unknown };
    expect(monitorConfigSchema.parse(doc.monitor)).toEqual(monitorConfigSchema.parse({}));
  });

  it('the README embeds sample.yaml verbatim', () => {
    expect(readme).toContain(sample.trimEnd());
  });

  it('the vm_host field table lists exactly the fields the code can write', () => {
    const r = hostRecord(
      0,
      { elapsedMs: 5000, procMajorFaults: 0, loopStallMs: 0, clockStepMs: 0, exporters: 0, snmpRequests: 0, snmpTimeouts: 0, socketDrops: 0 },
      { cpuPct: 0, rssBytes: 0, timerDriftMs: 0, tickMs: 0 },
      { verdict: 'ok', reasons: [] },
      {},
      50,
    );
    expect(tableFields('vm_host').sort()).toEqual(Object.keys(r.fields).sort());
  });
});
