import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface Daemon {
  proc: ChildProcess;
  pid: number;
  /** Everything the process wrote to stdout and stderr so far (for failure messages). */
  output(): string;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/**
 * Starts a real daemon and keeps its output. `stop` signals it by PID, waits up to graceMs,
 * then SIGKILLs it: a test never leaves a process behind.
 */
export function startDaemon(cmd: string, args: readonly string[], opts: SpawnOptions = {}): Daemon {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    if (out.length < 200_000) out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    if (out.length < 200_000) out += d.toString();
  });
  proc.on('error', (e) => {
    out += `\n[spawn error] ${String(e)}`;
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    pid: proc.pid ?? -1,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}
