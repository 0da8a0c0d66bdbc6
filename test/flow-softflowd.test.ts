/**
 * Real exporter, independent oracle: softflowd exports NetFlow v5/v9/IPFIX for a generated traffic
 * pcap to our collector on loopback; dumpcap captures the same exports on `lo` and tshark decodes
 * them. Our records must agree with tshark's record for record, and with the traffic we generated.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { runDecode } from '../collectors/flow/decode-cli.js';
import { readPcapng } from '../collectors/flow/pcap.js';
import { FlowProcessor } from '../collectors/flow/processor.js';
import { TemplateStore } from '../collectors/netflow/templates.js';
import { flowCollector } from '../collectors/flow/index.js';
import type { FlowCollector } from '../collectors/flow/collector.js';
import type { FlowRecord } from '../src/record/record.js';
import { makeTestCtx } from './helpers/flow-ctx.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { ipv6ToString } from '../src/wire/reader.js';
import { ip6, makeTraffic, writePcap, type PacketSpec } from './helpers/pcap.js';
import { startDaemon } from './helpers/proc.js';
import { runSoftflowd } from './helpers/softflowd.js';

const FLOWS = 60;
/** v9 and IPFIX runs carry every 4th conversation over IPv6 (softflowd -6); v5 cannot. */
const IPV6_EVERY = 4;
let tmp: { dir: string; cleanup: () => Promise<void> };
const traffic = new Map<string, PacketSpec[]>();
const pcapFiles = new Map<string, string>();

/** Canonical (RFC 5952) text, as our records and tshark both print addresses. */
const canon = (a: string): string => (a.includes(':') ? ipv6ToString(ip6(a)) : a);

/** Ground truth per 5-tuple from the packets we generated: IP bytes and packet counts. */
function truth(packets: PacketSpec[]): Map<string, { bytes: number; packets: number }> {
  const m = new Map<string, { bytes: number; packets: number }>();
  for (const p of packets) {
    const k = `${canon(p.src)} ${canon(p.dst)} ${p.srcPort} ${p.dstPort} ${p.proto}`;
    const e = m.get(k) ?? { bytes: 0, packets: 0 };
    e.bytes += (p.src.includes(':') ? 40 : 20) + (p.proto === 6 ? 20 : 8) + (typeof p.payload === 'number' ? p.payload : p.payload.length);
    e.packets++;
    m.set(k, e);
  }
  return m;
}

const keyOf = (f: FlowRecord['fields']): string => `${String(f['src_addr'])} ${String(f['dst_addr'])} ${String(f['src_port'])} ${String(f['dst_port'])} ${String(f['proto'])}`;

interface TsharkFlow { key: string; bytes: number; packets: number; tcpFlags: number }
type Tree = { [k: string]: string | Tree | (string | Tree)[] };

/**
 * Every flow record tshark's cflow dissector shows (walking its JSON tree: a record is an object
 * with `cflow.octets`), in capture order. Options records carry no octets and are not flows.
 */
function tsharkFlows(file: string, port: number): TsharkFlow[] {
  const json = JSON.parse(execFileSync('tshark', ['-r', file, '-d', `udp.port==${port},cflow`, '-T', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 })) as { _source: { layers: Tree } }[];
  const out: TsharkFlow[] = [];
  const str = (t: Tree, k: string): string => (typeof t[k] === 'string' ? t[k] : '');
  const walk = (t: Tree): void => {
    if (typeof t['cflow.octets'] === 'string') {
      const src = str(t, 'cflow.srcaddr') || str(t, 'cflow.srcaddrv6');
      const dst = str(t, 'cflow.dstaddr') || str(t, 'cflow.dstaddrv6');
      out.push({
        key: `${src} ${dst} ${str(t, 'cflow.srcport')} ${str(t, 'cflow.dstport')} ${str(t, 'cflow.protocol')}`,
        bytes: Number(str(t, 'cflow.octets')),
        packets: Number(str(t, 'cflow.packets')),
        tcpFlags: Number(str(t, 'cflow.tcpflags')),
      });
      return;
    }
    for (const v of Object.values(t)) {
      if (Array.isArray(v)) for (const x of v) if (typeof x === 'object') walk(x);
      if (typeof v === 'object' && !Array.isArray(v)) walk(v);
    }
  };
  for (const pkt of json) walk(pkt._source.layers);
  return out;
}

beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-flow-sfd-');
  const t0 = Math.floor(Date.now() / 1000) - 60;
  for (const [name, opts] of [['v4', {}], ['mixed', { ipv6Every: IPV6_EVERY }]] as const) {
    const packets = makeTraffic(FLOWS, t0, opts);
    traffic.set(name, packets);
    const file = join(tmp.dir, `traffic-${name}.pcap`);
    writeFileSync(file, writePcap(packets));
    pcapFiles.set(name, file);
  }
});
afterAll(async () => tmp?.cleanup());

describe.each(['5', '9', '10'] as const)('softflowd NetFlow version %s', (version) => {
  it('is decoded, loss-accounted and aggregated, and agrees with tshark record for record', async () => {
    const set = version === '5' ? 'v4' : 'mixed';
    const port = await freeUdpPort();
    const dataDir = join(tmp.dir, `data-${version}`);
    execFileSync('mkdir', ['-p', dataDir]);
    const t = makeTestCtx(dataDir);
    const config = flowCollector.configSchema.parse({ listen: [{ address: '127.0.0.1', port }], raw: true, interval: '1h', stats_interval: '1h', receive_buffer: '1MiB' });
    const c = flowCollector.create(config, t.ctx) as FlowCollector;
    await c.start();
    const capFile = join(tmp.dir, `exports-${version}.pcapng`);
    const cap = startDaemon('dumpcap', ['-i', 'lo', '-f', `udp dst port ${port}`, '-w', capFile, '-q']);
    try {
      await waitFor('dumpcap to start', () => cap.output().includes('Capturing on'), 10_000);
      const out = await runSoftflowd(pcapFiles.get(set) ?? '', version, [port], tmp.dir, version === '5' ? [] : ['-6']);
      const exported = Number(/Flows exported: (\d+)/.exec(out)?.[1] ?? NaN);
      expect(exported).toBe(FLOWS);
      await waitFor('all flows received', () => t.records.filter((r) => r.measurement === 'flow').length >= FLOWS, 10_000);
      await new Promise((r) => setTimeout(r, 300)); // let dumpcap write the last packets
    } finally {
      await cap.stop('SIGTERM', 3000);
      await c.stop();
    }
    expect(t.errors).toEqual([]);
    const flows = t.records.filter((r): r is FlowRecord => r.measurement === 'flow');
    expect(flows).toHaveLength(FLOWS);

    // against the traffic we generated
    const gt = truth(traffic.get(set) ?? []);
    if (version !== '5') expect(flows.filter((f) => String(f.fields['src_addr']).includes(':'))).toHaveLength(FLOWS / IPV6_EVERY);
    for (const f of flows) {
      const g = gt.get(keyOf(f.fields));
      expect(g, keyOf(f.fields)).toBeDefined();
      expect(f.fields['bytes']).toBe(BigInt(g?.bytes ?? -1));
      expect(f.fields['packets']).toBe(BigInt(g?.packets ?? -1));
      expect(f.tags).toMatchObject({ exporter: '127.0.0.1', version });
      expect(f.fields['sampling_rate']).toBe(1n);
    }

    // against tshark on the captured exports
    const ts = tsharkFlows(capFile, port);
    expect(ts).toHaveLength(FLOWS);
    const ours = new Map(flows.map((f) => [keyOf(f.fields), f.fields]));
    for (const x of ts) {
      const o = ours.get(x.key);
      expect(o, x.key).toBeDefined();
      expect(o?.['bytes']).toBe(BigInt(x.bytes));
      expect(o?.['packets']).toBe(BigInt(x.packets));
      expect(o?.['tcp_flags']).toBe(BigInt(x.tcpFlags));
    }

    // `netvigil decode` on the same pcapng capture agrees with tshark too
    const stdout = new PassThrough();
    let text = '';
    stdout.on('data', (d: Buffer) => (text += d.toString()));
    expect(await runDecode([capFile], { stdout, stderr: new PassThrough() })).toBe(0);
    const decoded = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => o['type'] === 'flow');
    expect(decoded).toHaveLength(FLOWS);
    const byKey = new Map(decoded.map((o) => [`${String(o['src_addr'])} ${String(o['dst_addr'])} ${String(o['src_port'])} ${String(o['dst_port'])} ${String(o['proto'])}`, o]));
    for (const x of ts) expect(byKey.get(x.key), x.key).toMatchObject({ version: Number(version), exporter: '127.0.0.1', bytes: x.bytes, packets: x.packets });

    // the same real datagrams with zero padding after the last set, or a bad set appended: padding is
    // no error; a bad set is counted and costs only itself, every flow of the datagram is kept
    if (version !== '5') {
      const real = readPcapng(new Uint8Array(readFileSync(capFile))).datagrams.map((d) => d.payload);
      const replay = (edit: (p: Uint8Array) => Uint8Array): { records: number; errors: Record<string, number> } => {
        const p = new FlowProcessor({ collector: 'flow', store: new TemplateStore(), raw: false, maxExporters: 2 }, {
          emit: () => undefined, aggregate: () => undefined, interfaces: () => undefined, clockOffset: () => undefined,
          internalError: (e) => {
            throw e;
          },
        });
        for (const d of real) p.handle(edit(d), '192.0.2.1', 9995, 0);
        const st = p.exporterStats('192.0.2.1');
        return { records: st?.records ?? -1, errors: st?.errors ?? {} };
      };
      // IPFIX: the message Length covers what follows its sets (§3.1), so it is raised with them
      const append = (p: Uint8Array, extra: number[]): Uint8Array => {
        const out = Uint8Array.from([...p, ...extra]);
        if (version === '10') new DataView(out.buffer).setUint16(2, out.length);
        return out;
      };
      expect(replay((p) => p)).toEqual({ records: FLOWS, errors: {} });
      expect(replay((p) => append(p, new Array<number>(12).fill(0)))).toEqual({ records: FLOWS, errors: {} });
      // a data set (id 256) whose length (0x0100) runs past the end of the message
      const proto = version === '9' ? 'netflow9' : 'ipfix';
      expect(replay((p) => append(p, [1, 0, 1, 0, 9, 9, 9, 9]))).toEqual({ records: FLOWS, errors: { [`${proto}_truncated`]: real.length } });
    }

    // loss accounting, signals, aggregation, persistence
    const loss = t.records.filter((r) => r.measurement === 'flow_loss');
    expect(loss.length).toBeGreaterThan(0);
    for (const l of loss) {
      expect(l.fields['received'] as bigint).toBeGreaterThanOrEqual(version === '9' ? 1n : BigInt(FLOWS));
      // softflowd 1.1.0 numbers IPFIX messages with the flow count *including* the message, where
      // RFC 7011 §3.1 counts the records *before* it: the stream's numbering is learned, no false loss
      expect(l.fields, JSON.stringify(l.tags)).toMatchObject({ lost: 0n, duplicates: 0n, resets: 0n });
      if (version === '10') expect(l.fields['numbering']).toBe('flows_after');
    }
    expect(t.sockets).toEqual([{ collector: 'flow', family: 'udp4', port, open: false }]);
    expect(t.clockOffsets.length).toBeGreaterThan(0);
    expect(Math.abs(t.clockOffsets[0]?.offsetMs ?? Infinity)).toBeLessThan(5000);
    const st = t.records.find((r) => r.measurement === 'flow_stats' && r.tags['exporter'] === '127.0.0.1' && !r.tags['reason']);
    expect(st?.fields).toMatchObject({ records: BigInt(FLOWS), decode_errors: 0n });
    expect(Math.abs(st?.fields['clock_offset_ms'] as number)).toBeLessThan(5000);
    const agg = t.records.filter((r) => r.measurement === 'flow_agg');
    const aggBytes = agg.reduce((a, r) => a + (r.fields['bytes'] as bigint), 0n);
    expect(aggBytes).toBe(flows.reduce((a, r) => a + (r.fields['bytes'] as bigint), 0n));
    const top = t.records.filter((r) => r.measurement === 'flow_top' && r.tags['by'] === 'src_addr');
    expect(top.length).toBeGreaterThan(0);
    if (version !== '5') {
      expect(existsSync(join(dataDir, 'templates.json'))).toBe(true);
      const saved = JSON.parse(readFileSync(join(dataDir, 'templates.json'), 'utf8')) as { templates: unknown[] };
      expect(saved.templates.length).toBeGreaterThan(0);
      // softflowd's v9 options name the capture source as interface 0 (scope interface + IE 82); its
      // IPFIX options carry IE 82 without any interface index, so there is nothing to map
      if (version === '9') expect(t.interfaceUpdates[0]).toMatchObject({ device: '127.0.0.1', source: 'flow', interfaces: [{ ifIndex: 0 }] });
      else expect(t.interfaceUpdates).toEqual([]);
    }
  });
});

