/**
 * deploy/systemd/netvigil.service: Debian's `systemd-analyze verify` loads it the way systemd would
 * and `systemd-analyze security --offline` scores its sandbox; then the unit's own ExecStart, with
 * its Environment lines, runs the built CLI (paths moved from /opt and /etc into a temp dir) and
 * gets its ExecReload and KillSignal: SIGHUP reloads without stopping, SIGTERM ends it with exit 0
 * inside TimeoutStopSec. No systemd runs as PID 1 here, so the sandbox itself is not exercised.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeTcpPort, freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';

const ROOT = join(import.meta.dirname, '..');
const UNIT = join(ROOT, 'deploy', 'systemd', 'netvigil.service');
const text = readFileSync(UNIT, 'utf8');
const run = promisify(execFile);
const hasAnalyze = existsSync('/usr/bin/systemd-analyze');
let tmp: { dir: string; cleanup: () => Promise<void> };

/** Key=value lines of the unit; a key given twice keeps every value. */
function directives(): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const x = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (x) m.set(x[1] as string, [...(m.get(x[1] as string) ?? []), x[2] as string]);
  }
  return m;
}

beforeAll(async () => {
  tmp = await makeTmpDir();
  copyFileSync(UNIT, join(tmp.dir, 'netvigil.service'));
});
afterAll(async () => tmp?.cleanup());

describe('systemd unit', () => {
  it.skipIf(!hasAnalyze)('passes systemd-analyze verify and scores OK on security', async () => {
    const v = await run('systemd-analyze', ['verify', './netvigil.service'], { cwd: tmp.dir });
    expect(v.stderr).toBe('');
    const s = await run('systemd-analyze', ['security', '--offline=true', './netvigil.service'], { cwd: tmp.dir });
    const level = Number(/Overall exposure level for netvigil\.service: ([\d.]+)/.exec(s.stdout)?.[1]);
    // 0 is fully locked down, 10 is a default unit; up to 3.9 is "OK" by systemd's own scale
    expect(level).toBeLessThanOrEqual(2.0);
    expect(s.stdout).toMatch(/✓ NoNewPrivileges=/);
    expect(s.stdout).toMatch(/✓ ProtectSystem=\s+Service has strict read-only access/);
  });

  it('runs as a dedicated user with only CAP_NET_BIND_SERVICE, and sysusers creates that user', () => {
    const d = directives();
    expect(d.get('User')).toEqual(['netvigil']);
    expect(d.get('AmbientCapabilities')).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(d.get('CapabilityBoundingSet')).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(d.get('ProtectSystem')).toEqual(['strict']);
    expect(d.get('StateDirectory')).toEqual(['netvigil']);
    // V8 needs writable+executable pages: this setting would make node abort at start
    expect(d.has('MemoryDenyWriteExecute')).toBe(false);
    const sysusers = readFileSync(join(ROOT, 'deploy', 'systemd', 'netvigil.sysusers'), 'utf8');
    expect(sysusers).toMatch(/^u netvigil - "[^"]+" \/var\/lib\/netvigil \/usr\/sbin\/nologin$/m);
  });

  it('its ExecStart and Environment start the collector; SIGHUP reloads, SIGTERM stops it with 0', async () => {
    const d = directives();
    const cli = join(ROOT, 'dist', 'src', 'cli.js');
    expect(existsSync(cli), 'npm run build first').toBe(true);
    const [exe, ...args] = (d.get('ExecStart')?.[0] ?? '').split(' ').map((a) => a.replace('/opt/netvigil', ROOT));
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    for (const e of d.get('Environment') ?? []) {
      const [k, v] = e.split(/=(.*)/s) as [string, string];
      env[k] = v.replace('/etc/netvigil', tmp.dir).replace('/var/lib/netvigil', join(tmp.dir, 'state'));
    }
    expect(env.NETVIGIL_CONFIG).toBe(join(tmp.dir, 'collector.yaml'));
    const [flow, http] = await Promise.all([freeUdpPort(), freeTcpPort()]);
    writeFileSync(env.NETVIGIL_CONFIG as string, `sinks: { file: { enabled: true } }\nmonitor: { enabled: false }\ncollectors:\n  flow: { listen: [{ address: 127.0.0.1, port: ${flow} }] }\nhttp: { listen: "127.0.0.1:${http}" }\n`);
    const child = spawn(exe as string, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (b: Buffer) => (log += String(b)));
    child.stderr.on('data', (b: Buffer) => (log += String(b)));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await waitFor('the collector serving /healthz', async () => (await fetch(`http://127.0.0.1:${http}/healthz`).catch(() => undefined))?.ok, 20_000, 200);
      expect(d.get('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
      child.kill('SIGHUP');
      await waitFor('the reload logged', () => log.includes('config reloaded'), 10_000);
      expect((await fetch(`http://127.0.0.1:${http}/healthz`)).ok).toBe(true);
      expect(d.get('KillSignal')).toEqual(['SIGTERM']);
      const t0 = Date.now();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(Number(/^(\d+)$/.exec(d.get('TimeoutStopSec')?.[0] ?? '')?.[1]) * 1000);
      expect(existsSync(join(tmp.dir, 'state'))).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 40_000);
});
