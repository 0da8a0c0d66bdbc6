import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { configJsonSchema } from '../src/config/jsonschema.js';
import { createLogger } from '../src/log.js';
import { CLI, cli } from './helpers/cli.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { freeTcpPort, makeTmpDir, waitFor } from './helpers/net.js';

let tmp: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  tmp = await makeTmpDir();
});
afterAll(async () => tmp?.cleanup());


describe('netvigil CLI', () => {
  it('prints help for itself and each command', () => {
    const top = cli(['--help']);
    expect(top.code).toBe(0);
    for (const c of ['run', 'validate', 'decode', 'doctor', 'health', 'schema']) expect(top.out).toContain(c);
    const run = cli(['run', '--help']);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/--influx-url/);
    expect(cli(['frobnicate']).code).toBe(2);
  });

  it('validate lists every problem with file, line, column and key, and exits 1', () => {
    const f = join(tmp.dir, 'bad.yaml');
    writeFileSync(f, 'log_level: loud\npipeline:\n  batch_size: "many"\n  flush_intervall: 1s\nsinks:\n  influx:\n    url: not-a-url\n');
    const r = cli(['validate', '-c', f]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${f}:1:12: log_level: expected one of`);
    expect(r.err).toContain(`${f}:3:15: pipeline.batch_size: expected number`);
    expect(r.err).toContain(`${f}:4:3: pipeline.flush_intervall: unknown key`);
    expect(r.err).toMatch(new RegExp(`${f}:7:10: sinks\\.influx\\.url: `));
    expect(r.err).toContain('4 problems found');
  });

  it('validate also checks the files a collector block names (the device inventory)', () => {
    const main = join(tmp.dir, 'with-snmp.yaml');
    const inv = join(tmp.dir, 'inv.yaml');
    writeFileSync(main, 'collectors:\n  snmp: { devices: inv.yaml }\n');
    writeFileSync(inv, 'devices:\n  - name: r1\n    address: 192.0.2.1\n    version: v2c\n    credentials: { community: x }\n    intervall: 10s\n');
    const r = cli(['validate', '-c', main]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${inv}:6:5: devices[0].intervall: unknown key`);
  });

  it('validate reports broken YAML with its position', () => {
    const f = join(tmp.dir, 'syntax.yaml');
    writeFileSync(f, 'pipeline:\n  batch_size: [1,\n');
    const r = cli(['validate', '-c', f]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`${f}:\\d+:\\d+: \\(root\\): YAML syntax`));
  });

  it('validate accepts the shipped default and applies flag/env overrides before checking', () => {
    expect(cli(['validate']).code).toBe(0);
    const bad = cli(['validate', '--influx-url', 'ftp://x'], {});
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/sinks\.influx\.url/);
    const env = cli(['validate'], { NETVIGIL_LOG_LEVEL: 'chatty' });
    expect(env.code).toBe(1);
    expect(env.err).toMatch(/log_level/);
  });

  it('the committed JSON Schema matches the config schema (run `npm run schema`)', () => {
    const committed = readFileSync(join(import.meta.dirname, '..', 'config', 'collector.schema.json'), 'utf8');
    expect(committed).toBe(configJsonSchema());
    expect(cli(['schema']).out).toBe(committed);
  });

  it('never logs a secret: pino redacts credential keys', () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        out += chunk.toString();
        cb();
      },
    });
    const log = createLogger('info', sink);
    log.info({ device: { name: 'r1', community: 'public-secret', v3: { auth_key: 'k1-secret', priv_key: 'k2-secret' } }, password: 'pw-secret' }, 'x');
    expect(out).toContain('r1');
    expect(out).not.toMatch(/secret/);
    expect(out).toContain('[redacted]');
  });
});

