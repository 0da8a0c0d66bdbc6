/** `collectors.flow.timestamps` and `exporter_path` through `netvigil validate` (file:line:column: key). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { makeTmpDir } from './helpers/net.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  tmp = await makeTmpDir();
});
afterAll(async () => tmp?.cleanup());

describe('flow timestamps and exporter_path config', () => {
  it('reports every problem at once with file, line, column and key', () => {
    const f = join(tmp.dir, 'bad.yaml');
    writeFileSync(f, [
      'collectors:',
      '  flow:',
      '    timestamps:',
      '      default: sometimes',
      '      max_offset: -3s',
      '      exporters:',
      '        192.0.2.1: receive',
      '        router-7: exporter',
      '        192.0.2.2: wall',
      '    exporter_path:',
      '      lost_pct: -1',
      '      jitter: 5',
      '',
    ].join('\n'));
    const r = cli(['validate', '-c', f]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${f}:4:16: collectors.flow.timestamps.default: expected one of "exporter", "receive", "auto"`);
    expect(r.err).toContain(`${f}:5:19: collectors.flow.timestamps.max_offset: must not be negative`);
    expect(r.err).toContain(`${f}:8:19: collectors.flow.timestamps.exporters.router-7: "router-7" is not an IP address`);
    expect(r.err).toContain(`${f}:9:20: collectors.flow.timestamps.exporters.192.0.2.2: expected one of`);
    expect(r.err).toContain(`${f}:11:17: collectors.flow.exporter_path.lost_pct: `);
    expect(r.err).toContain(`${f}:12:7: collectors.flow.exporter_path.jitter: unknown key`);
    expect(r.err).toContain('6 problems found');
  });

  it('accepts per-exporter overrides (IPv4 and IPv6) and null limits', () => {
    const f = join(tmp.dir, 'good.yaml');
    writeFileSync(f, 'collectors:\n  flow:\n    timestamps: { default: receive, max_offset: 90s, exporters: { 192.0.2.1: auto, "2001:db8::1": exporter } }\n    exporter_path: { lost_pct: null, jitter_ms: 250 }\n');
    const r = cli(['validate', '-c', f]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });
});
