/**
 * Real exporters whose clock is wrong: Debian's libfaketime preloaded into softflowd or pmacctd
 * changes what time()/gettimeofday()/clock_gettime() return to them (FAKETIME="+90s", "-1h", or
 * "+0 x1.02" for a clock running 2 % fast). Their export headers carry that clock. Packet times
 * from libpcap (file or kernel) are not faked, so flows read from a capture keep the true times.
 */
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './proc.js';

export const FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

export function faketimeEnv(spec: string): NodeJS.ProcessEnv {
  return { ...process.env, LD_PRELOAD: FAKETIME_LIB, FAKETIME: spec };
}

async function exited(d: Daemon, limitMs: number): Promise<void> {
  const done = new Promise<void>((r) => (d.proc.exitCode !== null ? r() : d.proc.once('exit', () => r())));
  const limit = setTimeout(() => void d.stop('SIGTERM', 2000), limitMs);
  await done;
  clearTimeout(limit);
}

/** softflowd over a pcap file under FAKETIME `spec`, exporting to 127.0.0.1:`port`; returns its output. */
export async function skewedSoftflowd(spec: string, pcap: string, version: '5' | '9' | '10', port: number, dir: string): Promise<string> {
  const d = startDaemon('softflowd', ['-r', pcap, '-v', version, '-d', '-c', 'none', '-p', join(dir, `sfd-${version}.pid`), '-n', `127.0.0.1:${port}`], { env: faketimeEnv(spec) });
  await exited(d, 20_000);
  return d.output();
}

/** pmacctd's nfprobe over a pcap file under FAKETIME `spec` (it sleeps 2 s before reading). */
export async function skewedNfprobe(spec: string, pcap: string, version: '9' | '10', port: number, dir: string): Promise<string> {
  const conf = join(dir, `nfprobe-${version}.conf`);
  writeFileSync(conf, ['daemonize: false', `pcap_savefile: ${pcap}`, 'aggregate: src_host, dst_host, src_port, dst_port, proto, tos', 'plugins: nfprobe',
    `nfprobe_receiver: 127.0.0.1:${port}`, `nfprobe_version: ${version}`, 'nfprobe_timeouts: tcp=1:maxlife=1:general=1:udp=1:expint=1', ''].join('\n'));
  const d = startDaemon('pmacctd', ['-f', conf], { env: faketimeEnv(spec) });
  await exited(d, 30_000);
  return d.output();
}

/**
 * softflowd capturing on `lo` (UDP to `trafficPort`, which we send for `ms`) under FAKETIME `spec`,
 * exporting NetFlow v5 to `port`. A small capture buffer (-B): with libpcap's default the capture
 * blocks until megabytes arrived. It expires flows every ~5 s (its shortest timeouts).
 */
export async function liveSkewedSoftflowd(spec: string, port: number, trafficPort: number, ms: number, dir: string): Promise<string> {
  const d = startDaemon('softflowd', ['-i', 'lo', '-B', '16384', '-v', '5', '-d', '-c', 'none', '-p', join(dir, 'sfd-live.pid'), '-n', `127.0.0.1:${port}`,
    '-t', 'maxlife=1', '-t', 'expint=1', '-t', 'general=1', '-t', 'udp=1', `udp and dst port ${trafficPort}`], { env: faketimeEnv(spec) });
  const sock = createSocket('udp4');
  const payload = Buffer.alloc(1000);
  const end = Date.now() + ms;
  try {
    await new Promise((r) => setTimeout(r, 500));
    let i = 0;
    // bounded: 100 datagrams a second to one loopback port, for `ms`
    while (Date.now() < end) {
      sock.send(payload, trafficPort, '127.0.0.1');
      if (++i % 10 === 0) await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    sock.close();
    await d.stop('SIGTERM', 3000);
  }
  return d.output();
}