describe('netvigil run', () => {
  let influx: Influxd;
  beforeAll(async () => {
    influx = await startInfluxd();
  });
  afterAll(async () => influx?.cleanup());

  it('writes to InfluxDB named by environment, and flushes on SIGTERM with exit 0', async () => {
    const dataDir = join(tmp.dir, 'run-influx');
    const cfg = join(tmp.dir, 'run.yaml');
    writeFileSync(cfg, 'telemetry_interval: 300ms\nsinks:\n  file: { enabled: false }\nmonitor: { interval: 200ms }\n');
    const http = `127.0.0.1:${await freeTcpPort()}`;
    const p = spawn(process.execPath, [CLI, 'run', '-c', cfg, '--data-dir', dataDir, '--influx-db', 'runtest', '--http-listen', http], {
      env: { ...process.env, NETVIGIL_INFLUX_URL: influx.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    p.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
    try {
      await waitFor('self-telemetry in InfluxDB', async () => (await influx.query('runtest', 'SELECT count(queue_depth) FROM netvigil_pipeline').catch(() => []))[0], 15_000);
      const health = cli(['health', '-c', cfg, '--data-dir', dataDir, '--http-listen', http]);
      expect(health.code, health.err).toBe(0);
      // a fresh heartbeat is not enough when the HTTP endpoint that should answer does not
      const deadHttp = cli(['health', '-c', cfg, '--data-dir', dataDir, '--http-listen', `127.0.0.1:${await freeTcpPort()}`]);
      expect(deadHttp.code).toBe(1);
      expect(deadHttp.err).toMatch(/unhealthy: http:\/\/127\.0\.0\.1:\d+\/healthz/);
      expect(cli(['health', '-c', cfg, '--data-dir', join(tmp.dir, 'nothing-runs-here')]).code).toBe(1);
    } finally {
      p.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(log).toMatch(/netvigil stopped/);
    // the final telemetry written during shutdown reached InfluxDB: its record count equals the log's
    const rows = await influx.query('runtest', 'SELECT last(records_out) FROM netvigil_pipeline');
    expect(Number(rows[0]?.values[0]?.[1])).toBeGreaterThan(0);
    const types = await influx.query('runtest', 'SHOW FIELD KEYS FROM netvigil_pipeline');
    expect(Object.fromEntries((types[0]?.values ?? []).map((v) => [v[0], v[1]]))).toMatchObject({ queue_depth: 'integer', uptime_s: 'float', vm_verdict: 'string' });
  });
  it('spools while InfluxDB is down, survives its own restart, and delivers the spool when InfluxDB is back', async () => {
    const dataDir = join(tmp.dir, 'run-outage');
    const cfg = join(tmp.dir, 'outage.yaml');
    writeFileSync(cfg, 'telemetry_interval: 200ms\nsinks:\n  file: { enabled: false }\n  influx: { database: outage, retry: { initial: 50ms, max: 200ms } }\nmonitor: { interval: 200ms }\n');
    const runFor = async (ms: number): Promise<string> => {
      const p = spawn(process.execPath, [CLI, 'run', '-c', cfg, '--data-dir', dataDir, '--influx-url', influx.url], { stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      p.stderr.on('data', (d: Buffer) => (log += d.toString()));
      const exited = new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
      // `ms` of running, counted from the start-up line: on a loaded machine loading the modules
      // alone can take a second, and a SIGTERM before the handlers exist kills the process
      await waitFor('the run to start', () => log.includes('SIGTERM/SIGINT to stop') || undefined, 20_000);
      await new Promise((r) => setTimeout(r, ms));
      p.kill('SIGTERM');
      expect(await exited).toBe(0);
      return log;
    };
    await influx.stop();
    const firstLog = await runFor(2500);
    expect(firstLog).toMatch(/spooling/);
    const spooled = readdirSync(join(dataDir, 'spool', 'influx')).filter((n) => n.endsWith('.lp'));
    expect(spooled.length).toBeGreaterThan(0);
    // the newest pipeline record the first run spooled: its uptime must show up in InfluxDB later
    const lastSpooled = spooled
      .map((n) => readFileSync(join(dataDir, 'spool', 'influx', n), 'utf8'))
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('netvigil_pipeline '))
      .map((l) => Number(l.split(' ').at(-1)));
    expect(lastSpooled.length).toBeGreaterThan(0);
    await influx.start();
    await runFor(1500);
    expect(readdirSync(join(dataDir, 'spool', 'influx')).filter((n) => n.endsWith('.lp'))).toEqual([]);
    const times = (await influx.query('outage', 'SELECT queue_depth FROM netvigil_pipeline')).flatMap((sr) => sr.values.map((v) => Number(v[0])));
    for (const t of lastSpooled) expect(times).toContain(t);
  });
});
