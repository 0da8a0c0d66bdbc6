/**
 * `netvigil run` reloads on SIGHUP, observed from outside through /status.json: the built CLI in a
 * child process, a valid new config applied (flow listener moved, trap receiver added), then a broken
 * one rejected with its error logged while the running config keeps receiving datagrams.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildV5 } from './helpers/flow-build.js';
import { freeTcpPort, freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { startDaemon, type Daemon } from './helpers/proc.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'src', 'cli.js');

interface Json {
  collectors: string[];
  flow: { listeners: { port: number }[]; exporters: { exporter: string; datagrams: number }[] } | null;
  snmptrap: { received: number } | null;
}

let tmp: { dir: string; cleanup: () => Promise<void> };
let run: Daemon | undefined;
const sock = createSocket('udp4');

beforeAll(async () => {
  tmp = await makeTmpDir();
});
afterAll(async () => {
  sock.close();
  await run?.stop('SIGKILL');
  await tmp?.cleanup();
});

function config(httpPort: number, collectors: string): string {
  return `data_dir: ${tmp.dir}/data
log_level: info
http: { listen: "127.0.0.1:${httpPort}" }
sinks:
  file: { dir: ${tmp.dir}/lp }
monitor: { interval: 500ms }
collectors:
${collectors}`;
}

async function status(base: string): Promise<Json> {
  return (await (await fetch(`${base}/status.json`)).json()) as Json;
}

let seq = 0;
async function sendTo(port: number): Promise<void> {
  const d = buildV5({ uptime: 100_000, secs: Math.floor(Date.now() / 1000), seq: seq++ }, [
    { src: '10.1.0.1', dst: '10.2.0.1', packets: 1, bytes: 60, first: 99_000, last: 99_900, srcPort: 1, dstPort: 2, proto: 17 },
  ]);
  await new Promise<void>((r, j) => sock.send(d, port, '127.0.0.1', (e) => (e ? j(e) : r())));
}

const datagrams = (j: Json): number => j.flow?.exporters.find((e) => e.exporter === '127.0.0.1')?.datagrams ?? 0;

describe('netvigil run: SIGHUP', () => {
  it('applies a valid new config, and rejects a broken one with the error logged while the old one keeps running', async () => {
    const [httpPort, portA, portB, trapPort] = await Promise.all([freeTcpPort(), freeUdpPort(), freeUdpPort(), freeUdpPort()]);
    const file = join(tmp.dir, 'collector.yaml');
    const base = `http://127.0.0.1:${httpPort}`;
    writeFileSync(file, config(httpPort, `  flow: { listen: [{ address: 127.0.0.1, port: ${portA} }], interval: 1s }\n`));
    const proc = startDaemon(process.execPath, [CLI, 'run', '-c', file]);
    run = proc;

    const first = await waitFor('the status page with the first config', () => status(base).catch(() => undefined), 15_000, 100);
    expect(first.collectors).toEqual(['flow']);
    expect(first.flow?.listeners.map((l) => l.port)).toEqual([portA]);
    await sendTo(portA);
    await waitFor('a datagram on the first port', async () => datagrams(await status(base)) === 1);

    // valid: the flow listener moves to another port and a trap receiver is added
    writeFileSync(
      file,
      config(httpPort, `  flow: { listen: [{ address: 127.0.0.1, port: ${portB} }], interval: 1s }\n  snmptrap: { address: 127.0.0.1, port: ${trapPort}, communities: [public] }\n`),
    );
    proc.proc.kill('SIGHUP');
    const applied = await waitFor('the new config in /status.json', async () => {
      const j = await status(base);
      return j.flow?.listeners[0]?.port === portB && j.snmptrap ? j : undefined;
    }, 10_000, 100);
    expect([...applied.collectors].sort()).toEqual(['flow', 'snmptrap']);
    // the status shows the new collectors as soon as they run; the log line follows when reload() resolves
    const reloaded = await waitFor('the reload in the log', () => proc.output().split('\n').find((l) => l.includes('"msg":"config reloaded"')), 10_000, 50);
    expect(reloaded).toMatch(/"changes":\["reloaded flow","started snmptrap"\]/);
    await sendTo(portB);
    await waitFor('a datagram on the new port', async () => datagrams(await status(base)) === 2);

    // broken: a port that is not a number and a misspelt key; nothing of it may be applied
    const logBefore = proc.output().length;
    writeFileSync(file, config(httpPort, `  flow: { listen: [{ address: 127.0.0.1, port: "${portA}x" }], intervall: 1s }\n`));
    proc.proc.kill('SIGHUP');
    const rejected = await waitFor('the rejection in the log', () => {
      const line = proc.output().slice(logBefore).split('\n').find((l) => l.includes('new config rejected'));
      return line ? (JSON.parse(line) as { level: number; err: string }) : undefined;
    }, 10_000, 50);
    expect(rejected.level).toBe(50); // pino's error level
    // both problems at once, each with file, line (the flow block is line 8), column and key
    const problems = rejected.err.split('\n');
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(new RegExp(`^${file}:8:\\d+: collectors\\.flow\\.listen\\[0\\]\\.port: expected number`));
    expect(problems[1]).toMatch(new RegExp(`^${file}:8:\\d+: collectors\\.flow\\.intervall: unknown key`));

    const kept = await status(base);
    expect([...kept.collectors].sort()).toEqual(['flow', 'snmptrap']);
    expect(kept.flow?.listeners.map((l) => l.port)).toEqual([portB]);
    await sendTo(portB);
    await waitFor('the old listener still answers', async () => datagrams(await status(base)) === 3);

    await proc.stop('SIGTERM');
    expect(proc.proc.exitCode).toBe(0);
    expect(proc.output()).toMatch(/netvigil stopped/);
  }, 45_000);
});
