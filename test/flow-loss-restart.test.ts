/**
 * SIGKILL does not reset the loss accounting (issue 19 item 2/5). Real `netvigil run` processes on
 * one data directory receive NetFlow v5 datagrams built from the RFC layout (generated, numbered,
 * so what went missing is known exactly). The first run saves its loss state, receives a few more
 * datagrams (the crash window) and is SIGKILLed; datagrams keep coming while nothing listens; the
 * second run must continue the cumulative counters (/metrics and flow_loss) and count the crash
 * window plus the downtime as `lost_while_down`, exactly. An exporter that rebooted while the
 * collector was down gives a reset, not loss.
 */
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_EVERY_MS } from '../collectors/flow/checkpoint.js';
import { LOSS_FILE } from '../collectors/flow/losspersist.js';
import { buildV5, type V5FlowSpec } from './helpers/flow-build.js';
import { freeTcpPort, freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { startRun } from './helpers/cli.js';
import type { Daemon } from './helpers/proc.js';

const FLOWS = 10; // per datagram: v5 sequence numbers count flows

let tmp: { dir: string; cleanup: () => Promise<void> };
const running: Daemon[] = [];
beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-lossrestart-');
});
afterAll(async () => {
  await Promise.all(running.map((d) => d.stop('SIGKILL')));
  await tmp?.cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Datagram k carries flows k*FLOWS .. k*FLOWS+9 (the header's flow_sequence), uptime `uptime0 + k` s. */
async function send(port: number, ks: readonly number[], uptime0: number): Promise<void> {
  const sock = createSocket('udp4');
  sock.on('error', () => undefined); // ICMP port unreachable while no collector listens
  try {
    for (const k of ks) {
      const list: V5FlowSpec[] = Array.from({ length: FLOWS }, (_, i) => ({ src: `10.0.0.${i + 1}`, dst: '192.0.2.1', packets: 1, bytes: 100, first: 1000, last: 2000, srcPort: 1024 + k, dstPort: 443, proto: 6 }));
      const dgram = buildV5({ uptime: uptime0 + k * 1000, secs: Math.floor(Date.now() / 1000), seq: k * FLOWS }, list);
      await new Promise<void>((resolve) => sock.send(dgram, port, '127.0.0.1', () => resolve()));
      await sleep(2);
    }
  } finally {
    sock.close();
  }
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

async function setup(name: string): Promise<{ run: () => Promise<Daemon>; port: number; http: number; data: string; lp: string }> {
  const [port, http] = await Promise.all([freeUdpPort(), freeTcpPort()]);
  const dir = join(tmp.dir, name);
  const cfg = join(tmp.dir, `${name}.yaml`);
  writeFileSync(
    cfg,
    [
      `data_dir: ${dir}`,
      'pipeline: { flush_interval: 200ms }',
      'monitor: { enabled: false }',
      'sinks: { file: {} }',
      `http: { listen: "127.0.0.1:${http}" }`,
      `collectors: { flow: { listen: [{ address: 127.0.0.1, port: ${port} }], stats_interval: 1s } }`,
    ].join('\n') + '\n',
  );
  const run = (): Promise<Daemon> => startRun(cfg, running);
  return { run, port, http, data: join(dir, 'collectors', 'flow'), lp: join(dir, 'lp', 'netvigil.lp') };
}

async function metric(http: number, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
  const m = new RegExp(`^${name}\\{exporter="127\\.0\\.0\\.1"\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The last flow_loss line of the v5 stream in the line-protocol file, as field -> integer. */
function lastLoss(lp: string): Record<string, number> | undefined {
  if (!existsSync(lp)) return undefined;
  const line = readFileSync(lp, 'utf8').split('\n').filter((l) => l.startsWith('flow_loss,') && l.includes('version=5')).at(-1);
  if (!line) return undefined;
  const fields = line.split(' ')[1] ?? '';
  return Object.fromEntries(fields.split(',').flatMap((f) => (/^(\w+)=(\d+)i$/.exec(f) ? [[f.split('=')[0], Number(/=(\d+)/.exec(f)?.[1])]] : [])));
}

/** Waits for the loss state to be written (again) after `since`, then returns at once. */
async function savedAfter(file: string, since: number): Promise<void> {
  await waitFor(`${file} written`, () => existsSync(file) && statSync(file).mtimeMs > since, CHECKPOINT_EVERY_MS * 2 + 2000, 10);
}

describe('loss accounting across a SIGKILL (real processes, generated v5)', () => {
  it('continues the counters and counts the crash window and the downtime, exactly, as lost_while_down', async () => {
    const { run, port, http, data, lp } = await setup('gap');
    const a = await run();
    // datagrams 0-19 with 5 missing on the network: 19 received, 10 flows lost
    await send(port, range(0, 20).filter((k) => k !== 5), 50_000);
    await waitFor('first run counted', async () => ((await metric(http, 'netvigil_flow_sequence_received_total')) === 19 * FLOWS ? true : undefined));
    const t0 = Date.now();
    await savedAfter(join(data, LOSS_FILE), t0);
    // the crash window: received, but after the last save (the next is CHECKPOINT_EVERY_MS away)
    await send(port, range(20, 23), 50_000);
    await a.stop('SIGKILL');
    // while nothing listens
    await send(port, range(23, 30), 50_000);
    const b = await run();
    expect(b.output()).toContain('flow loss counters continued from the previous run');
    await send(port, range(30, 35), 50_000);
    // received: 19 datagrams before the save + 5 now; the 3 of the crash window are forgotten with it
    const received = (19 + 5) * FLOWS;
    const lost = 10 + (3 + 7) * FLOWS;
    expect(await waitFor('received', async () => ((await metric(http, 'netvigil_flow_sequence_received_total')) === received ? received : undefined))).toBe(received);
    expect(await metric(http, 'netvigil_flow_sequence_lost_total')).toBe(lost);
    await b.stop('SIGTERM', 8000);
    expect(lastLoss(lp)).toMatchObject({ received, lost, lost_while_down: (3 + 7) * FLOWS, duplicates: 0, resets: 0 });
  }, 60_000);

  it('counts a reset, not loss, when the exporter rebooted while the collector was down', async () => {
    const { run, port, http, data, lp } = await setup('reboot');
    const a = await run();
    await send(port, range(0, 10), 600_000);
    await waitFor('first run counted', async () => ((await metric(http, 'netvigil_flow_sequence_received_total')) === 10 * FLOWS ? true : undefined));
    await savedAfter(join(data, LOSS_FILE), Date.now());
    await a.stop('SIGKILL');
    // the exporter reboots: uptime from 1 s, sequence numbers from 0 again; its first 4 go unheard
    await send(port, range(0, 4), 1_000);
    const b = await run();
    await send(port, range(4, 8), 1_000);
    expect(await waitFor('received', async () => ((await metric(http, 'netvigil_flow_sequence_received_total')) === 14 * FLOWS ? true : undefined))).toBe(true);
    expect(await metric(http, 'netvigil_flow_sequence_lost_total')).toBe(0);
    await b.stop('SIGTERM', 8000);
    expect(lastLoss(lp)).toMatchObject({ received: 14 * FLOWS, lost: 0, lost_while_down: 0, resets: 1 });
  }, 60_000);
});
