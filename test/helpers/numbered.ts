/**
 * Numbered flows and a `netvigil run` process for delivery tests. The flows are GENERATED NetFlow v5
 * datagrams (RFC-layout builder, flow-build.ts), not an exporter's capture: each flow's `bytes` is its
 * number (1, 2, 3, ...), so what InfluxDB holds can be checked flow by flow, and a sum of `bytes` in
 * an aggregate is a sum of numbers. The collector is the built CLI (`dist/src/cli.js run`), in its own
 * process group, signalled by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildV5 } from './flow-build.js';
import { waitFor } from './net.js';
import type { Influxd } from './influxd.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'src', 'cli.js');

export class NumberedFlows {
  /** Numbers of the flows sent, 1-based and consecutive. */
  sent = 0;
  private seq = 0;
  private readonly boot = Date.now() - 3_600_000;
  private readonly sock: Socket = createSocket('udp4');
  constructor(private readonly port: number, private readonly perDatagram = 30) {}

  /** Sends `count` more flows, a datagram every `gapMs` (bounded rate: loopback UDP drops nothing then). */
  async send(count: number, gapMs = 2): Promise<void> {
    for (let left = count; left > 0; ) {
      const n = Math.min(this.perDatagram, left);
      const now = Date.now(); // one reading: header time and uptime must agree
      const uptime = now - this.boot;
      const flows = [];
      for (let i = 0; i < n; i++) {
        const id = ++this.sent;
        flows.push({ src: `10.${(id >> 16) & 255}.${(id >> 8) & 255}.${id & 255}`, dst: '192.0.2.1', packets: 1, bytes: id, first: uptime - 20, last: uptime - 10, srcPort: 1024 + (id % 60_000), dstPort: 443, proto: 6 });
      }
      const d = buildV5({ uptime, secs: Math.floor(now / 1000), nsecs: (now % 1000) * 1e6, seq: this.seq }, flows);
      this.seq += n;
      await new Promise<void>((res, rej) => this.sock.send(d, this.port, '127.0.0.1', (e) => (e ? rej(e) : res())));
      left -= n;
      if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    }
  }

  close(): void {
    this.sock.close();
  }
}

export interface Run {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  err(): string;
  signal(sig: NodeJS.Signals): void;
}

export async function startRun(config: string, cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  const proc = spawn(process.execPath, [CLI, 'run', '-c', config], { cwd, env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  const run: Run = { proc, exited, err: () => err, signal: (sig) => void (proc.exitCode === null && proc.signalCode === null && process.kill(-(proc.pid ?? 0), sig)) };
  await waitFor(`netvigil started\n${err}`, () => {
    if (proc.exitCode !== null) throw new Error(`netvigil exited ${proc.exitCode}: ${err}`);
    return err.includes('netvigil started') || undefined;
  }, 20_000);
  return run;
}

/** Flow numbers (the `bytes` field) of raw `flow` points in a spool directory's batch files. */
export function spooledFlowIds(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const ids: number[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.lp')).sort()) {
    for (const l of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const m = l.startsWith('flow,') ? /[ ,]bytes=(\d+)i/.exec(l) : null;
      if (m) ids.push(Number(m[1]));
    }
  }
  return ids;
}

/** Flow numbers of every raw `flow` point InfluxDB holds (one per point: a duplicate shows twice). */
export async function storedFlowIds(influx: Influxd, db: string): Promise<number[]> {
  const s = await influx.query(db, 'SELECT "bytes" FROM "flow"');
  return (s[0]?.values ?? []).map((v) => Number(v[1]));
}

/** 1..n missing from `ids`, and numbers present more than once. */
export function compareIds(ids: readonly number[], n: number): { missing: number[]; duplicates: number[]; foreign: number[] } {
  const seen = new Map<number, number>();
  for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
  const missing: number[] = [];
  for (let i = 1; i <= n; i++) if (!seen.has(i)) missing.push(i);
  return { missing, duplicates: [...seen].filter(([, c]) => c > 1).map(([id]) => id), foreign: [...seen.keys()].filter((id) => id < 1 || id > n) };
}
