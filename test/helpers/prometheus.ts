/**
 * Runs Debian's `prometheus` on a free loopback port with a temp TSDB, scraping the given targets
 * every second, and queries it through its HTTP API (/api/v1). Stopped by PID.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeTcpPort, makeTmpDir, waitFor } from './net.js';
import { startDaemon, type Daemon } from './proc.js';

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface PromTarget {
  health: string;
  lastError: string;
  scrapeUrl: string;
  labels: Record<string, string>;
}

export interface Prometheus {
  url: string;
  daemon: Daemon;
  /** An instant query at the current time: one sample per series. */
  query(expr: string): Promise<PromSample[]>;
  targets(): Promise<PromTarget[]>;
  cleanup(): Promise<void>;
}

async function api<T>(url: string): Promise<T> {
  const r = await fetch(url);
  const body = (await r.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? r.status}`);
  return body.data;
}

/** `targets` are host:port pairs scraped at /metrics under job `job`. */
export async function startPrometheus(job: string, targets: string[]): Promise<Prometheus> {
  const tmp = await makeTmpDir('netvigil-prom-');
  const port = await freeTcpPort();
  const config = join(tmp.dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s }',
      'scrape_configs:',
      `  - job_name: ${job}`,
      `    static_configs: [{ targets: [${targets.map((t) => `"${t}"`).join(', ')}] }]`,
      '',
    ].join('\n'),
  );
  const daemon = startDaemon('prometheus', [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(tmp.dir, 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  const url = `http://127.0.0.1:${port}`;
  const cleanup = async (): Promise<void> => {
    await daemon.stop('SIGTERM', 5000);
    await tmp.cleanup();
  };
  try {
    await waitFor('prometheus ready', async () => daemon.proc.exitCode === null && (await fetch(`${url}/-/ready`)).status === 200, 30_000, 200);
  } catch (e) {
    await cleanup();
    throw new Error(`${String(e)}\n${daemon.output()}`);
  }
  return {
    url,
    daemon,
    async query(expr) {
      const data = await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async targets() {
      return (await api<{ activeTargets: PromTarget[] }>(`${url}/api/v1/targets?state=active`)).activeTargets;
    },
    cleanup,
  };
}
