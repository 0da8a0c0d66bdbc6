/**
 * Slow and hostile HTTP clients cannot starve the probes (issue: 64 slow clients blocked /healthz
 * for seconds). Real sockets against a real App's server: 150 clients that open a connection and
 * dribble request headers one byte at a time (slowloris), then /healthz must still answer at once,
 * and the dribblers are cut off once the header deadline passes.
 */
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App } from '../src/app.js';
import { configSchema } from '../src/commands/common.js';
import { parseConfigText } from '../src/config/load.js';
import { HEADERS_TIMEOUT_MS, MAX_CONNECTIONS } from '../src/http/server.js';
import { makeTmpDir } from './helpers/net.js';

let app: App;
let tmp: { dir: string; cleanup: () => Promise<void> };
let port = 0;

beforeAll(async () => {
  tmp = await makeTmpDir();
  const cfg = parseConfigText(`data_dir: ${tmp.dir}/data\nhttp: { listen: "127.0.0.1:0" }\nsinks: { file: { dir: ${tmp.dir}/lp } }\n`, join(tmp.dir, 'collector.yaml'), configSchema());
  app = new App(cfg, { log: pino({ level: 'silent' }), configDir: tmp.dir });
  await app.start();
  port = app.httpPort ?? 0;
}, 30_000);
afterAll(async () => {
  await app?.stop(3000);
  await tmp?.cleanup();
});

async function healthzMs(): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) });
  expect(r.status).toBe(200);
  expect(await r.text()).toBe('ok\n');
  return performance.now() - t0;
}

describe('HTTP under slow clients', () => {
  it('answers /healthz promptly with 150 slowloris connections open, and drops them after the header deadline', async () => {
    const slow: Socket[] = [];
    const closedAt = new Map<Socket, number>();
    const opened = performance.now();
    for (let i = 0; i < 150; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.on('close', () => closedAt.set(s, performance.now()));
      s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
      slow.push(s);
    }
    const drip = setInterval(() => {
      for (const s of slow) if (!s.destroyed) s.write('X');
    }, 100);
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(slow.length).toBeGreaterThan(MAX_CONNECTIONS);
      const times: number[] = [];
      for (let i = 0; i < 5; i++) times.push(await healthzMs());
      expect(Math.max(...times), `healthz took ${times.map((t) => t.toFixed(0)).join(', ')} ms`).toBeLessThan(500);
      // none of the dribblers ever gets an answer, and none outlives the header deadline by much
      await new Promise((r) => setTimeout(r, HEADERS_TIMEOUT_MS + 1500));
      expect(slow.every((s) => s.destroyed || closedAt.has(s))).toBe(true);
      const last = Math.max(...closedAt.values()) - opened;
      expect(last).toBeLessThan(HEADERS_TIMEOUT_MS + 1500);
      expect(await healthzMs()).toBeLessThan(500);
    } finally {
      clearInterval(drip);
      for (const s of slow) s.destroy();
    }
  }, 20_000);
});
