/**
 * Runs Debian's pmacctd with the sfprobe plugin over a pcap file, as a real sFlow v5 exporter for
 * the tests, and collects what it sends on a loopback UDP socket of our own.
 */
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon } from './proc.js';

export interface SfprobeRun {
  datagrams: Uint8Array[];
  /** pmacctd's own log, for failure messages. */
  output: string;
  exitCode: number | null;
}

/**
 * pmacctd reads the savefile (after its fixed 2 s start-up sleep), exports one flow sample per
 * packet at sampling_rate 1, and exits when the file is done. We wait for the exit (bounded by
 * `timeoutMs`, then SIGTERM by PID) and a short grace period for the last datagram to arrive.
 * `extra`: more pmacctd config lines; `until`: stopped (SIGTERM) once a datagram satisfies it.
 */
export async function runSfprobe(opts: {
  dir: string;
  pcapPath: string;
  agentIp?: string;
  subAgentId?: number;
  timeoutMs?: number;
  extra?: string[];
  until?: (datagram: Uint8Array) => boolean;
}): Promise<SfprobeRun> {
  const sock = createSocket('udp4');
  const datagrams: Uint8Array[] = [];
  let met: () => void = () => {};
  const done = new Promise<'met'>((resolve) => (met = () => resolve('met')));
  sock.on('message', (m) => {
    if (datagrams.length < 10_000) datagrams.push(new Uint8Array(m));
    if (opts.until?.(m)) met();
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve());
  });
  const port = sock.address().port;
  const conf = join(opts.dir, `pmacctd-${port}.conf`);
  writeFileSync(
    conf,
    [
      'daemonize: false',
      `pcap_savefile: ${opts.pcapPath}`,
      'plugins: sfprobe',
      `sfprobe_receiver: 127.0.0.1:${port}`,
      `sfprobe_agentip: ${opts.agentIp ?? '127.0.0.1'}`,
      `sfprobe_agentsubid: ${opts.subAgentId ?? 0}`,
      'sampling_rate: 1',
      ...(opts.extra ?? []),
      '',
    ].join('\n'),
  );
  const d = startDaemon('pmacctd', ['-f', conf], { cwd: opts.dir });
  const exited = new Promise<void>((resolve) => {
    if (d.proc.exitCode !== null) resolve();
    d.proc.once('exit', () => resolve());
  });
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), opts.timeoutMs ?? 20_000).unref());
  try {
    if ((await Promise.race([exited, timeout, done])) !== undefined) await d.stop();
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await d.stop();
    await new Promise<void>((resolve) => sock.close(() => resolve()));
  }
  return { datagrams, output: d.output(), exitCode: d.proc.exitCode };
}
