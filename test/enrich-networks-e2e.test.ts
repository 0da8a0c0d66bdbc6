/**
 * Networks and interface roles through the whole collector: snmpd (ifName/ifAlias of two interfaces
 * overridden to router-like names) teaches the interface directory, the role rules classify its
 * interfaces, NetFlow v5 and IPFIX (IPv6) datagrams from the same address are aggregated by
 * src_site, src_net, dst_net, dst_tenant, in_role and out_role, and a SIGHUP-style reload with a
 * changed networks file changes the next interval's tags. The datagrams are generated (documentation
 * addresses); the agent is real.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { App } from '../src/app.js';
import { loadAppConfig } from '../src/commands/common.js';
import { addressBytes } from '../src/wire/address.js';
import { buildV5, Bytes, concat, ipfixMessage, ipfixTemplate, set } from './helpers/flow-build.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { startSnmpd, type Snmpd } from './helpers/snmpd.js';

const IF_X = '1.3.6.1.2.1.31.1.1.1';
let agent: Snmpd;
let tmp: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  [agent, tmp] = await Promise.all([
    startSnmpd(
      [`override .${IF_X}.1.1 octet_str "Te0/1"`, `override .${IF_X}.18.1 octet_str "core: p1"`, `override .${IF_X}.1.2 octet_str "Hu0/2"`, `override .${IF_X}.18.2 octet_str "transit: AS64500"`].join('\n'),
    ),
    makeTmpDir(),
  ]);
});
afterAll(async () => {
  await Promise.all([agent?.stop(), tmp?.cleanup()]);
});

/** flow_agg points of a line-protocol file: the last line per tags + timestamp (a flush may rewrite an interval). */
function flowAgg(file: string): { tags: Record<string, string>; bytes: number }[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const points = new Map<string, { tags: Record<string, string>; bytes: number }>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('flow_agg,')) continue;
    const [series = '', fields = '', ts = ''] = line.split(' ');
    const tags = Object.fromEntries(series.split(',').slice(1).map((kv) => kv.split('=') as [string, string]));
    delete tags.collector;
    points.set(`${series} ${ts}`, { tags, bytes: Number(/(?:^|,)bytes=(\d+)i/.exec(fields)?.[1] ?? NaN) });
  }
  return [...points.values()];
}

/** Bytes per tag tuple, summed over intervals. */
function totals(file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of flowAgg(file)) {
    const k = JSON.stringify(Object.fromEntries(Object.entries(p.tags).sort()));
    out.set(k, (out.get(k) ?? 0) + p.bytes);
  }
  return out;
}
const key = (t: Record<string, string>) => JSON.stringify(Object.fromEntries(Object.entries(t).sort()));

/** IPFIX: source/destination IPv6 (IE 27/28), octets (1), packets (2), ingress/egress interface (10/14). */
function ipfixV6(seq: number, flows: { src: string; dst: string; bytes: number; input: number; output: number }[]): Uint8Array {
  const tpl = set(2, ipfixTemplate(300, [[27, 16], [28, 16], [1, 8], [2, 8], [10, 4], [14, 4]]));
  const data = new Bytes();
  for (const f of flows) data.raw(addressBytes(f.src) as Uint8Array).raw(addressBytes(f.dst) as Uint8Array).u64(BigInt(f.bytes)).u64(1n).u32(f.input).u32(f.output);
  return ipfixMessage({ secs: Math.floor(Date.now() / 1000), seq, domain: 1 }, [concat(tpl), set(300, data.build())]);
}

