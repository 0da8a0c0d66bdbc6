import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HEALTH_FILE } from '../app.js';
import { configPath, loadAppConfig, OVERRIDE_OPTIONS, overridesFromFlags, type Io } from './common.js';

export const HEALTH_HELP = `Usage: netvigil health [-c FILE] [--data-dir DIR]

Exit 0 when a running collector using this config wrote its heartbeat (<data_dir>/${HEALTH_FILE})
within three telemetry intervals, its sinks are ready (reachable, or spooling within bounds) and,
when the HTTP endpoints are on, /healthz answers 200; exit 1 otherwise. Meant for a container
HEALTHCHECK.`;

/** Where to reach our own HTTP server: a wildcard bind address is reached over loopback. */
function healthzUrl(listen: string): string {
  const i = listen.lastIndexOf(':');
  let host = listen.slice(0, i);
  if (host === '0.0.0.0') host = '127.0.0.1';
  if (host === '[::]') host = '[::1]';
  return `http://${host}:${listen.slice(i + 1)}/healthz`;
}

export async function runHealth(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: OVERRIDE_OPTIONS, strict: true });
  const cfg = loadAppConfig(configPath(values.config), overridesFromFlags(values));
  const file = join(resolve(cfg.data_dir), HEALTH_FILE);
  let h: { time: number; interval_ms: number; ready: boolean; verdict: string };
  try {
    h = JSON.parse(readFileSync(file, 'utf8')) as typeof h;
  } catch (e) {
    io.stderr.write(`unhealthy: no heartbeat at ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})\n`);
    return 1;
  }
  const age = Date.now() - h.time;
  if (age > 3 * h.interval_ms + 1000) {
    io.stderr.write(`unhealthy: last heartbeat ${Math.round(age / 1000)} s ago\n`);
    return 1;
  }
  if (!h.ready) {
    io.stderr.write('unhealthy: a sink is neither reachable nor spooling within bounds\n');
    return 1;
  }
  if (cfg.http.enabled) {
    const url = healthzUrl(cfg.http.listen);
    const status = await fetch(url, { signal: AbortSignal.timeout(3000) }).then(
      (r) => r.status,
      (e: unknown) => (e as Error).message,
    );
    if (status !== 200) {
      io.stderr.write(`unhealthy: ${url} answered ${status}\n`);
      return 1;
    }
  }
  io.stdout.write(`healthy (heartbeat ${Math.round(age / 1000)} s ago, VM verdict ${h.verdict})\n`);
  return 0;
}
