/**
 * Durations need a unit and accept compound forms; zero and negative intervals are refused where
 * they make no sense; an unknown key gets the nearest valid one; a bad flag or environment value is
 * reported under the flag's or variable's name, not at the file's line for the same key.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configSchema, loadAppConfig } from '../src/commands/common.js';
import { parseYaml } from '../src/config/yaml.js';
import { duration, parseDuration } from '../src/config/units.js';
import { keysAt, nearestKey } from '../src/config/suggest.js';
import { configProblems } from './helpers/cli.js';
import { makeTmpDir } from './helpers/net.js';

const problems = configProblems;

describe('durations', () => {
  it('parses single and compound terms to milliseconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1h 30m')).toBe(5_400_000);
    expect(parseDuration('2d12h')).toBe(216_000_000);
    expect(parseDuration('1.5s')).toBe(1500);
    for (const bad of ['10', '1m30', 's', '1x', '', '1 m 3']) expect(parseDuration(bad), bad).toBeUndefined();
  });

  it('refuses a bare number, zero and negatives in a config; zero only where it is allowed', () => {
    const s = z.object({ every: duration(), after: duration({ zero: true }) }).strict();
    const ok = parseYaml('every: 1m30s\nafter: 0\n', 'd.yaml', s);
    expect(ok).toEqual({ every: 90_000, after: 0 });
    expect(parseYaml('every: 1s\nafter: 0s\n', 'd.yaml', s).after).toBe(0);
    const ps = problems(() => parseYaml('every: 60\nafter: 5\n', 'd.yaml', s));
    expect(ps.map((p) => [p.path, p.line])).toEqual([['every', 1], ['after', 2]]);
    expect(ps[0]?.message).toMatch(/needs a unit: write "60s" .* or "60ms"/);
    expect(problems(() => parseYaml('every: 0s\nafter: 1s\n', 'd.yaml', s))[0]?.message).toMatch(/greater than zero/);
    expect(problems(() => parseYaml('every: 0\nafter: 1s\n', 'd.yaml', s))[0]?.message).toMatch(/greater than zero/);
    expect(problems(() => parseYaml('every: -5s\nafter: 1s\n', 'd.yaml', s))[0]?.message).toMatch(/negative/);
    // Values code hands the schema (a collector re-validating its parsed block on reload) are milliseconds.
    expect(s.parse({ every: 1500, after: 0 })).toEqual({ every: 1500, after: 0 });
    expect(s.safeParse({ every: 0, after: 0 }).success).toBe(false);
  });

  it('the main config refuses `telemetry_interval: 10` and a zero flow interval, and takes 1m30s', () => {
    const schema = configSchema();
    const ps = problems(() => parseYaml('telemetry_interval: 10\ncollectors:\n  flow: { interval: 0s }\n', 'c.yaml', schema));
    expect(ps.map((p) => `${p.line}:${p.path}`).sort()).toEqual(['1:telemetry_interval', '3:collectors.flow.interval']);
    const cfg = parseYaml('telemetry_interval: 1m30s\nmonitor: { recover_after: 0 }\n', 'c.yaml', schema);
    expect(cfg.telemetry_interval).toBe(90_000);
    expect(cfg.monitor.recover_after).toBe(0);
  });
});

describe('unknown keys', () => {
  it('suggest the nearest valid key', () => {
    expect(nearestKey('netflow', ['flow', 'snmp', 'snmptrap'])).toBe('flow');
    expect(nearestKey('ipfix', ['flow', 'snmp', 'snmptrap'])).toBe('flow');
    expect(nearestKey('flush', ['queue_size', 'overflow', 'batch_size', 'flush_interval', 'concurrency'])).toBe('flush_interval');
    expect(nearestKey('batch-size', ['queue_size', 'batch_size'])).toBe('batch_size');
    expect(nearestKey('log_levl', ['log_level', 'data_dir'])).toBe('log_level');
    expect(nearestKey('zzz', ['log_level', 'data_dir'])).toBeUndefined();
    expect(keysAt(configSchema(), ['collectors'])).toEqual(expect.arrayContaining(['flow', 'snmp', 'snmptrap']));
    expect(keysAt(configSchema(), ['sinks', 'influx', 'retry'])).toEqual(['initial', 'max']);
  });

  it('are reported at their line with the suggestion', () => {
    const ps = problems(() => parseYaml('collectors:\n  netflow: {}\npipeline:\n  flush: 1s\n', 'c.yaml', configSchema()));
    expect(ps).toEqual([
      expect.objectContaining({ line: 2, path: 'collectors.netflow', message: 'unknown key; did you mean "flow"?' }),
      expect.objectContaining({ line: 4, path: 'pipeline.flush', message: 'unknown key; did you mean "flush_interval"?' }),
    ]);
  });
});

describe('flag and environment overrides', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let file: string;
  beforeAll(async () => {
    tmp = await makeTmpDir();
    file = join(tmp.dir, 'c.yaml');
    // The file's own values are fine; the overrides are not.
    writeFileSync(file, 'log_level: info\nshard: 0/1\nhttp:\n  listen: 127.0.0.1:9108\n');
  });
  afterAll(async () => tmp?.cleanup());

  it('name the flag or variable, not the file line of the same key', () => {
    const ps = problems(() => loadAppConfig(file, { logLevel: 'loud', shard: '3/2' }, { NETVIGIL_HTTP_LISTEN: 'nowhere', NETVIGIL_FILE_SINK: 'maybe', NETVIGIL_LOG_LEVEL: 'info' }));
    const by = Object.fromEntries(ps.map((p) => [p.path, p]));
    expect(by['log_level']).toEqual({ file: 'flag --log-level', path: 'log_level', message: expect.stringMatching(/expected one of/) });
    expect(by['shard']?.file).toBe('flag --shard');
    expect(by['http.listen']?.file).toBe('env NETVIGIL_HTTP_LISTEN');
    expect(by['sinks.file.enabled']?.file).toBe('env NETVIGIL_FILE_SINK');
    for (const p of ps) expect(p.line).toBeUndefined();
    expect(ps).toHaveLength(4);
  });

  it('a flag wins over the environment, and a valid override passes', () => {
    const cfg = loadAppConfig(file, { logLevel: 'debug' }, { NETVIGIL_LOG_LEVEL: 'chatty', NETVIGIL_FILE_SINK: 'off' });
    expect(cfg.log_level).toBe('debug');
    expect(cfg.sinks.file?.enabled).toBe(false);
  });
});
