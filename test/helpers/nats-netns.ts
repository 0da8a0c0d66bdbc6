/**
 * A nats-server cluster inside a network namespace (netns.ts), for tests whose pollers, processors,
 * agents and exporters all run in one namespace so that an interface's kernel counters hold the
 * test's traffic and nothing else (test/xcheck-bus.test.ts). The test process cannot reach the
 * namespace's loopback, so readiness comes from the servers' logs and from a probe run inside the
 * namespace: like nats.ts, it waits for a metadata leader and for a stream of `nodes` replicas to be
 * placeable (before that, an R3 stream fails with "no suitable peers for placement").
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { waitFor } from './net.js';
import type { VethPair } from './netns.js';
import type { Daemon } from './proc.js';

export interface NatsInNs {
  nodes: Daemon[];
  /** Client URLs, reachable inside the namespace only. */
  urls: string[];
  stop(): Promise<void>;
}

/** Client ports 14222.., route ports 16222..: a fresh namespace has nothing listening. */
const CLIENT = 14222;
const ROUTE = 16222;

const PROBE = (natsModule: string): string => `
const { connect } = require(${JSON.stringify(natsModule)});
const [servers, nodes] = [process.argv[2].split(','), Number(process.argv[3])];
const until = Date.now() + 20000;
(async () => {
  for (;;) {
    let nc;
    try {
      nc = await connect({ servers, timeout: 2000 });
      const jsm = await nc.jetstreamManager();
      await jsm.streams.add({ name: 'NETVIGIL_TEST_READY', subjects: ['netvigil-test-ready'], num_replicas: nodes });
      await jsm.streams.delete('NETVIGIL_TEST_READY');
      await nc.close();
      process.exit(0);
    } catch (e) {
      await nc?.close().catch(() => {});
      if (Date.now() > until) { console.error(String(e)); process.exit(1); }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
})();
`;

export async function startNatsIn(net: VethPair, ns: string, dir: string, nodes = 3): Promise<NatsInNs> {
  const daemons: Daemon[] = [];
  const urls = Array.from({ length: nodes }, (_, i) => `nats://127.0.0.1:${CLIENT + i}`);
  const stop = async (): Promise<void> => {
    await Promise.all(daemons.map((d) => d.stop('SIGTERM', 3000)));
  };
  try {
    for (let i = 0; i < nodes; i++) {
      const store = join(dir, `nats-${i}`);
      mkdirSync(store, { recursive: true });
      const routes = Array.from({ length: nodes }, (_, j) => j).filter((j) => j !== i).map((j) => `nats://127.0.0.1:${ROUTE + j}`).join(',');
      daemons.push(net.exec(ns, 'nats-server', ['-js', '-sd', store, '-a', '127.0.0.1', '-p', String(CLIENT + i), '-n', `n${i}`, '--cluster_name', 'netvigil-test', '--cluster', `nats://127.0.0.1:${ROUTE + i}`, '--routes', routes]));
    }
    const logs = (): string => daemons.map((d) => d.output()).join('\n');
    await waitFor(`nats-server nodes ready\n${logs()}`, () => daemons.every((d) => d.output().includes('Server is ready')), 15_000, 100);
    await waitFor(`JetStream meta leader\n${logs()}`, () => daemons.some((d) => /JetStream cluster new metadata leader|Self is new JetStream cluster metadata leader/.test(d.output())), 20_000, 100);
    const probe = join(dir, 'nats-placeable.cjs');
    writeFileSync(probe, PROBE(createRequire(import.meta.url).resolve('nats')));
    const p = net.exec(ns, process.execPath, [probe, urls.join(','), String(nodes)]);
    await waitFor(`JetStream placement on every node\n${p.output()}`, () => p.proc.exitCode !== null, 25_000, 100);
    if (p.proc.exitCode !== 0) throw new Error(`JetStream placement probe failed: ${p.output()}\n${logs()}`);
  } catch (e) {
    await stop();
    throw e;
  }
  return { nodes: daemons, urls, stop };
}
