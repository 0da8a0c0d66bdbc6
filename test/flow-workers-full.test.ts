/**
 * `workers: 2` runs everything the in-thread path runs per flow and per exporter: the networks file
 * and interface-role dimensions, the configured sampling map, the interval volumes (`flow_volume`,
 * `flow_if`) with their loss ratio, the `exporter_path` verdicts and each exporter's time source.
 * softflowd 1.1's NetFlow v9 and pmacctd sfprobe's sFlow export of the flow-real bench's
 * 2,000-conversation mix (cached captures, built when missing) are replayed over loopback from four
 * addresses (two exporters per worker) into a collector with `workers: 0` and one with `workers: 2`;
 * every record they write must be the same, but for the window timestamps.
 *
 * Generated on top of the real exports, and labelled as such: one softflowd stream is edited (two
 * datagrams swapped, one sent twice, one left out) so that sequence loss, reordering and
 * duplication are there to be counted; the SNMP interface data is put into the directory as the
 * poller would (the role resolution is under test here, not the poll). softflowd names its
 * interface 0 in options data (IE 82: the capture file it read), so a role rule on that name gives
 * its flows a role learned from the flows themselves.
 */
import type { Socket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readUdpPcap } from '../bench/flow-e2e/capture.js';
import { buildCaptures } from '../bench/flow-e2e/exporters.js';
import type { FlowCollector } from '../collectors/flow/collector.js';
import { flowCollector } from '../collectors/flow/index.js';
import { shardOf } from '../collectors/flow/shard.js';
import { EnrichState, type EnrichConfig } from '../src/enrich/config.js';
import { InterfaceTable } from '../src/enrich/interfaces.js';
import type { NetRecord } from '../src/record/record.js';
import { makeTestCtx } from './helpers/flow-ctx.js';
import { replay, sender } from './helpers/udp-replay.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';

let v9: Buffer[] = [];
let sflow: Buffer[] = [];
const cleanups: (() => Promise<void>)[] = [];
beforeAll(async () => {
  const caps = await buildCaptures({ kind: 'mix', conversations: 2000, seed: 1 }, ['softflowd-v9', 'sfprobe-sflow']);
  [v9, sflow] = caps.map((c) => readUdpPcap(readFileSync(c.file))) as [Buffer[], Buffer[]];
}, 300_000);
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ADDRS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
/** sFlow's ifIndex for "internal" (sFlow v5 §5: 0x3FFFFFFF), what sfprobe reports for both directions. */
const SFLOW_IF = 0x3fffffff;

const NETWORKS_A = `networks:
  10.0.0.0/8: { name: corp, site: par1, role: internal, tenant: acme }
  10.128.0.0/9: { name: lab }
  198.18.0.0/15: { name: bench, site: ams1, tenant: rfc2544 }
  "2001:db8:c::/48": { name: corp6, site: par1 }
`;
const NETWORKS_B = `networks:
  10.0.0.0/8: { name: corp2, site: fra1, tenant: acme }
  198.18.0.0/16: { name: bench-low, site: lon1 }
`;
const RULES_A: EnrichConfig['interface_roles'] = [
  { role: 'capture', name: 'netvigil' },
  { role: 'uplink', descr: 'uplink' },
];
const RULES_B: EnrichConfig['interface_roles'] = [{ role: 'core', device: '^edge' }];

function flowConfig(port: number, workers: number, second: boolean): Record<string, unknown> {
  return {
    listen: [{ address: '127.0.0.1', port }],
    interval: '1h',
    stats_interval: '1h',
    dimensions: ['exporter', 'proto', 'src_net', 'src_site', 'dst_site', 'dst_tenant', 'in_role', 'out_role'],
    max_series: 200_000,
    top_by: ['src_addr', 'dst_addr'],
    top_n: 200,
    workers,
    sampling: second
      ? { default: 2, map: [{ exporter: '127.0.0.3', rate: 64, override: true }] }
      : { default: 8, map: [{ exporter: '127.0.0.2', rate: 4, override: true }, { exporter: '127.0.0.4', in_if: SFLOW_IF, rate: 16, override: true }, { exporter: '127.0.0.0/24', rate: 32 }] },
    exporter_path: { min_datagrams: 1, lost_pct: 0, reordered_pct: 0, duplicated_pct: 0 },
  };
}

