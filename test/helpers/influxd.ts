/**
 * A real influxd (Debian's 1.6) on loopback with its own config, ports and temp dirs.
 * `stop()`/`kill()` end it by PID; `start()` again reuses the same data and ports, for outage tests.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './proc.js';
import { freeTcpPort, makeTmpDir, waitFor } from './net.js';

export interface Influxd {
  url: string;
  port: number;
  start(): Promise<void>;
  /** SIGTERM, or SIGKILL for a crash. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  query(db: string, q: string): Promise<InfluxSeries[]>;
  cleanup(): Promise<void>;
  output(): string;
}

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

async function portAnswers(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(500) });
    return r.status === 204;
  } catch {
    return false;
  }
}

export async function startInfluxd(): Promise<Influxd> {
  const tmp = await makeTmpDir('netvigil-influxd-');
  const port = await freeTcpPort();
  const rpc = await freeTcpPort();
  const url = `http://127.0.0.1:${port}`;
  const conf = join(tmp.dir, 'influxdb.conf');
  writeFileSync(
    conf,
    `reporting-disabled = true
bind-address = "127.0.0.1:${rpc}"
[meta]
  dir = "${tmp.dir}/meta"
[data]
  dir = "${tmp.dir}/data"
  wal-dir = "${tmp.dir}/wal"
  query-log-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:${port}"
  log-enabled = false
[monitor]
  store-enabled = false
[logging]
  level = "warn"
`,
  );
  let d: Daemon | undefined;
  let log = '';
  const inst: Influxd = {
    url,
    port,
    async start() {
      // A stale instance on this port would answer /ping while ours failed to start.
      if (await portAnswers(url)) throw new Error(`port ${port} already answers /ping`);
      d = startDaemon('influxd', ['run', '-config', conf]);
      const mine = d;
      await waitFor(`influxd on ${url}\n${mine.output()}`, async () => {
        if (mine.proc.exitCode !== null) throw new Error(`influxd exited: ${mine.output()}`);
        return portAnswers(url);
      }, 20_000);
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!d) return;
      await d.stop(signal);
      log += d.output();
      d = undefined;
    },
    async query(db, q) {
      const r = await fetch(`${url}/query?db=${encodeURIComponent(db)}&epoch=ms&q=${encodeURIComponent(q)}`);
      const body = (await r.json()) as { results?: { series?: InfluxSeries[]; error?: string }[]; error?: string };
      if (body.error) throw new Error(body.error);
      const res = body.results?.[0];
      if (res?.error) throw new Error(res.error);
      return res?.series ?? [];
    },
    async cleanup() {
      await inst.stop('SIGKILL');
      await tmp.cleanup();
    },
    output: () => log + (d?.output() ?? ''),
  };
  await inst.start();
  return inst;
}
