/**
 * Debian's C collectors as the reference receiver: nfacctd (v9/IPFIX) or sfacctd (sFlow), pinned
 * to core 0 (its core process and memory plugin inherit the affinity), aggregating into the
 * in-memory table by the same dimensions netvigil aggregates by by default (exporter, in/out
 * interface, protocol). What it processed is read back from that table with the `pmacct` client:
 * the sum of `packets` over all entries, compared with the packets the sender put on the wire.
 * That catches a loss anywhere in pmacct (core process or the core -> plugin queue); kernel drops
 * on its socket are read from /proc/net/udp by the bench like for every receiver.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pinned } from './ipc.js';
import { udpSocketStats } from './procnet.js';

const run = promisify(execFile);
const PIPE = 64 * 1024 * 1024;
/**
 * A partly filled hand-over buffer waits for more data, so the last records of a run sit in the
 * core process until something pushes them: the bench sends this many datagrams from a second
 * exporter after each run, and counts only the first exporter's packets.
 */
export const FLUSH_DATAGRAMS = 600;

/** A free loopback port: bind 0, read it, release it (pmacct needs a number in its config). */
export async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export class Pmacct {
  private proc: ChildProcess | undefined;
  private log = '';
  /** "We are missing data": the plugin found a gap in the core -> plugin queue (an overrun). */
  missing = 0;

  private constructor(
    readonly daemon: 'nfacctd' | 'sfacctd',
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(daemon: 'nfacctd' | 'sfacctd', rcvbuf: number): Promise<Pmacct> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), `netvigil-${daemon}-`));
    const p = new Pmacct(daemon, port, dir);
    const k = daemon;
    writeFileSync(
      join(dir, 'pmacct.conf'),
      [
        'daemonize: false',
        `${k}_ip: 127.0.0.1`,
        `${k}_port: ${port}`,
        // the same SO_RCVBUF the Node receivers ask for (the kernel caps all at rmem_max alike)
        `${k}_pipe_size: ${rcvbuf}`,
        'plugins: memory[m]',
        'aggregate[m]: peer_src_ip, in_iface, out_iface, proto',
        `imt_path[m]: ${join(dir, 'imt.pipe')}`,
        // pmacct's advice for heavy load (CONFIG-KEYS): a large core -> plugin queue, handed over in
        // buffers of 1/1000 of it (unbuffered, every record would be its own hand-over)
        `plugin_pipe_size[m]: ${PIPE}`,
        `plugin_buffer_size[m]: ${PIPE / 1000}`,
        '',
      ].join('\n'),
    );
    const [cmd, argv] = pinned(0, daemon, ['-f', join(dir, 'pmacct.conf')]);
    p.proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => {
      const text = b.toString();
      p.missing += text.split('missing data').length - 1;
      p.log = (p.log + text).slice(-4000);
    };
    p.proc.stdout?.on('data', keep);
    p.proc.stderr?.on('data', keep);
    // ready when its socket is bound and the memory plugin answers queries
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (p.proc.exitCode !== null) throw new Error(`${daemon} exited: ${p.log}`);
      if (udpSocketStats(port) && (await p.packets().catch(() => -1)) >= 0) return p;
      if (Date.now() > deadline) {
        await p.stop();
        throw new Error(`${daemon} did not come up: ${p.log}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Sum of packets from one exporter over the memory table (cumulative since start). */
  async packets(exporter = '127.0.0.1'): Promise<number> {
    const { stdout } = await run('pmacct', ['-p', join(this.dir, 'imt.pipe'), '-s', '-O', 'json'], { timeout: 10_000, maxBuffer: 64 << 20 });
    let sum = 0;
    for (const line of stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const o = JSON.parse(line) as { packets?: unknown; peer_ip_src?: unknown };
      if (typeof o.packets === 'number' && o.peer_ip_src === exporter) sum += o.packets;
    }
    return sum;
  }

  /** The daemon's core process (taskset execs it); its plugin is a child of it. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  output(): string {
    return this.log;
  }

  /** SIGTERM by PID, SIGKILL after 3 s; removes its directory. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