/** Two swapped pairs, one datagram twice, one left out: what loss.ts tells apart (generated edit). */
function edited(d: Buffer[]): Buffer[] {
  const e = [...d];
  [e[20], e[21]] = [e[21] as Buffer, e[20] as Buffer];
  [e[40], e[41]] = [e[41] as Buffer, e[40] as Buffer];
  e.splice(60, 0, e[60] as Buffer);
  e.splice(80, 1);
  return e;
}



interface Run {
  records: NetRecord[];
  paths: string[];
  status: { exporters: { exporter: string; datagrams: number; sampling?: unknown; clock?: { source: string } }[] };
  /** Records written before the reload (all of them without one). */
  atReload: number;
}

/** One collector run over the streams; with `reload`, the second half after a SIGHUP-like reload of enrich and flow config. */
async function run(workers: number, streams: [Socket, Buffer[]][], reload: boolean): Promise<Run> {
  const { dir, cleanup } = await makeTmpDir('netvigil-flow-workers-full-');
  cleanups.push(cleanup);
  const port = await freeUdpPort();
  const t = makeTestCtx(dir);
  const table = new InterfaceTable();
  const enrich = new EnrichState(table);
  writeFileSync(join(dir, 'networks.yaml'), NETWORKS_A);
  enrich.apply({ networks_file: 'networks.yaml', interface_roles: RULES_A }, dir);
  // what the SNMP poller puts in the directory (generated): edge1 exports sFlow from 127.0.0.4
  table.update('edge1', ['127.0.0.4'], 'snmp', [{ ifIndex: SFLOW_IF, name: 'internal', descr: 'uplink to core' }]);
  t.ctx.interfaces = table;
  t.ctx.networks = enrich.networks;
  const paths: string[] = [];
  t.ctx.signals.exporterPath = (e, crossed) => void paths.push(`${e} ${crossed.join(',')}`);
  const col = flowCollector.create(flowCollector.configSchema.parse(flowConfig(port, workers, false)), t.ctx) as FlowCollector;
  await col.start();
  cleanups.push(() => col.stop());
  const half = (s: [Socket, Buffer[]], second: boolean): [Socket, Buffer[]] => [s[0], reload ? s[1].slice(second ? s[1].length / 2 : 0, second ? undefined : s[1].length / 2) : s[1]];
  let sent = 0;
  // every datagram sent so far reached a processor (the workers' counts as of a report)
  const handled = async (): Promise<void> => {
    const n = async (): Promise<number> => {
      await col.settle();
      return (col.status() as Run['status']).exporters.reduce((x, e) => x + e.datagrams, 0);
    };
    await waitFor(`${sent} datagrams handled`, async () => (await n()) === sent, 60_000, 100);
  };
  const first = streams.map((s) => half(s, false));
  await replay(port, first);
  sent += first.reduce((x, [, d]) => x + d.length, 0);
  let atReload = Infinity;
  if (reload) {
    await handled(); // before the reload in both runs, so each half is aggregated under its own config
    writeFileSync(join(dir, 'networks.yaml'), NETWORKS_B);
    enrich.apply({ networks_file: 'networks.yaml', interface_roles: RULES_B }, dir);
    atReload = t.records.length;
    await col.reload(flowConfig(port, workers, true));
    atReload = Math.max(atReload, t.records.length);
    const second = streams.map((s) => half(s, true));
    await replay(port, second);
    sent += second.reduce((x, [, d]) => x + d.length, 0);
  }
  await handled();
  await col.stop();
  return { records: t.records, paths: paths.sort(), status: col.status() as Run['status'], atReload };
}

const text = (v: unknown): string => JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));

/** Every record but the raw window timestamps, as sorted text; flow_top by ranked volumes (equal bytes may rank either way). */
function written(records: NetRecord[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of records) {
    const f: Record<string, unknown> = { ...r.fields };
    delete f['window_ms'];
    delete f['window_start_ms'];
    const tags: Record<string, string | undefined> = { ...r.tags };
    if (r.measurement === 'flow_top' && tags['talker'] !== 'other') delete tags['talker'];
    if (r.measurement === 'flow_stats') continue; // counters of the collector itself (workers add theirs)
    (out[r.measurement] ??= []).push(`${text(tags)} ${text(f)}`);
  }
  for (const k of Object.keys(out)) out[k]?.sort();
  return out;
}

async function streams(): Promise<[Socket, Buffer[]][]> {
  const socks = await Promise.all(ADDRS.map((a) => sender(a, cleanups)));
  return [
    [socks[0] as Socket, v9],
    [socks[1] as Socket, edited(v9)],
    [socks[2] as Socket, sflow],
    [socks[3] as Socket, sflow],
  ];
}

