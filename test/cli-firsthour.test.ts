/**
 * What a new operator meets in the first hour, through the built CLI as users run it: `--version`,
 * exit codes that say what went wrong (and match the README's table), logs readable on a terminal
 * and JSON elsewhere, `run --demo` producing records, a status page and a file at once, and a
 * shutdown that survives a second signal without losing the interval in progress.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, EXIT_MEANINGS } from '../src/commands/exit-codes.js';
import { CLI, cli } from './helpers/cli.js';
import { buildV5 } from './helpers/flow-build.js';
import { startInfluxd } from './helpers/influxd.js';
import { freeTcpPort, freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';

const ROOT = join(import.meta.dirname, '..');
let tmp: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  tmp = await makeTmpDir();
});
afterAll(async () => tmp?.cleanup());


/** A `netvigil run` in its own process group, its stderr collected. */
function start(args: string[], cwd = tmp.dir) {
  const p = spawn(process.execPath, [CLI, 'run', ...args], { cwd, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => p.on('exit', (code, signal) => r({ code, signal })));
  return { p, exited, err: () => err };
}

const lines = (file: string, measurement: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith(`${measurement},`)) : []);

describe('first contact', () => {
  it('--version names the package version and the Node.js running it', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`netvigil ${pkg.version} (Node.js ${process.versions.node})\n`);
  });

  it('the README lists exactly the exit codes the code uses', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Exit codes'));
    const rows = [...section.slice(0, section.indexOf('\n\n', section.indexOf('| ---'))).matchAll(/^\| `(\d+)` \| (.+) \|$/gm)].map((m) => [Number(m[1]), m[2]]);
    expect(rows).toEqual(Object.entries(EXIT_MEANINGS).map(([c, m]) => [Number(c), m]));
    expect(new Set(Object.values(EXIT)).size).toBe(Object.values(EXIT).length);
  });

  it('exit codes tell a config error, a usage error and a runtime failure apart', async () => {
    const bad = join(tmp.dir, 'bad.yaml');
    writeFileSync(bad, 'telemetry_interval: 10\n');
    expect(cli(['validate', '-c', bad]).code).toBe(EXIT.CONFIG);
    expect(cli(['run', '-c', bad]).code).toBe(EXIT.CONFIG);
    expect(cli(['health', '--log-level', 'loud']).code).toBe(EXIT.CONFIG);
    expect(cli(['run', '--frobnicate']).code).toBe(EXIT.USAGE);
    expect(cli(['validate', '--influx-url']).code).toBe(EXIT.USAGE);
    const empty = join(tmp.dir, 'empty.yaml');
    writeFileSync(empty, 'monitor: { enabled: false }\n');
    const blocker = createServer();
    const port = await new Promise<number>((r) => blocker.listen(0, '127.0.0.1', () => r((blocker.address() as { port: number }).port)));
    try {
      const r = cli(['run', '-c', empty, '--data-dir', join(tmp.dir, 'd1'), '--http-listen', `127.0.0.1:${port}`]);
      expect(r.code).toBe(EXIT.RUNTIME);
      expect(r.err).toContain(`cannot serve HTTP on 127.0.0.1:${port}: the address is already in use`);
    } finally {
      blocker.close();
    }
  });
});

describe('logs', () => {
  const cfg = () => {
    const f = join(tmp.dir, 'quiet.yaml');
    writeFileSync(f, `data_dir: ${tmp.dir}/logs\nsinks: { file: {} }\nmonitor: { interval: 1s }\n`);
    return f;
  };
  async function firstLines(args: string[]): Promise<string> {
    const r = start(['-c', cfg(), ...args]);
    await waitFor('the run to start', () => r.err().includes('netvigil started') || undefined, 15_000);
    process.kill(-r.p.pid!, 'SIGTERM');
    expect((await r.exited).code).toBe(0);
    return r.err();
  }

  it('are JSON lines when stderr is not a terminal, and text with level names on request', async () => {
    const json = await firstLines([]);
    for (const l of json.trim().split('\n')) expect(JSON.parse(l)).toHaveProperty('level');
    const text = await firstLines(['--log-format', 'pretty']);
    expect(text).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}netvigil started collectors=\[\] sinks=\["file"\]/m);
    expect(text).not.toContain('\x1b['); // not a terminal: no colour
    expect(text).not.toMatch(/^\{/m);
  }, 40_000);

  it('are coloured text on a terminal (script(1) gives the run a pseudo-terminal)', async () => {
    if (spawnSync('sh', ['-c', 'command -v script']).status !== 0) throw new Error('script(1) from util-linux is missing');
    const cmd = `timeout -s TERM 6 ${process.execPath} ${CLI} run -c ${cfg()}`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, NO_COLOR: '' } });
    expect(r.stdout).toContain('\x1b[32mINFO \x1b[0m netvigil started');
  }, 30_000);
});

