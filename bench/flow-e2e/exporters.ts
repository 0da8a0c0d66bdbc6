/**
 * Builds the replayed captures from REAL exporters: softflowd 1.1 (NetFlow v5/v9/IPFIX, -r) and
 * pmacctd (nfprobe v9/IPFIX, sfprobe sFlow v5, pcap_savefile) read the synthesised traffic of
 * traffic.ts and export to a loopback port; dumpcap records those datagrams off `lo` into a pcap.
 * Nothing here is committed: the files go to a cache directory keyed by mix, size and seed, and
 * are made again the same way when missing. A capture with a sequence gap (dumpcap or the kernel
 * dropped an export) is refused, so every replay is the exporter's complete output.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyse, readUdpPcap, type CaptureStats } from './capture.js';
import { writeTraffic, type MixKind, type TrafficSummary } from './traffic.js';

export const EXPORTERS = ['softflowd-v5', 'softflowd-v9', 'softflowd-ipfix', 'nfprobe-v9', 'nfprobe-ipfix', 'sfprobe-sflow'] as const;
export type Exporter = (typeof EXPORTERS)[number];

/** Bumped when traffic.ts or an exporter's settings change, so stale cached captures are not used. */
const GENERATION = 1;

export interface Mix {
  kind: MixKind;
  conversations: number;
  seed: number;
  /** One conversation in N over IPv6 (16 when absent; 0 none, 1 all). */
  ipv6Every?: number;
}

export interface BuiltCapture {
  exporter: Exporter;
  /** pcap of the exporter's datagrams as dumpcap saw them on lo. */
  file: string;
  stats: CaptureStats;
  traffic: TrafficSummary;
}

/** `cache`: FLOW_REAL_CACHE, else netvigil-flow-real in the temp dir. */
export function mixDir(m: Mix, cache = process.env['FLOW_REAL_CACHE'] ?? join(tmpdir(), 'netvigil-flow-real')): string {
  const v6 = m.ipv6Every === undefined || m.ipv6Every === 16 ? '' : `-v6every${m.ipv6Every}`;
  return join(cache, `${m.kind}-${m.conversations}-seed${m.seed}${v6}-g${GENERATION}`);
}

interface Proc {
  done: Promise<number | null>;
  output: () => string;
  stop: () => void;
}

function start(cmd: string, args: string[], cwd: string): Proc {
  const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => void (out = (out + d.toString()).slice(-8000));
  p.stdout.on('data', keep);
  p.stderr.on('data', keep);
  const done = new Promise<number | null>((resolve) => {
    p.once('error', (e) => ((out += String(e)), resolve(-1)));
    p.once('exit', (code) => resolve(code));
  });
  return { done, output: () => out, stop: () => void (p.exitCode === null && p.signalCode === null && p.kill('SIGTERM')) };
}

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exporterCommand(e: Exporter, traffic: string, port: number, dir: string): [string, string[]] {
  if (e.startsWith('softflowd')) {
    const v = e === 'softflowd-v5' ? '5' : e === 'softflowd-v9' ? '9' : '10';
    // -c none: softflowd 1.1.0 hangs after the file with a long control-socket path (test/helpers)
    return ['softflowd', ['-r', traffic, '-v', v, '-d', '-c', 'none', '-p', join(dir, 'softflowd.pid'), '-n', `127.0.0.1:${port}`]];
  }
  const conf = join(dir, `${e}.conf`);
  const lines = ['daemonize: false', `pcap_savefile: ${traffic}`];
  if (e === 'sfprobe-sflow') {
    // one flow sample per packet (sampling_rate 1), agent 127.0.0.1 as the replay's exporter
    lines.push('plugins: sfprobe', `sfprobe_receiver: 127.0.0.1:${port}`, 'sfprobe_agentip: 127.0.0.1', 'sampling_rate: 1');
  } else {
    lines.push('aggregate: src_host, dst_host, src_port, dst_port, proto, tos', 'plugins: nfprobe', `nfprobe_receiver: 127.0.0.1:${port}`, `nfprobe_version: ${e === 'nfprobe-v9' ? 9 : 10}`);
  }
  writeFileSync(conf, lines.join('\n') + '\n');
  return ['pmacctd', ['-f', conf]];
}