describe.each(['5', '9', '10'] as const)('softflowd NetFlow version %s with packet sampling (-s 4)', (version) => {
  it('carries the sampling rate from the header or options data into every flow and scales aggregates by it', async () => {
    const port = await freeUdpPort();
    const t = makeTestCtx(join(tmp.dir, `data-s-${version}`));
    execFileSync('mkdir', ['-p', t.ctx.dataDir]);
    const config = flowCollector.configSchema.parse({ listen: [{ address: '127.0.0.1', port }], raw: true, interval: '1h', stats_interval: '1h', receive_buffer: '1MiB', dimensions: ['exporter'] });
    const c = flowCollector.create(config, t.ctx) as FlowCollector;
    await c.start();
    let exported = NaN;
    try {
      const out = await runSoftflowd(pcapFiles.get('v4') ?? '', version, [port], tmp.dir, ['-s', '4']);
      exported = Number(/Flows exported: (\d+)/.exec(out)?.[1] ?? NaN);
      // sampling 1 in 4 packets leaves some conversations unseen
      expect(exported).toBeGreaterThan(0);
      expect(exported).toBeLessThan(FLOWS);
      await waitFor('all flows received', () => t.records.filter((r) => r.measurement === 'flow').length >= exported, 10_000);
    } finally {
      await c.stop();
    }
    const flows = t.records.filter((r): r is FlowRecord => r.measurement === 'flow');
    expect(flows).toHaveLength(exported);
    // v5: header sampling word (mode 1, interval 4); v9: options sampling_interval = 4 for the
    // interface scope; IPFIX: options samplingPacketInterval 1 / samplingPacketSpace 3
    for (const f of flows) expect(f.fields['sampling_rate'], keyOf(f.fields)).toBe(4n);
    const raw = flows.reduce((a, f) => a + (f.fields['bytes'] as bigint), 0n);
    const agg = t.records.filter((r) => r.measurement === 'flow_agg');
    expect(agg).toHaveLength(1);
    expect(agg[0]?.fields['bytes']).toBe(raw * 4n);
  });
});

