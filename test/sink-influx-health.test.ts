/**
 * The operator's view of refused writes, end to end: `netvigil run` (the built binary) writing to a
 * real influxd with authentication, as a user whose password is wrong. /readyz must answer 503 and
 * `netvigil health` exit 1 (the old behaviour: "InfluxDB not reachable" and green health checks),
 * the log names user and database once per interval, and the data waits in the spool.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { freeTcpPort, makeTmpDir, waitFor } from './helpers/net.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'src', 'cli.js');
let influx: Influxd;
let tmp: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  influx = await startInfluxd({ auth: true });
  tmp = await makeTmpDir();
});
afterAll(async () => {
  await influx?.cleanup();
  await tmp?.cleanup();
});

describe('refused InfluxDB writes make the collector not ready', () => {
  it('401 on write: /readyz 503, netvigil health exit 1, logged once per interval naming user and database, data spooled', async () => {
    await influx.createWriter('nv', 'right', 'guarded');
    const dataDir = join(tmp.dir, 'data');
    const cfg = join(tmp.dir, 'c.yaml');
    const listen = `127.0.0.1:${await freeTcpPort()}`;
    writeFileSync(cfg, `telemetry_interval: 200ms\nsinks:\n  file: { enabled: false }\n  influx: { database: guarded, retry: { initial: 50ms, max: 200ms } }\nmonitor: { interval: 200ms }\nhttp: { listen: "${listen}" }\n`);
    const env = { ...process.env, NETVIGIL_INFLUX_USERNAME: 'nv', NETVIGIL_INFLUX_PASSWORD: 'wrong' };
    const p = spawn(process.execPath, [CLI, 'run', '-c', cfg, '--data-dir', dataDir, '--influx-url', influx.url], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let log = '';
    p.stderr.on('data', (d: Buffer) => (log += d.toString()));
    p.stdout.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
    const t0 = Date.now();
    let elapsed = 0;
    try {
      const ready = await waitFor('/readyz 503', async () => {
        const r = await fetch(`http://${listen}/readyz`).catch(() => undefined);
        return r?.status === 503 ? r.text() : undefined;
      });
      expect(ready).toMatch(/sink influx: writes refused \(401\/403/);
      const metrics = await (await fetch(`http://${listen}/metrics`)).text();
      expect(metrics).toMatch(/^netvigil_sink_state\{sink="influx",state="unauthorized"\} 1$/m);
      expect(metrics).toMatch(/^netvigil_sink_state\{sink="influx",state="ok"\} 0$/m);
      expect(Number(/^netvigil_sink_write_failures_total\{sink="influx",kind="unauthorized"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
      const health = spawnSync(process.execPath, [CLI, 'health', '-c', cfg, '--data-dir', dataDir], { encoding: 'utf8', env, timeout: 20_000 });
      expect(health.status).toBe(1);
      expect(health.stderr).toMatch(/unhealthy: a sink/);
      await new Promise((r) => setTimeout(r, 800)); // several telemetry batches, several refused retries
      const spooled = readdirSync(join(dataDir, 'spool', 'influx')).filter((n) => n.endsWith('.lp'));
      expect(spooled.length).toBeGreaterThan(0);
    } finally {
      elapsed = Date.now() - t0;
      p.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    const refused = log.split('\n').filter((l) => l.includes('refuses writes'));
    // at most once per telemetry_interval (200 ms), although every retry (50-200 ms apart) is refused
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.length).toBeLessThanOrEqual(Math.ceil(elapsed / 200) + 1);
    expect(refused[0]).toMatch(/"user":"nv"/);
    expect(refused[0]).toMatch(/database guarded/);
    expect(log).not.toMatch(/not reachable/);
  });
});
