/**
 * Debian's nats-server with JetStream on loopback: one node, or a cluster of `nodes` (routes between
 * them on their own free ports). Each node gets a temp store dir; `stop` ends the nodes by PID.
 */
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as natsConnect } from 'nats';
import { join } from 'node:path';
import { freeTcpPort, waitFor } from './net.js';
import { startDaemon, type Daemon } from './proc.js';

export interface NatsCluster {
  nodes: Daemon[];
  /** Client URLs, one per node. */
  urls: string[];
  /** Monitoring endpoints (`/varz`, `/jsz`), one per node, when started with `monitor`. */
  monitorUrls: string[];
  /** Starts node `i` again (after a kill) on its ports and store; resolves once it takes clients. */
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

const tcpOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

/**
 * A free port found now may be taken by another test's server before nats-server binds it (tests
 * run in parallel); such a start is tried again on other ports, twice at most.
 */
export async function startNats(dir: string, nodes = 1, opts: { monitor?: boolean } = {}): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsOnce(dir, nodes, opts);
    } catch (e) {
      if (attempt >= 3 || !/address already in use/.test((e as Error).message)) throw e;
    }
  }
}

async function startNatsOnce(dir: string, nodes: number, opts: { monitor?: boolean }): Promise<NatsCluster> {
  const client: number[] = [];
  const route: number[] = [];
  const monitor: number[] = [];
  for (let i = 0; i < nodes; i++) {
    client.push(await freeTcpPort());
    route.push(await freeTcpPort());
    if (opts.monitor) monitor.push(await freeTcpPort());
  }
  const daemons: Daemon[] = [];
  const argv: string[][] = [];
  for (let i = 0; i < nodes; i++) {
    const store = join(dir, `nats-${i}`);
    mkdirSync(store, { recursive: true });
    const args = ['-js', '-sd', store, '-a', '127.0.0.1', '-p', String(client[i]), '-n', `n${i}`];
    if (opts.monitor) args.push('-m', String(monitor[i]));
    if (nodes > 1) {
      const routes = route.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`).join(',');
      args.push('--cluster_name', 'netvigil-test', '--cluster', `nats://127.0.0.1:${route[i]}`, '--routes', routes);
    }
    argv.push(args);
    daemons.push(startDaemon('nats-server', args));
  }
  const stop = async (): Promise<void> => {
    await Promise.all(daemons.map((d) => d.stop('SIGTERM', 3000)));
  };
  try {
    for (const [i, port] of client.entries()) await waitFor(`nats-server n${i} on ${port}\n${daemons[i]?.output() ?? ''}`, () => tcpOpen(port), 10_000, 100);
    // JetStream in a cluster needs a meta leader before a stream can be made
    if (nodes > 1) await waitFor(`JetStream meta leader\n${daemons.map((d) => d.output()).join('\n')}`, () => daemons.some((d) => /JetStream cluster new metadata leader|Self is new JetStream cluster metadata leader/.test(d.output())), 20_000, 100);
    // and every node known to it: a stream of `nodes` replicas made earlier fails with "no suitable
    // peers for placement" (seen once in 15 runs of test/bus-nats-shortttl.test.ts on a loaded machine)
    if (nodes > 1) await placeable(client.map((p) => `nats://127.0.0.1:${p}`), nodes);
  } catch (e) {
    await stop();
    // the nodes' own words (a port taken meanwhile: "address already in use") decide a retry
    throw new Error(`${(e as Error).message}\n${daemons.map((d) => d.output().split('\n').filter((l) => l.includes('[FTL]')).join('\n')).join('\n')}`);
  }
  const restart = async (i: number): Promise<void> => {
    await daemons[i]?.stop('SIGTERM', 3000);
    daemons[i] = startDaemon('nats-server', argv[i] as string[]);
    await waitFor(`nats-server n${i} on ${client[i]} again\n${daemons[i]?.output() ?? ''}`, () => tcpOpen(client[i] as number), 10_000, 100);
  };
  return { nodes: daemons, urls: client.map((p) => `nats://127.0.0.1:${p}`), monitorUrls: monitor.map((p) => `http://127.0.0.1:${p}`), restart, stop };
}

/** Waits until the cluster can place a stream on all `nodes` (made and deleted again). */
async function placeable(servers: string[], nodes: number): Promise<void> {
  const nc = await natsConnect({ servers });
  try {
    const jsm = await nc.jetstreamManager();
    await waitFor('JetStream placement on every node', async () => {
      await jsm.streams.add({ name: 'NETVIGIL_TEST_READY', subjects: ['netvigil-test-ready'], num_replicas: nodes });
      await jsm.streams.delete('NETVIGIL_TEST_READY');
      return true;
    }, 20_000, 200);
  } finally {
    await nc.close();
  }
}
