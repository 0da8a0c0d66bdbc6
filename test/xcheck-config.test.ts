/** `netvigil validate` (the built CLI) on bad sampling entries and a bad cross-check band: file:line:column: key. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './helpers/cli.js';
import { makeTmpDir } from './helpers/net.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  tmp = await makeTmpDir();
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe('validate: sampling map and xcheck', () => {
  it('names each bad entry by file, line and key, all at once', () => {
    const f = join(tmp.dir, 'bad.yaml');
    writeFileSync(
      f,
      `collectors:
  flow:
    sampling:
      default: 0
      map:
        - { exporter: 192.0.2.1, rate: 100 }
        - { exporter: 192.0.2.1, rate: 200 }
        - { exporter: 192.0.2.300, rate: 10, overide: true }
xcheck: { low: 2, high: 1 }
`,
    );
    const r = cli(['validate', '-c', f]);
    expect(r.code).toBe(1);
    const lines = r.err.split('\n').concat(r.out.split('\n'));
    expect(lines).toContain(`${f}:4:16: collectors.flow.sampling.default: Too small: expected number to be >=1`);
    expect(lines).toContain(`${f}:7:23: collectors.flow.sampling.map[1].exporter: duplicate entry: map[0] already sets 192.0.2.1`);
    expect(lines).toContain(`${f}:8:23: collectors.flow.sampling.map[2].exporter: expected an IP address or CIDR`);
    expect(lines).toContain(`${f}:8:46: collectors.flow.sampling.map[2].overide: unknown key; did you mean "override"?`);
    expect(lines).toContain(`${f}:9:16: xcheck.low: low must be below high`);
  });

  it('accepts a good map', () => {
    const f = join(tmp.dir, 'good.yaml');
    writeFileSync(f, `collectors:\n  flow:\n    sampling: { default: 1000, map: [{ exporter: 192.0.2.0/24, rate: 512, override: true }, { exporter: 192.0.2.1, in_if: 7, rate: 64 }] }\nxcheck: {}\n`);
    expect(cli(['validate', '-c', f]).code).toBe(0);
  });
});
