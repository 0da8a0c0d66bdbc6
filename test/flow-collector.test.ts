/**
 * The flow collector on real loopback UDP sockets, fed crafted datagrams: allowlist, malformed input
 * counted by reason and exporter, loss accounting, sampling-scaled aggregation under a series
 * budget, template persistence across a restart, sFlow dispatch, socket reporting.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FlowCollector } from '../collectors/flow/collector.js';
import { flowCollector } from '../collectors/flow/index.js';
import type { NetRecord } from '../src/record/record.js';
import { counterSample, datagram, discardSample, flowSample, genericCounters, sampledIp } from '../collectors/sflow/testutil.js';
import { Bytes, buildV5, set, v9Message, v9OptionsTemplate, v9Template } from './helpers/flow-build.js';
import { pino } from 'pino';
import { readRmemMax } from '../collectors/flow/listener.js';
import { makeTestCtx } from './helpers/flow-ctx.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sender(port?: number): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(port ?? 0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise((r) => s.close(() => r())));
  return s;
}
function send(s: Socket, port: number, buf: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => s.send(buf, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
}

async function start(extra: Record<string, unknown> = {}, dataDir?: string) {
  const dir = dataDir ?? (await makeTmpDir('netvigil-flowc-')).dir;
  const port = await freeUdpPort();
  const t = makeTestCtx(dir);
  const cfg = flowCollector.configSchema.parse({ listen: [{ address: '127.0.0.1', port }], interval: '1h', stats_interval: '1h', receive_buffer: '4MiB', ...extra });
  const c = flowCollector.create(cfg, t.ctx) as FlowCollector;
  await c.start();
  cleanups.push(() => c.stop());
  return { c, t, port, dir };
}

const byMeas = (rs: NetRecord[], m: string): NetRecord[] => rs.filter((r) => r.measurement === m);
const v5flow = (i: number, bytes: number) => ({ src: `10.0.0.${i}`, dst: '10.1.1.1', packets: 1, bytes, first: 0, last: 0, srcPort: 1000 + i, dstPort: 80, proto: 6 });

describe('flow collector', () => {
  it('counts and drops malformed datagrams by reason and exporter, and keeps decoding the rest', async () => {
    const { c, t, port } = await start({ raw: true });
    const s = await sender();
    await send(s, port, v9Message({ uptime: 1, secs: 1, seq: 1, sourceId: 0 }, [new Bytes().u16(256).u16(0).build()]));
    await send(s, port, Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 1, 2, 3]));
    await send(s, port, buildV5({ uptime: 1, secs: 1, seq: 0 }, [v5flow(1, 100)]).subarray(0, 40));
    await send(s, port, buildV5({ uptime: 1, secs: 1, seq: 0 }, [v5flow(1, 100)]));
    await waitFor('4 datagrams', () => c.processor.exporterStats('127.0.0.1')?.datagrams === 4);
    expect(c.processor.exporterStats('127.0.0.1')).toEqual({ datagrams: 4, records: 1, errors: { netflow9_bad_set_length: 1, unsupported: 1, netflow5_truncated: 1 } });
    expect(byMeas(t.records, 'flow')).toHaveLength(1);
    await c.stop();
    const errs = byMeas(t.records, 'flow_stats').filter((r) => r.tags['reason']);
    expect(errs.map((r) => [r.tags['exporter'], r.tags['reason'], r.fields['decode_errors']]).sort()).toEqual([
      ['127.0.0.1', 'netflow5_truncated', 1n], ['127.0.0.1', 'netflow9_bad_set_length', 1n], ['127.0.0.1', 'unsupported', 1n],
    ]);
    expect(t.sockets).toEqual([{ collector: 'flow', family: 'udp4', port, open: false }]);
    const global = byMeas(t.records, 'flow_stats').find((r) => r.tags['exporter'] === undefined);
    expect(global?.fields[`rcvbuf_${port}`] as bigint).toBeGreaterThan(0n);
  });

  it('drops exporters outside the allowlist', async () => {
    const { c, t, port } = await start({ allow: ['10.0.0.0/8', '2001:db8::/32'] });
    const s = await sender();
    await send(s, port, buildV5({ uptime: 1, secs: 1, seq: 0 }, [v5flow(1, 100)]));
    await waitFor('not_allowed counted', () => {
      c.housekeeping(Date.now());
      return byMeas(t.records, 'flow_stats').some((r) => r.fields['not_allowed'] === 1n);
    });
    expect(c.processor.exporterStats('127.0.0.1')).toBeUndefined();
  });

  it('accounts v9 loss, duplicates and exporter restarts per source id', async () => {
    const { c, port } = await start();
    const s = await sender();
    const tpl = set(0, v9Template(256, [[8, 4]]));
    for (const [seq, uptime] of [[1, 100_000], [2, 200_000], [5, 300_000], [4, 299_990], [6, 400_000], [1, 10]]) {
      await send(s, port, v9Message({ uptime: uptime as number, secs: 1_700_000_000, seq: seq as number, sourceId: 3 }, [tpl]));
    }
    await waitFor('6 datagrams', () => c.processor.exporterStats('127.0.0.1')?.datagrams === 6);
    // 1,2 ok; 5: 3 and 4 lost; 4: late, so not lost after all (reordered); 6 ok; 1 with uptime going back: restart
    expect(c.processor.loss.get('127.0.0.1', '9', 3)).toEqual({ received: 6, lost: 1, duplicates: 0, reordered: 1, resets: 1 });
  });

  it('aggregates scaled by sampling rate under the series budget, with top talkers and "other"', async () => {
    const { c, t, port } = await start({ dimensions: ['src_addr'], max_series: 3, top_n: 2, top_by: ['src_addr'] });
    const s = await sender();
    // header sampling 1-in-10; five sources, 100..500 bytes each
    await send(s, port, buildV5({ uptime: 1, secs: 1, seq: 0, sampling: 10 }, [1, 2, 3, 4, 5].map((i) => v5flow(i, i * 100))));
    await waitFor('5 records', () => c.processor.exporterStats('127.0.0.1')?.records === 5);
    await c.stop();
    const agg = byMeas(t.records, 'flow_agg');
    expect(agg).toHaveLength(3);
    expect(agg.reduce((a, r) => a + (r.fields['bytes'] as bigint), 0n)).toBe(15000n);
    expect(agg.find((r) => r.tags['src_addr'] === 'other')?.fields).toMatchObject({ bytes: 12000n, flows: 3n });
    const top = byMeas(t.records, 'flow_top');
    expect(top.map((r) => [r.tags['talker'], r.fields['bytes']])).toEqual([['10.0.0.5', 5000n], ['10.0.0.4', 4000n], ['other', 6000n]]);
    expect(byMeas(t.records, 'flow')).toHaveLength(0); // raw export is off by default
  });

  it('persists templates and options state in the data directory and uses them after a restart', async () => {
    const first = await start();
    const srcPort = await freeUdpPort();
    const s1 = await sender(srcPort);
    // template 256 and, for the whole source id, a sampling interval of 1 in 100 (options data)
    await send(s1, first.port, v9Message({ uptime: 1, secs: 1, seq: 1, sourceId: 0 }, [
      set(0, v9Template(256, [[8, 4], [1, 4]])),
      set(1, v9OptionsTemplate(257, [[1, 4]], [[34, 4]]), 2),
      set(257, new Bytes().u32(0).u32(100).build()),
    ]));
    await waitFor('templates', () => first.c.store.stats().templates === 2);
    await first.c.stop();
    expect(JSON.parse(readFileSync(join(first.dir, 'templates.json'), 'utf8'))).toMatchObject({ templates: [{ exporter: `127.0.0.1:${srcPort}`, def: { id: 256 } }, { def: { id: 257 } }] });
    expect(JSON.parse(readFileSync(join(first.dir, 'options.json'), 'utf8'))).toMatchObject({ sampling: [['127.0.0.1|0|*', 100]] });
    await new Promise<void>((r) => s1.close(() => r()));
    cleanups.pop();
    const second = await start({ raw: true }, first.dir);
    const s2 = await sender(srcPort);
    await send(s2, second.port, v9Message({ uptime: 2, secs: 2, seq: 2, sourceId: 0 }, [set(256, new Bytes().ip4('10.7.7.7').u32(777).build())]));
    await waitFor('flow after restart', () => byMeas(second.t.records, 'flow').length === 1);
    // decoded with the persisted template and scaled by the persisted rate, before any resend
    expect(byMeas(second.t.records, 'flow')[0]?.fields).toMatchObject({ src_addr: '10.7.7.7', bytes: 777n, sampling_rate: 100n });
  });

  it('reloads in place: closes the interval under the old dimensions, keeps state and sockets unless they changed', async () => {
    const { c, t, port } = await start({ dimensions: ['exporter'] });
    const s = await sender();
    await send(s, port, buildV5({ uptime: 1, secs: 1, seq: 0 }, [v5flow(1, 100)]));
    await waitFor('first flow', () => c.processor.exporterStats('127.0.0.1')?.records === 1);
    await c.reload({ listen: [{ address: '127.0.0.1', port }], dimensions: ['proto'], raw: true, interval: '1h', stats_interval: '1h', receive_buffer: '4MiB' });
    expect(byMeas(t.records, 'flow_agg').map((r) => [r.tags['exporter'], r.fields['bytes']])).toEqual([['127.0.0.1', 100n]]);
    expect(t.sockets).toHaveLength(1);
    await send(s, port, buildV5({ uptime: 2, secs: 2, seq: 1 }, [v5flow(2, 200)]));
    await waitFor('raw flow after reload', () => byMeas(t.records, 'flow').length === 1);
    expect(c.processor.loss.get('127.0.0.1', '5', 0)).toMatchObject({ received: 2, lost: 0 });
    const port2 = await freeUdpPort();
    await c.reload({ listen: [{ address: '127.0.0.1', port: port2 }], interval: '1h', stats_interval: '1h', receive_buffer: '4MiB' });
    expect(t.sockets.map((x) => [x.port, x.open])).toEqual([[port, false], [port2, true]]);
    await send(s, port2, buildV5({ uptime: 3, secs: 3, seq: 2 }, [v5flow(3, 300)]));
    await waitFor('flow on the new port', () => c.processor.exporterStats('127.0.0.1')?.records === 3);
    expect(byMeas(t.records, 'flow')).toHaveLength(1); // raw export is off again
  });

  it('dispatches sFlow v5 on the same port to the sFlow decoder', async () => {
    const { c, t, port } = await start();
    const s = await sender();
    const dg = new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'collectors', 'sflow', 'testcases', 'interface-counters', 'input-01.bin')));
    await send(s, port, dg);
    await waitFor('sflow datagram', () => c.processor.exporterStats('127.0.0.1')?.datagrams === 1);
    expect(c.processor.exporterStats('127.0.0.1')?.errors).toEqual({});
    const ifs = byMeas(t.records, 'interface');
    expect(ifs.length).toBeGreaterThan(0);
    expect(ifs[0]?.tags['source']).toBe('sflow');
  });

  it('never labels two aggregate flushes with the same interval time (they would overwrite in InfluxDB)', async () => {
    const cfg = { listen: [] as unknown[], interval: '1h', stats_interval: '1h', receive_buffer: '4MiB' };
    const { c, t, port } = await start();
    cfg.listen = [{ address: '127.0.0.1', port }];
    const s = await sender();
    await send(s, port, buildV5({ uptime: 1, secs: 1, seq: 0 }, [v5flow(1, 100)]));
    await waitFor('first datagram', () => c.processor.exporterStats('127.0.0.1')?.records === 1);
    await c.reload(cfg); // flushes mid-interval
    await send(s, port, buildV5({ uptime: 2, secs: 2, seq: 1 }, [v5flow(1, 200)]));
    await waitFor('second datagram', () => c.processor.exporterStats('127.0.0.1')?.records === 2);
    await c.stop(); // flushes again, still inside the same hour
    const times = byMeas(t.records, 'flow_agg').map((r) => r.time);
    expect(times).toHaveLength(2);
    expect(new Set(times).size).toBe(2);
    expect(byMeas(t.records, 'flow_agg').reduce((a, r) => a + Number(r.fields.bytes), 0)).toBe(300);
  });

  it('emits sFlow discard samples as flow_discard and never aggregates them as traffic', async () => {
    const { c, t, port } = await start();
    const s = await sender();
    const ip = sampledIp({ length: 1000, proto: 6, src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2 });
    await send(s, port, datagram({ agent: '127.0.0.1', samples: [flowSample({ samplingRate: 10, records: [ip] }), discardSample({ reason: 2, drops: 5, records: [ip] })] }));
    await waitFor('sflow datagram', () => c.processor.exporterStats('127.0.0.1')?.datagrams === 1);
    expect(byMeas(t.records, 'flow_discard')).toHaveLength(1);
    await c.stop(); // flushes the interval's aggregates
    const agg = byMeas(t.records, 'flow_agg');
    expect(agg.reduce((a, r) => a + Number(r.fields.bytes ?? 0), 0)).toBe(10 * 1000); // the flow sample only, scaled
    expect(agg.reduce((a, r) => a + Number(r.fields.flows ?? 0), 0)).toBe(1);
  });

  it('accounts sFlow loss per agent datagram stream and per sample source', async () => {
    const { c, port } = await start();
    const s = await sender();
    const dg = (seq: number, sampleSeq: number, uptimeMs: number) =>
      datagram({ agent: '127.0.0.1', sequence: seq, uptimeMs, samples: [counterSample({ sequence: sampleSeq, sourceIndex: 7, records: [genericCounters({ ifIndex: 7, inOctets: 1n, inUcast: 1, outOctets: 1n, outUcast: 1 })] })] });
    for (const [seq, ss, up] of [[1, 1, 100_000], [2, 2, 200_000], [4, 5, 300_000], [3, 3, 299_990], [1, 1, 10]] as const) await send(s, port, dg(seq, ss, up));
    await waitFor('5 datagrams', () => c.processor.exporterStats('127.0.0.1')?.datagrams === 5);
    // datagram 3 and sample 3 arrive late: reordered, taken back from loss (sample 4 stays lost)
    expect(c.processor.loss.get('127.0.0.1', 'sflow5', '0')).toEqual({ received: 5, lost: 0, duplicates: 0, reordered: 1, resets: 1 });
    expect(c.processor.loss.get('127.0.0.1', 'sflow5', '0/counters/0:7')).toEqual({ received: 5, lost: 1, duplicates: 0, reordered: 1, resets: 1 });
  });

  it('asks for a large receive buffer and warns when net.core.rmem_max caps it', async () => {
    const rmemMax = readRmemMax();
    if (rmemMax === undefined) return;
    const lines: string[] = [];
    const { dir } = await makeTmpDir('netvigil-flowc-');
    const t = makeTestCtx(dir);
    t.ctx.log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const port = await freeUdpPort();
    const want = rmemMax * 2;
    const c = flowCollector.create(flowCollector.configSchema.parse({ listen: [{ address: '127.0.0.1', port }], receive_buffer: want }), t.ctx) as FlowCollector;
    await c.start();
    cleanups.push(() => c.stop());
    const warn = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((o) => o['level'] === 40);
    expect(warn).toMatchObject({ port, requested: want, rmem_max: rmemMax });
    // Linux reports twice the usable size it granted (socket(7)); capped means at most 2 * rmem_max
    expect(warn?.['granted'] as number).toBeLessThanOrEqual(2 * rmemMax);
  });

  it('listens on IPv6 and names IPv4 senders on a dual-stack socket by their IPv4 address', async () => {
    const dir = (await makeTmpDir('netvigil-flowc-')).dir;
    const t = makeTestCtx(dir);
    const probe = createSocket('udp6');
    const hasV6 = await new Promise<boolean>((r) => {
      probe.once('error', () => r(false));
      probe.bind(0, '::1', () => r(true));
    });
    probe.close();
    if (!hasV6) return; // no IPv6 loopback in this environment
    const c = flowCollector.create(flowCollector.configSchema.parse({ listen: [{ address: '::', port: 0 }], raw: true }), t.ctx) as FlowCollector;
    await c.start();
    cleanups.push(() => c.stop());
    const port = c.ports()[0] as number;
    expect(t.sockets[0]).toMatchObject({ family: 'udp6', port });
    const v6 = createSocket('udp6');
    await new Promise<void>((r) => v6.bind(0, '::1', () => r()));
    cleanups.push(() => new Promise((r) => v6.close(() => r())));
    await new Promise<void>((r, j) => v6.send(buildV5({ uptime: 1, secs: 1, seq: 0 }, [v5flow(1, 10)]), port, '::1', (e) => (e ? j(e) : r())));
    const v4 = await sender();
    await send(v4, port, buildV5({ uptime: 1, secs: 1, seq: 0 }, [v5flow(2, 20)]));
    await waitFor('both exporters', () => byMeas(t.records, 'flow').length === 2);
    expect(byMeas(t.records, 'flow').map((r) => r.tags['exporter']).sort()).toEqual(['127.0.0.1', '::1']);
  });
});
