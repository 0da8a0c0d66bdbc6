/**
 * A second real exporter with different templates: pmacctd's nfprobe plugin (NetFlow v9 and IPFIX)
 * reads a generated traffic pcap and exports to our collector on loopback, while dumpcap captures
 * the exports for tshark. nfprobe stamps flows with the packets' own capture times, so start/end
 * times are checked against the pcap too, besides bytes/packets and tshark's reading.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowCollector } from '../collectors/flow/collector.js';
import { flowCollector } from '../collectors/flow/index.js';
import type { FlowRecord } from '../src/record/record.js';
import { makeTestCtx } from './helpers/flow-ctx.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { makeTraffic, writePcap, type PacketSpec } from './helpers/pcap.js';
import { startDaemon } from './helpers/proc.js';

const FLOWS = 40;
let tmp: { dir: string; cleanup: () => Promise<void> };
let traffic: PacketSpec[];
let pcapFile: string;

beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-nfprobe-');
  // millisecond-aligned timestamps: nfprobe exports flowStart/EndMilliseconds
  traffic = makeTraffic(FLOWS, Math.floor(Date.now() / 1000) - 120).map((p) => ({ ...p, ts: Math.round(p.ts * 1000) / 1000 }));
  pcapFile = join(tmp.dir, 'traffic.pcap');
  writeFileSync(pcapFile, writePcap(traffic));
});
afterAll(async () => tmp?.cleanup());

interface Truth { bytes: number; packets: number; first: number; last: number }
function truth(): Map<string, Truth> {
  const m = new Map<string, Truth>();
  for (const p of traffic) {
    const k = `${p.src} ${p.dst} ${p.srcPort} ${p.dstPort} ${p.proto}`;
    const ms = Math.round(p.ts * 1000);
    const e = m.get(k) ?? { bytes: 0, packets: 0, first: ms, last: ms };
    e.bytes += 20 + (p.proto === 6 ? 20 : 8) + (typeof p.payload === 'number' ? p.payload : p.payload.length);
    e.packets++;
    e.first = Math.min(e.first, ms);
    e.last = Math.max(e.last, ms);
    m.set(k, e);
  }
  return m;
}

/** tshark's flow records (objects of its cflow tree holding `cflow.octets`). */
function tsharkFlows(file: string, port: number): Map<string, { bytes: number; packets: number }> {
  type Tree = { [k: string]: string | Tree };
  const json = JSON.parse(execFileSync('tshark', ['-r', file, '-d', `udp.port==${port},cflow`, '-T', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 })) as { _source: { layers: Tree } }[];
  const out = new Map<string, { bytes: number; packets: number }>();
  const s = (t: Tree, k: string): string => (typeof t[k] === 'string' ? t[k] : '');
  const walk = (t: Tree): void => {
    if (typeof t['cflow.octets'] === 'string') {
      out.set(`${s(t, 'cflow.srcaddr')} ${s(t, 'cflow.dstaddr')} ${s(t, 'cflow.srcport')} ${s(t, 'cflow.dstport')} ${s(t, 'cflow.protocol')}`, { bytes: Number(s(t, 'cflow.octets')), packets: Number(s(t, 'cflow.packets')) });
      return;
    }
    for (const v of Object.values(t)) if (typeof v === 'object') walk(v);
  };
  for (const p of json) walk(p._source.layers);
  return out;
}

describe.each(['9', '10'] as const)('pmacctd nfprobe NetFlow version %s', (version) => {
  it('agrees with the generated traffic (volumes and times) and with tshark', async () => {
    const port = await freeUdpPort();
    const dir = join(tmp.dir, `v${version}`);
    mkdirSync(dir, { recursive: true });
    const t = makeTestCtx(dir);
    const c = flowCollector.create(flowCollector.configSchema.parse({ listen: [{ address: '127.0.0.1', port }], raw: true, interval: '1h', stats_interval: '1h', receive_buffer: '1MiB' }), t.ctx) as FlowCollector;
    await c.start();
    const conf = join(dir, 'pmacctd.conf');
    writeFileSync(conf, [
      'daemonize: false',
      `pcap_savefile: ${pcapFile}`,
      'aggregate: src_host, dst_host, src_port, dst_port, proto, tos',
      'plugins: nfprobe',
      `nfprobe_receiver: 127.0.0.1:${port}`,
      `nfprobe_version: ${version}`,
      'nfprobe_timeouts: tcp=1:maxlife=1:general=1:udp=1:expint=1',
      '',
    ].join('\n'));
    const capFile = join(dir, 'exports.pcapng');
    const cap = startDaemon('dumpcap', ['-i', 'lo', '-f', `udp dst port ${port}`, '-w', capFile, '-q']);
    try {
      await waitFor('dumpcap to start', () => cap.output().includes('Capturing on'), 10_000);
      const pm = startDaemon('pmacctd', ['-f', conf]);
      const done = new Promise<void>((r) => (pm.proc.exitCode !== null ? r() : pm.proc.once('exit', () => r())));
      const limit = setTimeout(() => void pm.stop('SIGTERM', 2000), 30_000);
      await done;
      clearTimeout(limit);
      await waitFor(`${FLOWS} flows (pmacctd said: ${pm.output().slice(-300)})`, () => t.records.filter((r) => r.measurement === 'flow').length >= FLOWS, 10_000);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await cap.stop('SIGTERM', 3000);
      await c.stop();
    }
    expect(t.errors).toEqual([]);
    const flows = t.records.filter((r): r is FlowRecord => r.measurement === 'flow');
    expect(flows).toHaveLength(FLOWS);
    expect(c.processor.exporterStats('127.0.0.1')?.errors).toEqual({});
    const gt = truth();
    const ts = tsharkFlows(capFile, port);
    expect(ts.size).toBe(FLOWS);
    for (const f of flows) {
      const k = `${String(f.fields['src_addr'])} ${String(f.fields['dst_addr'])} ${String(f.fields['src_port'])} ${String(f.fields['dst_port'])} ${String(f.fields['proto'])}`;
      const g = gt.get(k);
      expect(g, k).toBeDefined();
      expect(f.fields).toMatchObject({ bytes: BigInt(g?.bytes ?? -1), packets: BigInt(g?.packets ?? -1), sampling_rate: 1n });
      expect(f.fields['start_ms'], `${k} start`).toBe(BigInt(g?.first ?? -1));
      expect(f.fields['end_ms'], `${k} end`).toBe(BigInt(g?.last ?? -1));
      expect(f.time).toBe(g?.last);
      expect(ts.get(k), k).toEqual({ bytes: g?.bytes, packets: g?.packets });
    }
    for (const l of t.records.filter((r) => r.measurement === 'flow_loss')) expect(l.fields, JSON.stringify(l.tags)).toMatchObject({ lost: 0n, resets: 0n });
  });
});
