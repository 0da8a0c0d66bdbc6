import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { flowConfigSchema } from '../flow/config.js';

const here = import.meta.dirname;

describe('netflow kit', () => {
  it('sample.yaml validates against the flow collector schema and equals its defaults', () => {
    const doc = parse(readFileSync(join(here, 'sample.yaml'), 'utf8')) as { flow: unknown };
    expect(flowConfigSchema.parse(doc.flow)).toEqual(flowConfigSchema.parse({}));
  });
  it('README embeds sample.yaml verbatim (one source for the documented config)', () => {
    const sample = readFileSync(join(here, 'sample.yaml'), 'utf8');
    expect(readFileSync(join(here, 'README.md'), 'utf8')).toContain('```yaml\n' + sample + '```');
  });
});
