/**
 * The CLI as users run it: the built binary (`npm test` builds first) in a child process; and the
 * problems a config error lists, for tests of the loader.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { waitFor } from './net.js';
import { startDaemon, type Daemon } from './proc.js';

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'src', 'cli.js');

export function cli(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** What `fn` threw as a ConfigError's problems; fails the test if it threw nothing or something else. */
export function configProblems(fn: () => unknown): ConfigError['problems'] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

/** `netvigil run -c cfg` as a daemon (stopped by PID through `running`), once it has logged its start. */
export async function startRun(cfg: string, running: Daemon[]): Promise<Daemon> {
  const d = startDaemon(process.execPath, [CLI, 'run', '-c', cfg]);
  running.push(d);
  await waitFor(`netvigil started\n${d.output()}`, () => d.output().includes('netvigil started'), 15_000);
  return d;
}
