/**
 * A real VictoriaMetrics (Debian's single-node `victoria-metrics`) on loopback: a second server that
 * speaks the InfluxDB line-protocol write APIs (`/write` and `/api/v2/write`). Stopped by PID.
 */
import { startDaemon, type Daemon } from './proc.js';
import { freeTcpPort, makeTmpDir, waitFor } from './net.js';

export interface Victoria {
  url: string;
  /** Every sample of the series whose name matches `re` (flushes buffered data first). */
  export(re: string): Promise<{ metric: Record<string, string>; values: number[]; timestamps: number[] }[]>;
  cleanup(): Promise<void>;
}

export async function startVictoria(): Promise<Victoria> {
  const tmp = await makeTmpDir('netvigil-vm-');
  const port = await freeTcpPort();
  const url = `http://127.0.0.1:${port}`;
  // retention 100y: test points carry fixed timestamps that may be older than the default month
  const d: Daemon = startDaemon('victoria-metrics', [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${tmp.dir}`, '-retentionPeriod=100y', '-loggerLevel=ERROR']);
  await waitFor(`victoria-metrics on ${url}\n${d.output()}`, async () => {
    if (d.proc.exitCode !== null) throw new Error(`victoria-metrics exited: ${d.output()}`);
    return (await fetch(`${url}/health`, { signal: AbortSignal.timeout(500) }).catch(() => undefined))?.status === 200;
  }, 20_000);
  return {
    url,
    async export(re) {
      await fetch(`${url}/internal/force_flush`);
      const r = await fetch(`${url}/api/v1/export?${new URLSearchParams({ 'match[]': `{__name__=~"${re}"}` }).toString()}`);
      const text = await r.text();
      return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { metric: Record<string, string>; values: number[]; timestamps: number[] });
    },
    async cleanup() {
      await d.stop('SIGKILL');
      await tmp.cleanup();
    },
  };
}