describe('networks file and interface roles as flow dimensions and tags', () => {
  it('aggregates by site, network, tenant and interface role, and a reload changes them', async () => {
    const flowPort = await freeUdpPort();
    const networks = join(tmp.dir, 'networks.yaml');
    const main = join(tmp.dir, 'collector.yaml');
    const lp = join(tmp.dir, 'lp', 'netvigil.lp');
    writeFileSync(
      networks,
      `networks:\n  10.0.0.0/8: { name: corp, site: par1, tenant: acme }\n  10.9.0.0/16: { name: lab }\n  198.51.100.0/24: { name: customers, site: ams1 }\n  "2001:db8::/32": { name: doc6, site: ams1 }\n  "2001:db8:1::/48": { tenant: beta }\n`,
    );
    writeFileSync(join(tmp.dir, 'devices.yaml'), `devices:\n  - { name: r1, address: 127.0.0.1, port: ${agent.port}, credentials: { community: public }, profiles: [interfaces], interval: 1s, timeout: 1s }\n`);
    writeFileSync(
      main,
      `data_dir: ${tmp.dir}/data
pipeline: { flush_interval: 200ms }
sinks: { file: { dir: ${tmp.dir}/lp } }
monitor: { enabled: false }
enrich:
  networks_file: networks.yaml
  interface_roles:
    - { role: transit, alias: "^transit" }
    - { role: core, name: "^(Te|Hu)" }
collectors:
  snmp: { devices: devices.yaml }
  flow:
    listen: [{ address: 127.0.0.1, port: ${flowPort} }]
    interval: 1s
    dimensions: [src_site, src_net, dst_net, dst_tenant, in_role, out_role]
`,
    );
    const app = new App(loadAppConfig(main, {}, {}), { log: pino({ level: 'silent' }), configDir: tmp.dir });
    await app.start();
    const sock = createSocket('udp4');
    const send = (b: Uint8Array) => new Promise<void>((r, j) => sock.send(b, flowPort, '127.0.0.1', (e) => (e ? j(e) : r())));
    let seq = 0;
    const round = async () => {
      const now = Date.now();
      await send(
        buildV5({ uptime: 100_000, secs: Math.floor(now / 1000), seq: seq, sampling: 0 }, [
          { src: '10.9.1.1', dst: '198.51.100.7', input: 1, output: 2, packets: 1, bytes: 1000, first: 99_000, last: 99_900, srcPort: 1, dstPort: 2, proto: 6 },
          { src: '10.1.1.1', dst: '203.0.113.9', input: 2, output: 1, packets: 1, bytes: 500, first: 99_000, last: 99_900, srcPort: 1, dstPort: 2, proto: 17 },
        ]),
      );
      seq += 2;
      await send(ipfixV6(seq, [{ src: '2001:db8:2::5', dst: '2001:db8:1::6', bytes: 700, input: 1, output: 2 }]));
    };
    try {
      await waitFor('roles of r1\'s interfaces', () => app.interfaces.lookup('127.0.0.1', 2)?.role === 'transit' && app.interfaces.lookup('127.0.0.1', 1)?.role === 'core', 20_000, 100);
      for (let i = 0; i < 3; i++) await round();
      const want = new Map([
        [key({ src_site: 'par1', src_net: 'lab', dst_net: 'customers', in_role: 'core', out_role: 'transit' }), 3000],
        [key({ src_site: 'par1', src_net: 'corp', in_role: 'transit', out_role: 'core' }), 1500],
        [key({ src_site: 'ams1', src_net: 'doc6', dst_net: 'doc6', dst_tenant: 'beta', in_role: 'core', out_role: 'transit' }), 2100],
      ]);
      await waitFor('the three series with all their bytes', () => [...want].every(([k, v]) => totals(lp).get(k) === v), 20_000, 200);
      expect([...totals(lp).keys()].sort()).toEqual([...want.keys()].sort());

      // the SNMP interface records carry the role too
      const ifLines = readFileSync(lp, 'utf8').split('\n').filter((l) => l.startsWith('interface,') && l.includes(',if_index=2,'));
      expect(ifLines.length).toBeGreaterThan(0);
      for (const l of ifLines) expect(l).toContain(',if_role=transit');

      // SIGHUP: the lab network is renamed, the transit rule dropped
      writeFileSync(networks, readFileSync(networks, 'utf8').replace('{ name: lab }', '{ name: lab2 }'));
      writeFileSync(main, readFileSync(main, 'utf8').replace('    - { role: transit, alias: "^transit" }\n', ''));
      const changes = await app.reload(loadAppConfig(main, {}, {}));
      expect(changes).toContain('reloaded enrich');
      expect(app.interfaces.lookup('127.0.0.1', 2)?.role).toBe('core'); // Hu0/2 now matches the core rule
      await round();
      const after = key({ src_site: 'par1', src_net: 'lab2', dst_net: 'customers', in_role: 'core', out_role: 'core' });
      await waitFor('the renamed network after the reload', () => totals(lp).get(after) === 1000, 20_000, 200);
    } finally {
      sock.close();
      await app.stop(5000);
    }
  }, 90_000);
});
