import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadYamlFile, parseYaml } from '../src/config/yaml.js';
import { duration, size } from '../src/config/units.js';
import { configProblems } from './helpers/cli.js';
import { makeTmpDir } from './helpers/net.js';

const schema = z
  .object({
    name: z.string(),
    port: z.number().int().min(1).max(65535),
    every: duration().default(10_000),
    limit: size().default(1024),
    nested: z.object({ secret: z.string().optional(), list: z.array(z.object({ a: z.number() }).strict()).default([]) }).strict().default({ list: [] }),
  })
  .strict();

const problemsOf = configProblems;

describe('YAML config loading', () => {
  it('parses, applies defaults and units, and freezes the result', () => {
    const cfg = parseYaml('name: a\nport: 80\nevery: 5m\nlimit: 2MiB\n', 'x.yaml', schema);
    expect(cfg).toMatchObject({ name: 'a', port: 80, every: 300_000, limit: 2 * 1024 * 1024 });
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.nested)).toBe(true);
  });

  it('reports every problem at once with file, line, column and key path', () => {
    const text = 'name: a\nport: "eighty"\nnested:\n  list:\n    - a: 1\n    - a: 2\n      typo: 3\nextra: true\nevery: soon\n';
    const ps = problemsOf(() => parseYaml(text, 'conf/c.yaml', schema));
    const byPath = Object.fromEntries(ps.map((p) => [p.path, p]));
    expect(byPath['port']).toMatchObject({ file: 'conf/c.yaml', line: 2, column: 7 });
    expect(byPath['port']?.message).toMatch(/expected number/);
    expect(byPath['nested.list[1].typo']).toMatchObject({ line: 7, column: 7 });
    expect(byPath['nested.list[1].typo']?.message).toMatch(/unknown key/);
    expect(byPath['extra']).toMatchObject({ line: 8, column: 1 });
    expect(byPath['every']?.message).toMatch(/duration/);
    expect(byPath['every']?.line).toBe(9);
    expect(ps).toHaveLength(4);
  });

  it('reports YAML syntax errors with their position', () => {
    const ps = problemsOf(() => parseYaml('name: a\nport: [1, 2\n', 'bad.yaml', schema));
    expect(ps[0]?.file).toBe('bad.yaml');
    expect(ps[0]?.message).toMatch(/YAML syntax/);
    expect(ps[0]?.line).toBeGreaterThanOrEqual(2);
  });

  it('resolves ${ENV} and file: references and names a missing one', async () => {
    const t = await makeTmpDir();
    try {
      const secretFile = join(t.dir, 'pw');
      writeFileSync(secretFile, 's3cret\n');
      const cfg = parseYaml(`name: "\${NV_TEST_NAME}"\nport: 1\nnested:\n  secret: "file:${secretFile}"\n`, 'e.yaml', schema, {
        env: { NV_TEST_NAME: 'from-env' },
      });
      expect(cfg.name).toBe('from-env');
      expect(cfg.nested.secret).toBe('s3cret');
      const ps = problemsOf(() => parseYaml('name: "${NV_MISSING}"\nport: 1\n', 'e.yaml', schema, { env: {} }));
      expect(ps[0]).toMatchObject({ path: 'name', line: 1 });
      expect(ps[0]?.message).toMatch(/NV_MISSING is not set/);
    } finally {
      await t.cleanup();
    }
  });

  it('names an unreadable file', () => {
    const ps = problemsOf(() => loadYamlFile('/nonexistent/netvigil.yaml', schema));
    expect(ps[0]?.file).toBe('/nonexistent/netvigil.yaml');
    expect(ps[0]?.message).toMatch(/cannot read/);
  });
});
