/**
 * A scale-out rig for tests of the bus (test/bus-*.test.ts): a nats-server cluster, a real influxd,
 * `netvigil run` receivers and processors from one config shape, and softflowd's real NetFlow v9
 * export of generated conversations (captured once) to replay from several loopback addresses, so
 * exporters hash to different partitions. Counting is done by a parser of our own, not by netvigil.
 */
import { createSocket, type Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI } from './cli.js';
import { startInfluxd, type Influxd } from './influxd.js';
import { startNats, type NatsCluster } from './nats.js';
import { makeTmpDir, waitFor } from './net.js';
import { makeTraffic, writePcap } from './pcap.js';
import { startDaemon, type Daemon } from './proc.js';
import { runSoftflowd } from './softflowd.js';

/**
 * Flow records in NetFlow v9 datagrams (RFC 3954 §5: flowset id 0 carries templates, 1 options
 * templates, ids >= 256 data; a data flowset holds whole records plus padding shorter than one).
 * Options data records are not flows.
 */
export function v9DataRecords(datagrams: Buffer[]): number {
  const len = new Map<number, number>();
  const options = new Set<number>();
  let n = 0;
  for (const d of datagrams) {
    for (let o = 20; o + 4 <= d.length; ) {
      const id = d.readUInt16BE(o);
      const l = d.readUInt16BE(o + 2);
      if (l < 4) break;
      if (id === 0) {
        for (let t = o + 4; t + 4 <= o + l; ) {
          const tid = d.readUInt16BE(t);
          const count = d.readUInt16BE(t + 2);
          let rl = 0;
          for (let f = 0; f < count; f++) rl += d.readUInt16BE(t + 4 + f * 4 + 2);
          len.set(tid, rl);
          t += 4 + count * 4;
        }
      } else if (id === 1) {
        const tid = d.readUInt16BE(o + 4);
        const fields = (d.readUInt16BE(o + 6) + d.readUInt16BE(o + 8)) / 4;
        let rl = 0;
        for (let f = 0; f < fields; f++) rl += d.readUInt16BE(o + 10 + f * 4 + 2);
        len.set(tid, rl);
        options.add(tid);
      } else if (id >= 256) {
        const rl = len.get(id);
        if (!rl) throw new Error(`data flowset ${id} before its template`);
        if (!options.has(id)) n += Math.floor((l - 4) / rl);
      }
      o += l;
    }
  }
  return n;
}

/** Datagrams with no template flowset: after the first round only these are sent. */
export const dataOnly = (datagrams: Buffer[]): Buffer[] =>
  datagrams.filter((d) => {
    for (let o = 20; o + 4 <= d.length; o += Math.max(4, d.readUInt16BE(o + 2))) if (d.readUInt16BE(o) <= 1) return false;
    return true;
  });

/** softflowd's NetFlow v9 export of `conversations` generated conversations (real exporter output). */
export async function softflowdCapture(dir: string, conversations: number): Promise<Buffer[]> {
  const pcap = join(dir, 'traffic.pcap');
  await writeFile(pcap, writePcap(makeTraffic(conversations, Math.floor(Date.now() / 1000) - 60)));
  const out: Buffer[] = [];
  const sink = createSocket('udp4');
  sink.on('message', (m) => out.push(m));
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  await runSoftflowd(pcap, '9', [sink.address().port], dir);
  await new Promise((r) => setTimeout(r, 300));
  sink.close();
  return out.filter((d) => d.readUInt16BE(0) === 9);
}

/** What the cluster tests share: a temp dir, a 3-node nats-server cluster, a real influxd, softflowd's export. */
export interface BusCluster {
  tmp: { dir: string; cleanup: () => Promise<void> };
  nats: NatsCluster;
  influx: Influxd;
  capture: Buffer[];
}

export async function startBusCluster(prefix: string, conversations: number): Promise<BusCluster> {
  const tmp = await makeTmpDir(prefix);
  const [nats, influx] = await Promise.all([startNats(tmp.dir, 3), startInfluxd()]);
  return { tmp, nats, influx, capture: await softflowdCapture(tmp.dir, conversations) };
}

/** Stops the rigs' processes, then the servers; a cluster that failed to start is skipped. */
export async function stopBusCluster(c: Partial<BusCluster>, rigs: readonly BusRig[]): Promise<void> {
  for (const r of rigs) await r.stop();
  await c.nats?.stop();
  await c.influx?.cleanup();
  await c.tmp?.cleanup();
}

export interface RigOptions {
  dir: string;
  nats: NatsCluster;
  /** Where the instances also write, besides their line-protocol files; none: the files only. */
  influx?: Influxd;
  database?: string;
  stream: string;
  partitions: number;
  leaseTtlMs: number;
}

