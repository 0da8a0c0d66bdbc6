/**
 * A real `netvigil run` with `collectors.flow.workers: 2` receives softflowd 1.1's NetFlow v9 and
 * pmacctd sfprobe's sFlow export of the flow-real bench's 2,000-conversation mix (cached captures,
 * built when missing) from two source addresses, one per worker, and gets two SIGTERMs in a row
 * (a supervisor signalling the group, or a double Ctrl-C). The line-protocol file must hold the
 * interval's flow_agg with every flow sent: what the workers held is drained before the final flush.
 */
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readUdpPcap } from '../bench/flow-e2e/capture.js';
import { buildCaptures } from '../bench/flow-e2e/exporters.js';
import { FlowProcessor } from '../collectors/flow/processor.js';
import { shardOf } from '../collectors/flow/shard.js';
import { TemplateStore } from '../collectors/netflow/templates.js';
import { startRun } from './helpers/cli.js';
import { freeTcpPort, freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import type { Daemon } from './helpers/proc.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
let v9: Buffer[] = [];
let sflow: Buffer[] = [];
const running: Daemon[] = [];
beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-flow-workers-term-');
  const caps = await buildCaptures({ kind: 'mix', conversations: 2000, seed: 1 }, ['softflowd-v9', 'sfprobe-sflow']);
  [v9, sflow] = caps.map((c) => readUdpPcap(readFileSync(c.file))) as [Buffer[], Buffer[]];
}, 300_000);
afterAll(async () => {
  await Promise.all(running.map((d) => d.stop('SIGKILL')));
  await tmp?.cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Flows the in-thread processor aggregates from these datagrams of one exporter, in order. */
function flowsOf(datagrams: Buffer[]): number {
  let n = 0;
  const p = new FlowProcessor({ collector: 'count', store: new TemplateStore(), raw: false, maxExporters: 10 }, { emit: () => undefined, aggregate: () => void n++, interfaces: () => undefined, clockOffset: () => undefined, internalError: () => undefined });
  for (const d of datagrams) p.handle(d, '127.0.0.9', 1, Date.now());
  return n;
}

async function send(from: string, port: number, datagrams: Buffer[]): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, from, () => r()));
  try {
    for (let i = 0; i < datagrams.length; i += 8) {
      await Promise.all(datagrams.slice(i, i + 8).map((d) => new Promise<void>((r, j) => s.send(d, port, '127.0.0.1', (e) => (e ? j(e) : r())))));
      await sleep(1);
    }
  } finally {
    await new Promise<void>((r) => s.close(() => r()));
  }
}

describe('flow workers and SIGTERM (real process)', () => {
  it('two SIGTERMs: the interval is written with every flow the workers aggregated', async () => {
    expect(shardOf('127.0.0.2', 2)).not.toBe(shardOf('127.0.0.3', 2));
    const [port, http] = await Promise.all([freeUdpPort(), freeTcpPort()]);
    const data = join(tmp.dir, 'data');
    const cfg = join(tmp.dir, 'run.yaml');
    writeFileSync(
      cfg,
      [
        `data_dir: ${data}`,
        'pipeline: { flush_interval: 200ms }',
        'monitor: { enabled: false }',
        'sinks: { file: {} }',
        `http: { listen: "127.0.0.1:${http}" }`,
        `collectors: { flow: { listen: [{ address: 127.0.0.1, port: ${port} }], interval: 1h, workers: 2, dimensions: [exporter, proto] } }`,
      ].join('\n') + '\n',
    );
    const d = await startRun(cfg, running);
    expect(d.output()).toContain('flow decoding and aggregation in worker threads');
    await Promise.all([send('127.0.0.2', port, v9), send('127.0.0.3', port, sflow)]);
    await sleep(1000);
    process.kill(d.pid, 'SIGTERM');
    await sleep(20);
    process.kill(d.pid, 'SIGTERM');
    await d.stop('SIGTERM', 20_000);
    const lp = join(data, 'lp', 'netvigil.lp');
    await waitFor('line-protocol file', () => existsSync(lp));
    const flows = new Map<string, number>();
    for (const line of readFileSync(lp, 'utf8').split('\n')) {
      if (!line.startsWith('flow_agg,')) continue;
      const exporter = /exporter=([^,\s]+)/.exec(line)?.[1] ?? '';
      flows.set(exporter, (flows.get(exporter) ?? 0) + Number(/flows=(\d+)i/.exec(line)?.[1]));
    }
    expect(flows.get('127.0.0.2')).toBe(flowsOf(v9));
    expect(flows.get('127.0.0.3')).toBe(flowsOf(sflow));
    expect(d.output()).not.toMatch(/flow worker exited/);
  }, 120_000);
});