describe('flow workers run the whole per-flow path', () => {
  it('two workers own two exporters each', () => {
    expect(ADDRS.map((a) => shardOf(a, 2)).sort()).toEqual([0, 0, 1, 1]);
  });

  it('networks, roles, sampling map, volumes, loss, path verdicts: workers: 2 writes what workers: 0 writes', async () => {
    const s = await streams();
    const [inThread, pooled] = [await run(0, s, false), await run(2, s, false)] as [Run, Run];
    const want = written(inThread.records);
    const got = written(pooled.records);
    // the input reached every part under test
    const sent = s.reduce((n, [, d]) => n + d.length, 0);
    expect(inThread.status.exporters.reduce((n, e) => n + e.datagrams, 0)).toBe(sent);
    expect(pooled.status.exporters.reduce((n, e) => n + e.datagrams, 0)).toBe(sent);
    const agg = want['flow_agg'] ?? [];
    expect(agg.some((r) => r.includes('"src_site":"par1"') && r.includes('"dst_tenant":"rfc2544"'))).toBe(true);
    expect(agg.some((r) => r.includes('"src_net":"lab"'))).toBe(true);
    expect(agg.some((r) => r.includes('"exporter":"127.0.0.2"') && r.includes('"in_role":"capture"'))).toBe(true);
    expect(agg.some((r) => r.includes('"exporter":"127.0.0.4"') && r.includes('"in_role":"uplink"') && r.includes('"out_role":"uplink"'))).toBe(true);
    expect(agg.some((r) => r.includes('"exporter":"127.0.0.3"') && r.includes('"loss_ratio"'))).toBe(true);
    expect(want['flow_if']?.some((r) => r.includes('"if_index":"1073741823"'))).toBe(true);
    expect(want['flow_volume']?.some((r) => r.includes('"exporter":"127.0.0.3"') && !r.includes('"seq_lost":"0n"'))).toBe(true);
    expect(want['flow_volume']?.some((r) => r.includes('"exporter":"127.0.0.4"') && r.includes('"sampling_rate":16'))).toBe(true);
    expect(want['flow_top']?.length).toBeGreaterThan(400);
    expect(inThread.paths).toEqual(['127.0.0.3 lost_pct,reordered_pct,duplicated_pct']);
    // and the same with workers
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const m of Object.keys(want)) expect(got[m], m).toEqual(want[m]);
    expect(pooled.paths).toEqual(inThread.paths);
    const per = (r: Run): string[] => r.status.exporters.map((e) => `${e.exporter} ${text(e.sampling)} ${e.clock?.source}`).sort();
    // sFlow carries no export time: only the NetFlow exporters have a clock
    expect(per(inThread).filter((x) => !x.endsWith('undefined')).map((x) => x.split(' ')[0])).toEqual(['127.0.0.2', '127.0.0.3']);
    expect(per(inThread).every((x) => !x.includes(' undefined '))).toBe(true);
    expect(per(pooled)).toEqual(per(inThread));
  }, 240_000);

  it('a reload (new networks file, role rules, sampling map) reaches the workers: both halves equal to workers: 0', async () => {
    const s = await streams();
    const [inThread, pooled] = [await run(0, s, true), await run(2, s, true)] as [Run, Run];
    for (const r of [inThread, pooled]) {
      const after = written(r.records.slice(r.atReload))['flow_agg'] ?? [];
      const before = written(r.records.slice(0, r.atReload))['flow_agg'] ?? [];
      expect(before.some((x) => x.includes('"src_site":"par1"'))).toBe(true);
      // the second half under the new tables only
      expect(after.some((x) => x.includes('"src_site":"fra1"') && x.includes('"dst_site":"lon1"'))).toBe(true);
      expect(after.some((x) => x.includes('"par1"') || x.includes('"capture"') || x.includes('"uplink"'))).toBe(false);
      expect(after.some((x) => x.includes('"exporter":"127.0.0.4"') && x.includes('"in_role":"core"'))).toBe(true);
      const vol = written(r.records.slice(r.atReload))['flow_volume'] ?? [];
      expect(vol.some((x) => x.includes('"exporter":"127.0.0.3"') && x.includes('"sampling_rate":64'))).toBe(true);
    }
    const want = written(inThread.records);
    const got = written(pooled.records);
    for (const m of Object.keys(want)) expect(got[m], m).toEqual(want[m]);
    expect(pooled.paths).toEqual(inThread.paths);
  }, 240_000);
});