export class BusRig {
  readonly running: Daemon[] = [];

  constructor(private readonly o: RigOptions) {}

  config(name: string, roles: string, extra: string[]): string {
    const { dir, nats, influx, database, stream, partitions, leaseTtlMs } = this.o;
    const data = join(dir, name);
    return [
      'log_level: info',
      'log_format: json',
      `data_dir: ${data}`,
      `instance: ${name}`,
      `roles: [${roles}]`,
      'monitor: { enabled: false }',
      'pipeline: { flush_interval: 200ms }',
      'telemetry_interval: 1s',
      `sinks: { file: { dir: ${join(data, 'lp')} }${influx ? `, influx: { url: '${influx.url}', database: ${database ?? 'netvigil'} }` : ''} }`,
      `bus: { nats: { servers: [${nats.urls.join(', ')}], stream: ${stream}, replicas: 3, partitions: ${partitions}, lease_ttl: ${leaseTtlMs}ms, batch_delay: 20ms } }`,
      ...extra,
    ].join('\n');
  }

  async run(name: string, roles: string, extra: string[], env: Record<string, string> = {}): Promise<Daemon> {
    const file = join(this.o.dir, `${name}.yaml`);
    await writeFile(file, this.config(name, roles, extra) + '\n');
    // an instance that cannot reach the bus at start exits (`cannot start`), for its supervisor to
    // start it again: so does this, once (a cluster just back from a node's loss, on a loaded
    // machine, timed a start out in CI)
    for (let attempt = 1; ; attempt++) {
      const d = startDaemon(process.execPath, [CLI, 'run', '-c', file], { env: { ...process.env, ...env } });
      this.running.push(d);
      const up = await waitFor(`${name} started`, () => d.output().includes('netvigil started') || d.proc.exitCode !== null, 20_000).then(
        () => d.output().includes('netvigil started'),
        () => false,
      );
      if (up) return d;
      if (attempt < 2 && d.proc.exitCode !== null && d.output().includes('"msg":"cannot start"')) continue;
      throw new Error(`${name} started: not within 20 s\n${d.output()}`);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.running.map((d) => d.stop('SIGTERM', 5000)));
  }

  /** Sum of `flows` over one instance's flow_agg points in its line-protocol files, and the point keys. */
  async points(name: string): Promise<{ key: string; flows: number }[]> {
    const dir = join(this.o.dir, name, 'lp');
    if (!existsSync(dir)) return [];
    const out: { key: string; flows: number }[] = [];
    for (const f of await readdir(dir)) {
      for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) {
        if (!line.startsWith('flow_agg,')) continue;
        const sp = line.indexOf(' ');
        const flows = /(?:^|,)flows=(\d+)i/.exec(line.slice(sp + 1))?.[1];
        if (flows === undefined) throw new Error(`no flows field: ${line}`);
        out.push({ key: `${line.slice(0, sp)} ${line.slice(line.lastIndexOf(' ') + 1)}`, flows: Number(flows) });
      }
    }
    return out;
  }
}

/** JSON log lines of a daemon with the given `msg`. */
export function logLines(d: Daemon, msg: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of d.output().split('\n')) {
    if (!line.startsWith('{') || !line.includes(msg)) continue;
    const j = JSON.parse(line) as Record<string, unknown>;
    if (j['msg'] === msg) out.push(j);
  }
  return out;
}

/** Partitions a processor holds now, from its log ("taken" minus "released"/"lost"). */
export function owned(d: Daemon): Set<number> {
  const s = new Set<number>();
  for (const line of d.output().split('\n')) {
    if (!line.startsWith('{') || !line.includes('"partition"')) continue;
    const j = JSON.parse(line) as { msg?: string; partition?: number };
    if (j.partition === undefined) continue;
    if (j.msg === 'bus partition taken') s.add(j.partition);
    if (j.msg === 'bus partition released' || j.msg === 'bus partition lease lost to another processor') s.delete(j.partition);
  }
  return s;
}

/** Loopback senders bound to 127.0.0.<10+i>, one per exporter. */
export async function senders(n: number): Promise<{ socks: Socket[]; send: (s: Socket, d: Buffer, port: number) => Promise<void>; close: () => void }> {
  const socks: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, `127.0.0.${10 + i}`, () => r()));
    socks.push(s);
  }
  return {
    socks,
    send: (s, d, port) => new Promise((r, j) => s.send(d, port, '127.0.0.1', (e) => (e ? j(e) : r()))),
    close: () => socks.forEach((s) => s.close()),
  };
}
