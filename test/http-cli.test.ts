/**
 * How `netvigil run` turns the HTTP surface on: off without an `http` block, on with
 * `--http-listen` or NETVIGIL_HTTP_LISTEN (flag wins), and a taken port ends the run with a clear
 * message instead of a collector running without its endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeTcpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { startDaemon, type Daemon } from './helpers/proc.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'src', 'cli.js');

let tmp: { dir: string; cleanup: () => Promise<void> };
let cfg: string;
const running: Daemon[] = [];

beforeAll(async () => {
  tmp = await makeTmpDir();
  cfg = join(tmp.dir, 'collector.yaml');
  // no collectors: the HTTP surface is all this run does
  writeFileSync(cfg, `data_dir: ${tmp.dir}/data\nsinks:\n  file: { dir: ${tmp.dir}/lp }\nmonitor: { interval: 500ms }\n`);
});
afterAll(async () => {
  for (const d of running) await d.stop('SIGKILL');
  await tmp?.cleanup();
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): Daemon {
  const d = startDaemon(process.execPath, [CLI, 'run', '-c', cfg, ...args], { env: { ...process.env, ...env } });
  running.push(d);
  return d;
}

async function healthz(port: number): Promise<number | undefined> {
  return fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => undefined);
}

describe('netvigil run and the HTTP surface', () => {
  it('is off without an http block, and on with --http-listen or NETVIGIL_HTTP_LISTEN (the flag wins)', async () => {
    const off = run([]);
    await waitFor('the run to start', () => off.output().includes('netvigil started'), 10_000);
    expect(off.output()).not.toContain('serving /metrics');
    await off.stop();

    const [flagPort, envPort] = await Promise.all([freeTcpPort(), freeTcpPort()]);
    const flagged = run(['--http-listen', `127.0.0.1:${flagPort}`], { NETVIGIL_HTTP_LISTEN: `127.0.0.1:${envPort}` });
    await waitFor('/healthz on the flag port', async () => (await healthz(flagPort)) === 200, 10_000);
    expect(await healthz(envPort)).toBeUndefined();
    await flagged.stop();
    expect(flagged.proc.exitCode).toBe(0);

    const env = run([], { NETVIGIL_HTTP_LISTEN: `127.0.0.1:${envPort}` });
    await waitFor('/healthz on the env port', async () => (await healthz(envPort)) === 200, 10_000);
    await env.stop();
  }, 30_000);

  it('exits with the address and the cause when the port is taken', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((r) => blocker.listen(0, '127.0.0.1', () => r((blocker.address() as { port: number }).port)));
    try {
      const d = run(['--http-listen', `127.0.0.1:${port}`]);
      await waitFor('the run to exit', () => d.proc.exitCode !== null, 10_000);
      expect(d.proc.exitCode).not.toBe(0);
      expect(d.output()).toContain(`cannot serve HTTP on 127.0.0.1:${port}: the address is already in use`);
    } finally {
      blocker.close();
    }
  }, 20_000);
});
