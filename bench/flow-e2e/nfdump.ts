/**
 * nfdump's collectors as a second C reference: nfcapd (NetFlow v5/v9/IPFIX, Debian `nfdump`) and
 * sfcapd (sFlow v5, Debian `nfdump-sflow`), pinned to core 0 like every receiver. They keep no
 * live count, so each trial gets a fresh daemon in a fresh directory: the trial's datagrams go in,
 * the bench waits until its socket is empty and it is idle, reads the kernel drops, stops it
 * (SIGTERM closes the file with its statistics) and reads the flow count with `nfdump -I`.
 * Per-trial start-up costs the daemon nothing it is measured on: the sender waits until it is bound.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pinned } from './ipc.js';
import { freePort } from './pmacct.js';
import { udpSocketStats } from './procnet.js';

const run = promisify(execFile);

export class Nfcapd {
  private log = '';

  private constructor(
    readonly daemon: 'nfcapd' | 'sfcapd',
    readonly port: number,
    private readonly dir: string,
    private readonly proc: ChildProcess,
  ) {}

  static async start(daemon: 'nfcapd' | 'sfcapd', rcvbuf: number): Promise<Nfcapd> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), `netvigil-${daemon}-`));
    // -B: the same SO_RCVBUF every receiver asks for; -t: one file for the whole trial
    const [cmd, argv] = pinned(0, daemon, ['-b', '127.0.0.1', '-p', String(port), '-w', dir, '-B', String(rcvbuf), '-t', '3600']);
    const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const n = new Nfcapd(daemon, port, dir, proc);
    const keep = (b: Buffer): void => void (n.log = (n.log + b.toString()).slice(-4000));
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const deadline = Date.now() + 10_000;
    while (!udpSocketStats(port)) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        await n.stop();
        throw new Error(`${daemon} did not come up: ${n.log}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return n;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Stops the daemon and returns the flows it wrote (sum of `nfdump -I` over its files). */
  async finish(): Promise<number> {
    await this.stop(false);
    let flows = 0;
    for (const f of readdirSync(this.dir)) {
      if (!f.startsWith('nfcapd.')) continue;
      const { stdout } = await run('nfdump', ['-r', join(this.dir, f), '-I'], { timeout: 20_000 });
      const m = /^Flows:\s+(\d+)/m.exec(stdout);
      if (!m) throw new Error(`nfdump -I ${f}: no flow count in ${stdout.slice(0, 300)}`);
      flows += Number(m[1]);
    }
    rmSync(this.dir, { recursive: true, force: true });
    return flows;
  }

  /** SIGTERM by PID (the daemon closes its file), SIGKILL after 5 s. */
  async stop(remove = true): Promise<void> {
    const proc = this.proc;
    if (proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    }
    if (remove) rmSync(this.dir, { recursive: true, force: true });
  }

  output(): string {
    return this.log;
  }
}
