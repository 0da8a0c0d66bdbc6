/** The HTTP surface's README cannot drift from the metrics the code registers or from its bounds. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { App } from '../src/app.js';
import { configSchema } from '../src/commands/common.js';
import { parseConfigText } from '../src/config/load.js';
import { MAX_DEVICE_LABELS, MAX_EXPORTER_LABELS, MAX_REASON_LABELS, Metrics } from '../src/http/metrics.js';
import { makeTmpDir } from './helpers/net.js';

const readme = readFileSync(join(import.meta.dirname, '../src/http/README.md'), 'utf8');
const tmp = await makeTmpDir();
afterAll(() => tmp.cleanup());

describe('src/http/README.md', () => {
  it('lists exactly the metrics /metrics can expose, with their types and labels', () => {
    const cfg = parseConfigText(`data_dir: ${tmp.dir}/data\n`, join(tmp.dir, 'c.yaml'), configSchema());
    // never started: registering the metrics needs only the App's parts, not running collectors
    const metrics = new Metrics(new App(cfg, { log: pino({ level: 'silent' }), configDir: tmp.dir }));
    expect(metrics.catalog.map((m) => [m.name, m.type])).toEqual(metrics.registry.getMetricsAsArray().map((m) => [m.name, m.type]));
    const code = metrics.catalog.map((m) => [m.name, m.type, m.labels.join(',')].join(' '));
    const documented = [...readme.matchAll(/^\| `(netvigil_[a-z_]+)` \| (\w+) \|([^|]*)\|/gm)].map((m) =>
      [m[1], m[2], [...(m[3] ?? '').matchAll(/`(\w+)`/g)].map((l) => l[1]).join(',')].join(' '),
    );
    expect(documented.sort()).toEqual(code.sort());
  });

  it('names no netvigil_ metric the code does not register (prose and PromQL included)', () => {
    const cfg = parseConfigText(`data_dir: ${tmp.dir}/data\n`, join(tmp.dir, 'c.yaml'), configSchema());
    const names = new Set(new Metrics(new App(cfg, { log: pino({ level: 'silent' }), configDir: tmp.dir })).catalog.map((m) => m.name));
    const mentioned = new Set([...readme.matchAll(/\bnetvigil_[a-z_]*[a-z]\b/g)].map((m) => m[0]));
    expect([...mentioned].filter((n) => !names.has(n))).toEqual([]);
  });

  it('states the label bounds the code enforces', () => {
    expect(readme).toContain(`the first ${MAX_EXPORTER_LABELS} exporters`);
    expect(readme).toContain(`capped at ${MAX_REASON_LABELS} values`);
    expect(readme).toContain(`SNMP devices at ${MAX_DEVICE_LABELS}`);
  });
});
