/**
 * `netvigil run` processes for the bus bench (bus.bench.ts), as a deployment runs them: the built
 * CLI with a YAML config, one data directory each, records to a line-protocol file sink. What each
 * has done is read the way an operator would: a processor's (or a single process's) per-exporter
 * counters from /status.json, a receiver's `netvigil_bus` self-telemetry (every second) from its
 * line-protocol files.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeTcpPort, waitFor } from '../../test/helpers/net.js';
import { startDaemon, type Daemon } from '../../test/helpers/proc.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli.js');
/** As flow-real's receivers get: what the collector asks for by default, capped by rmem_max. */
const RCVBUF = '32MiB';

export interface BusSetup {
  servers: string[];
  stream: string;
  replicas: number;
}

export interface Instance {
  name: string;
  daemon: Daemon;
  pid: number;
  /** The flow listener's UDP port; 0 for a processor, which has none. */
  flowPort: number;
  http: number;
  dir: string;
  stop(): Promise<void>;
}

/** `roles` undefined: a single process without a bus (every role, as before scale-out). */
export async function startInstance(base: string, name: string, roles: string[] | undefined, bus: BusSetup | undefined, flowPort: number): Promise<Instance> {
  const dir = join(base, name);
  const http = await freeTcpPort();
  // a processor opens no socket whatever the listen list says
  const listen = `listen: [{ address: 127.0.0.1, port: ${flowPort} }], receive_buffer: ${RCVBUF}`;
  const lines = [
    'log_level: info',
    'log_format: json',
    `data_dir: ${dir}`,
    `instance: ${name}`,
    'monitor: { enabled: false }',
    'telemetry_interval: 1s',
    `http: { listen: 127.0.0.1:${http} }`,
    `sinks: { file: { dir: ${join(dir, 'lp')} } }`,
    // the flow defaults otherwise (interval 60s; aggregation by exporter, interfaces, protocol; top talkers)
    `collectors: { flow: { ${listen} } }`,
  ];
  if (roles) lines.push(`roles: [${roles.join(', ')}]`);
  if (bus) lines.push(`bus: { nats: { servers: [${bus.servers.join(', ')}], stream: ${bus.stream}, replicas: ${bus.replicas}, partitions: 16 } }`);
  const file = join(base, `${name}.yaml`);
  await writeFile(file, lines.join('\n') + '\n');
  const daemon = startDaemon(process.execPath, [CLI, 'run', '-c', file]);
  await waitFor(`${name} started`, () => daemon.output().includes('netvigil started'), 30_000, 100).catch((e: unknown) => {
    void daemon.stop('SIGKILL');
    throw new Error(`${(e as Error).message}\n${daemon.output().slice(-3000)}`);
  });
  return { name, daemon, pid: daemon.pid, flowPort, http, dir, stop: () => daemon.stop('SIGTERM', 10_000) };
}

export interface FlowCounts {
  datagrams: number;
  records: number;
  errors: number;
}

/** Datagrams and records decoded, decode errors: the flow collector's per-exporter counters, summed. */
export async function flowCounts(i: Instance): Promise<FlowCounts> {
  const res = await fetch(`http://127.0.0.1:${i.http}/status.json`);
  const st = (await res.json()) as { flow?: { exporters?: { datagrams: number; records: number; errors: Record<string, number> }[] } };
  const out = { datagrams: 0, records: 0, errors: 0 };
  for (const e of st.flow?.exporters ?? []) {
    out.datagrams += e.datagrams;
    out.records += e.records;
    for (const n of Object.values(e.errors)) out.errors += n;
  }
  return out;
}

/** The last `netvigil_bus` fields of `role` the instance wrote (integers; empty before the first). */
export async function busTelemetry(i: Instance, role: 'receiver' | 'processor'): Promise<Record<string, number>> {
  const dir = join(i.dir, 'lp');
  if (!existsSync(dir)) return {};
  let last = '';
  for (const f of (await readdir(dir)).sort()) {
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) if (line.startsWith('netvigil_bus,') && line.includes(`role=${role}`)) last = line;
  }
  const out: Record<string, number> = {};
  for (const m of (last.split(' ')[1] ?? '').matchAll(/([a-z_]+)=(\d+)i/g)) out[m[1] as string] = Number(m[2]);
  return out;
}