describe('softflowd IPFIX over more messages than the numbering is learned from', () => {
  it('reports no loss on a clean stream once the numbering is settled', async () => {
    const flows = 400; // ~16 messages of ~26 flows, twice the learning window
    const file = join(tmp.dir, 'traffic-long.pcap');
    writeFileSync(file, writePcap(makeTraffic(flows, Math.floor(Date.now() / 1000) - 60, { ipv6Every: IPV6_EVERY })));
    const port = await freeUdpPort();
    const t = makeTestCtx(join(tmp.dir, 'data-long'));
    execFileSync('mkdir', ['-p', t.ctx.dataDir]);
    const c = flowCollector.create(flowCollector.configSchema.parse({ listen: [{ address: '127.0.0.1', port }], interval: '1h', stats_interval: '1h', receive_buffer: '4MiB' }), t.ctx) as FlowCollector;
    await c.start();
    try {
      const out = await runSoftflowd(file, '10', [port], tmp.dir, ['-6']);
      expect(Number(/Flows exported: (\d+)/.exec(out)?.[1])).toBe(flows);
      await waitFor('all flows received', () => c.processor.exporterStats('127.0.0.1')?.records === flows, 10_000);
      expect(c.processor.exporterStats('127.0.0.1')?.datagrams).toBeGreaterThanOrEqual(2 * 8);
    } finally {
      await c.stop();
    }
    const loss = t.records.filter((r) => r.measurement === 'flow_loss');
    expect(loss).toHaveLength(1);
    expect(loss[0]?.fields).toMatchObject({ received: BigInt(flows), lost: 0n, duplicates: 0n, resets: 0n, numbering: 'flows_after' });
  });
});