/** Runs one exporter over the traffic file and records its datagrams; returns the pcap path. */
async function record(e: Exporter, traffic: string, dir: string): Promise<string> {
  // a socket on the port, so the exporter's sends are not answered with ICMP port unreachable
  const sink = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  sink.on('message', () => undefined);
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', () => resolve()));
  const port = sink.address().port;
  const tmp = join(dir, `${e}.part.pcap`);
  // -B: a 256 MiB kernel capture buffer; -P: classic pcap
  const cap = start('dumpcap', ['-i', 'lo', '-f', `udp dst port ${port}`, '-w', tmp, '-P', '-q', '-B', '256'], dir);
  try {
    await until('dumpcap to start', () => cap.output().includes('Capturing on'), 15_000);
    // "Capturing on" comes a moment before the filter is attached (a capture came out empty)
    await new Promise((r) => setTimeout(r, 1000));
    const [cmd, args] = exporterCommand(e, traffic, port, dir);
    const ex = start(cmd, args, dir);
    const limit = setTimeout(ex.stop, 300_000);
    const code = await ex.done;
    clearTimeout(limit);
    if (code !== 0) throw new Error(`${cmd} exited with ${code}: ${ex.output().slice(-600)}`);
    // the last datagrams reach dumpcap a moment after the exporter exits
    await new Promise((r) => setTimeout(r, 800));
  } finally {
    cap.stop();
    await cap.done;
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  }
  const m = /dropped on interface '?lo'?: (\d+)\/(\d+)/.exec(cap.output());
  if (m && m[2] !== '0') throw new Error(`dumpcap dropped ${m[2]} of ${m[1]} exports of ${e}`);
  const file = join(dir, `${e}.pcap`);
  renameSync(tmp, file);
  return file;
}

/**
 * The traffic file and the capture of each wanted exporter, built when not cached. A capture is
 * checked with capture.ts (sequence numbers without a gap, every datagram decodable) before use.
 */
export async function buildCaptures(mix: Mix, exporters: readonly Exporter[], log: (s: string) => void = () => undefined, cache?: string): Promise<BuiltCapture[]> {
  const dir = mixDir(mix, cache);
  mkdirSync(dir, { recursive: true });
  const trafficFile = join(dir, 'traffic.pcap');
  const summaryFile = join(dir, 'traffic.json');
  if (!existsSync(summaryFile)) {
    const t0 = Date.now();
    const s = writeTraffic(trafficFile, mix.kind, mix.conversations, mix.seed, mix.ipv6Every ?? 16);
    writeFileSync(summaryFile, JSON.stringify(s));
    log(`traffic ${mix.kind} x ${mix.conversations} (seed ${mix.seed}): ${s.packets} packets in ${Date.now() - t0} ms -> ${trafficFile}`);
  }
  const traffic = JSON.parse(readFileSync(summaryFile, 'utf8')) as TrafficSummary;
  const out: BuiltCapture[] = [];
  for (const e of exporters) {
    let file = join(dir, `${e}.pcap`);
    let stats: CaptureStats | undefined;
    for (let attempt = 0; !stats; attempt++) {
      if (!existsSync(file)) {
        const t0 = Date.now();
        file = await record(e, trafficFile, dir);
        log(`capture ${e}: ${Date.now() - t0} ms -> ${file}`);
      }
      try {
        stats = analyse(readUdpPcap(readFileSync(file))).stats;
      } catch (err) {
        // kept beside the cache for a look with tshark; never replayed
        renameSync(file, file.replace(/\.pcap$/, '.refused.pcap'));
        if (attempt >= 1) throw err;
        log(`capture ${e} refused, recording again: ${(err as Error).message}`);
      }
    }
    out.push({ exporter: e, file, stats, traffic });
  }
  return out;
}
