/**
 * One process per data directory: a second `netvigil run` on the same data_dir refuses to start
 * (it would replay the same spool and overwrite the aggregation checkpoint), and a lock left by a
 * killed process is taken over. Real processes (the built CLI, and `sleep` as a live foreign pid).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_FILE, lockDataDir } from '../src/datadir-lock.js';
import { makeTmpDir, waitFor } from './helpers/net.js';
import { startDaemon } from './helpers/proc.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'src', 'cli.js');
let tmp: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-lock-');
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe('data directory lock', () => {
  it('refuses a directory a live process holds and takes over one whose process is gone', async () => {
    const sleeper = spawn('sleep', ['30']);
    try {
      writeFileSync(join(tmp.dir, LOCK_FILE), `${sleeper.pid} ${hostname()}\n`);
      expect(() => lockDataDir(tmp.dir)).toThrow(new RegExp(`in use by netvigil pid ${sleeper.pid}`));
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((r) => sleeper.once('exit', r));
    }
    const release = lockDataDir(tmp.dir); // the holder is dead now
    expect(readFileSync(join(tmp.dir, LOCK_FILE), 'utf8')).toBe(`${process.pid} ${hostname()}\n`);
    release();
    expect(() => readFileSync(join(tmp.dir, LOCK_FILE))).toThrow(/ENOENT/);
  });

  it('a second netvigil run on the same data_dir exits with the reason; the first keeps running', async () => {
    const cfg = join(tmp.dir, 'nv.yaml');
    writeFileSync(cfg, `data_dir: ${join(tmp.dir, 'data')}\nsinks: { file: { dir: ${join(tmp.dir, 'lp')} } }\nmonitor: { enabled: false }\n`);
    const first = startDaemon(process.execPath, [CLI, 'run', '-c', cfg]);
    try {
      await waitFor('first started', () => first.output().includes('netvigil started'), 15_000);
      const second = startDaemon(process.execPath, [CLI, 'run', '-c', cfg]);
      await waitFor('second exits', () => second.proc.exitCode !== null, 15_000);
      expect(second.proc.exitCode).not.toBe(0);
      expect(second.output()).toMatch(new RegExp(`data_dir .* is in use by netvigil pid ${first.pid}`));
      expect(first.proc.exitCode).toBeNull();
    } finally {
      await first.stop('SIGTERM', 8000);
    }
    expect(first.proc.exitCode).toBe(0);
    expect(() => readFileSync(join(tmp.dir, 'data', LOCK_FILE))).toThrow(/ENOENT/);
  }, 40_000);
});