describe('netvigil run --demo', () => {
  it('shows records, the status page and the line-protocol file within seconds', async () => {
    const http = `127.0.0.1:${await freeTcpPort()}`;
    const dir = join(tmp.dir, 'demo');
    const r = start(['--demo', '--data-dir', join(dir, 'data'), '--http-listen', http]);
    const lp = join(dir, 'data', 'lp', 'netvigil.lp');
    try {
      const status = await waitFor('both exporters on the status page', async () => {
        const s = (await fetch(`http://${http}/status.json`).then((x) => x.json(), () => undefined)) as { flow?: { exporters?: { datagrams: number }[] } } | undefined;
        return (s?.flow?.exporters?.length ?? 0) > 0 ? s : undefined;
      }, 20_000, 200);
      expect(status.flow?.exporters?.[0]?.datagrams).toBeGreaterThan(0);
      await waitFor('burst sent', () => r.err().includes('demo: burst sent') || undefined, 20_000, 200);
      await waitFor('flow_agg in the file', () => lines(lp, 'flow_agg').length > 0 || undefined, 10_000, 200);
      // 20 rounds of 5 conversations, once as NetFlow v9 and once as sFlow samples (raw records
      // wait up to a monitor interval for their verdict, so the last ones land a little later)
      const count = () => {
        const flows = lines(lp, 'flow');
        return [flows.filter((l) => l.includes('version=9')).length, flows.filter((l) => l.includes('version=sflow5')).length, lines(lp, 'interface').filter((l) => l.includes('source=sflow')).length];
      };
      await waitFor('every demo record in the file', () => count()[0] === 100 && count()[1] === 100 || undefined, 15_000, 200).catch(() => undefined);
      expect(count()).toEqual([100, 100, 15]);
      expect(r.err()).toMatch(/demo: sending 20 NetFlow v9 and 20 sFlow v5 datagrams/);
    } finally {
      process.kill(-r.p.pid!, 'SIGTERM');
    }
    expect((await r.exited).code).toBe(0);
    // generated, but shaped like a real exporter's: no decode errors, no sequence gaps
    const loss = lines(lp, 'flow_loss');
    expect(loss.length).toBeGreaterThan(0);
    for (const l of loss) expect(l).toContain('lost=0i');
    for (const l of lines(lp, 'flow_stats')) expect(l).not.toMatch(/decode_errors=[1-9]/);
  }, 60_000);
});

describe('shutdown', () => {
  it('a SIGTERM while the collector is still starting stops it once started, with exit 0', async () => {
    const port = await freeUdpPort();
    const cfg = join(tmp.dir, 'early.yaml');
    writeFileSync(cfg, `data_dir: ${tmp.dir}/early\nsinks: { file: {} }\nmonitor: { interval: 1s }\ncollectors:\n  flow: { listen: [{ address: 127.0.0.1, port: ${port} }] }\n`);
    const r = start(['-c', cfg]);
    // The first log line is written while App.start() runs (the flow collector loading its state).
    await waitFor('the first log line', () => r.err().length > 0 || undefined, 15_000, 1);
    process.kill(-r.p.pid!, 'SIGTERM');
    expect(await r.exited).toEqual({ code: 0, signal: null });
    expect(r.err()).toMatch(/"signal":"SIGTERM","msg":"stopping"/);
  }, 30_000);


  it('a second SIGTERM during the flush is ignored and the interval in progress is written', async () => {
    const port = await freeUdpPort();
    const http = `127.0.0.1:${await freeTcpPort()}`;
    const dir = join(tmp.dir, 'twice');
    const cfg = join(tmp.dir, 'twice.yaml');
    // A long interval: the aggregate exists only because shutdown flushes it. A hung InfluxDB
    // (SIGSTOPped) holds the flush open for the write timeout, so the second signal surely lands
    // inside it rather than after a fast flush, while the process is already exiting.
    const influx = await startInfluxd();
    influx.hang();
    writeFileSync(cfg, `data_dir: ${dir}\nshutdown_timeout: 8s\nsinks: { file: {}, influx: { url: "${influx.url}", create_database: false, timeout: 2s } }\nmonitor: { interval: 1s }\ncollectors:\n  flow: { listen: [{ address: 127.0.0.1, port: ${port} }], interval: 10m }\n`);
    const r = start(['-c', cfg, '--http-listen', http]);
    try {
      await waitFor('the run to start', () => r.err().includes('netvigil started') || undefined, 15_000);
      const s = createSocket('udp4');
      const secs = Math.floor(Date.now() / 1000);
      const d = buildV5({ uptime: 60_000, secs, seq: 1 }, [{ src: '10.1.2.3', dst: '192.0.2.7', input: 4, output: 6, packets: 9, bytes: 9000, first: 59_000, last: 59_500, srcPort: 1234, dstPort: 80, proto: 6 }]);
      await new Promise<void>((res, rej) => s.send(d, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
      s.close();
      await waitFor('the datagram counted', async () => {
        const st = (await fetch(`http://${http}/status.json`).then((x) => x.json(), () => undefined)) as { flow?: { exporters?: { datagrams: number }[] } } | undefined;
        return (st?.flow?.exporters?.[0]?.datagrams ?? 0) >= 1 || undefined;
      }, 10_000, 100);
      process.kill(-r.p.pid!, 'SIGTERM');
      // The second one as soon as the first is being handled, so it lands inside the flush.
      await waitFor('stopping', () => r.err().includes('"stopping"') || undefined, 5_000, 1);
      process.kill(-r.p.pid!, 'SIGTERM');
    } catch (e) {
      process.kill(-r.p.pid!, 'SIGKILL');
      await influx.cleanup();
      throw e;
    }
    const exited = await r.exited;
    await influx.cleanup();
    expect(exited).toEqual({ code: 0, signal: null });
    expect(r.err()).toContain('already stopping');
    const agg = lines(join(dir, 'lp', 'netvigil.lp'), 'flow_agg');
    expect(agg.join('\n')).toMatch(/in_if=4,out_if=6,proto=6 bytes=9000i,packets=9i/);
  }, 40_000);
});
