/**
 * Every query of the provisioned dashboards returns data from what a real collector wrote: one App
 * in-process with the stack's flow dimensions, polling snmpsim's recorded Cisco 3750 over SNMP,
 * receiving NetFlow v5 and sFlow counter datagrams over loopback from that switch's address, the
 * monitor on, writing to a real influxd. Then each template variable, panel target and annotation
 * query runs with Grafana's substitutions: once with one real value per variable (taken from the
 * variable's own query) and once with "All".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { parse } from 'yaml';
import { App } from '../src/app.js';
import { configSchema } from '../src/commands/common.js';
import { parseConfigText } from '../src/config/load.js';
import { counterSample, datagram, genericCounters } from '../collectors/sflow/testutil.js';
import { buildV5 } from './helpers/flow-build.js';
import { formatSelection, loadDashboards, querySites, substitute, type Dashboard } from './helpers/grafana.js';
import { startInfluxd, type Influxd, type InfluxSeries } from './helpers/influxd.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { CISCO_COMMUNITY, startSnmpsim, type Snmpsim } from './helpers/snmpsim.js';

const DB = 'netvigil';
const TRAFFIC_MS = 12_000;
// The value each variable is set to in the single-value pass: what the traffic below is about.
// Each must also be among the values the variable's own query returns (asserted).
const PICK: Record<string, string> = { exporter: '127.0.0.1', in_if_name: 'Vl60', device: 'sw3750', if_name: 'Vl60', sink: 'influx' };

let influx: Influxd;
let sim: Snmpsim;
let tmp: { dir: string; cleanup: () => Promise<void> };

function busyWait(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* a real event-loop stall: the monitor must see it and change the verdict */
  }
}

const send = (sock: Socket, b: Uint8Array, port: number): Promise<void> =>
  new Promise((r, j) => sock.send(b, port, '127.0.0.1', (e) => (e ? j(e) : r())));

/** Exporter traffic from 127.0.0.1 (snmpsim's address, so flows get its interface names). */
async function sendTraffic(sock: Socket, port: number): Promise<void> {
  const t0 = Date.now();
  let seq = 0;
  let tick = 0;
  while (Date.now() - t0 < TRAFFIC_MS) {
    const uptime = 100_000 + (Date.now() - t0);
    const flows = [
      { src: '10.1.0.1', dst: '10.2.0.1', input: 60, output: 70, packets: 10, bytes: 15_000, srcPort: 1234, dstPort: 443, proto: 6, srcAs: 64500, dstAs: 64501 },
      { src: '10.1.0.2', dst: '10.2.0.2', input: 60, output: 70, packets: 4, bytes: 2_000, srcPort: 5353, dstPort: 53, proto: 17, srcAs: 64502, dstAs: 64501 },
    ].map((f) => ({ ...f, first: uptime - 900, last: uptime - 100 }));
    await send(sock, buildV5({ uptime, secs: Math.floor(Date.now() / 1000), seq }, flows), port);
    // one datagram (2 flows) never sent: a real gap for flow_loss
    seq += tick === 5 ? 4 : 2;
    // sFlow counter sample for the same switch's ifIndex 60: raw counters that grow like traffic
    const octets = BigInt(1_000_000 + tick * 125_000);
    const counters = genericCounters({ ifIndex: 60, inOctets: octets, outOctets: octets / 2n, inUcast: 1000 + tick * 100, outUcast: 500 + tick * 50, inErrors: tick, inDiscards: 0 });
    await send(sock, datagram({ agent: '127.0.0.1', sequence: tick + 1, uptimeMs: uptime, samples: [counterSample({ sequence: tick + 1, sourceIndex: 60, records: [counters] })] }), port);
    if (tick === 4) busyWait(1300); // above the 1000 ms untrusted threshold even with the 100 ms watch period
    tick++;
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  [influx, sim, tmp] = await Promise.all([startInfluxd(), startSnmpsim(), makeTmpDir()]);
  const deployFlow = (parse(readFileSync(join(import.meta.dirname, '..', 'deploy', 'netvigil', 'collector.yaml'), 'utf8')) as { collectors: { flow: { dimensions: string[] } } }).collectors.flow;
  const flowPort = await freeUdpPort();
  writeFileSync(
    join(tmp.dir, 'devices.yaml'),
    `devices:\n  - name: sw3750\n    address: 127.0.0.1\n    port: ${sim.port}\n    version: v2c\n    credentials: { community: ${CISCO_COMMUNITY} }\n    profiles: [system, interfaces]\n    interval: 2s\n    timeout: 2s\n`,
  );
  // clock_step_ms degraded at 0: the detector then reports the sub-millisecond disagreement between
  // Date.now() and the monotonic clock that every real sample shows, so vm_clock_step has real
  // records without stepping this machine's clock (root, and it would disturb every other test).
  const cfg = parseConfigText(
    `data_dir: ${tmp.dir}/data
telemetry_interval: 1s
pipeline: { flush_interval: 200ms }
sinks:
  influx: { url: "${influx.url}", database: ${DB} }
monitor:
  interval: 500ms
  recover_after: 1s
  thresholds: { clock_step_ms: { degraded: 0, untrusted: null } }
collectors:
  snmp: { devices: devices.yaml }
  flow:
    listen: [{ address: 127.0.0.1, port: ${flowPort} }]
    interval: 2s
    stats_interval: 1s
    dimensions: [${deployFlow.dimensions.join(', ')}]
`,
    join(tmp.dir, 'collector.yaml'),
    configSchema(),
  );
  const app = new App(cfg, { log: pino({ level: 'silent' }), configDir: tmp.dir });
  await app.start();
  const sock = createSocket('udp4');
  try {
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    await waitFor('SNMP interface table for 127.0.0.1', () => app.interfaces.lookup('127.0.0.1', 60), 30_000);
    await sendTraffic(sock, flowPort);
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    sock.close();
    await app.stop(5000);
  }
}, 90_000);

afterAll(async () => {
  await Promise.all([influx?.cleanup(), sim?.stop(), tmp?.cleanup()]);
});

const hasValues = (series: InfluxSeries[]): boolean => series.some((s) => s.values.some((row) => row.slice(1).some((v) => v !== null)));

/** Resolves the variables in order (a variable's query may use earlier ones) and runs every query. */
async function runDashboard(dash: Dashboard, mode: 'pick' | 'all'): Promise<{ where: string; query: string; series: InfluxSeries[] }[]> {
  const sub = { timeFilter: 'time > now() - 1h', interval: '10s', intervalMs: 10_000, vars: {} as Record<string, string> };
  const results: { where: string; query: string; series: InfluxSeries[] }[] = [];
  for (const v of dash.templating.list) {
    const query = substitute(v.query ?? '', sub);
    const series = await influx.query(DB, query);
    results.push({ where: `variable $${v.name}`, query, series });
    const values = series.flatMap((s) => s.values.map((row) => String(row[1])));
    expect(values.length, `${dash.uid} $${v.name}: ${query}`).toBeGreaterThan(0);
    if (mode === 'pick') expect(values, `${dash.uid} $${v.name}`).toContain(PICK[v.name]);
    sub.vars[v.name] = formatSelection(v, mode === 'all' ? { kind: 'all', values } : { kind: 'values', values: [PICK[v.name] ?? ''] });
  }
  for (const s of querySites(dash).filter((x) => !x.where.startsWith('variable'))) {
    const query = substitute(s.query, sub);
    results.push({ where: s.where, query, series: await influx.query(DB, query) });
  }
  return results;
}

describe('every dashboard query returns data from a real collector run', () => {
  for (const { file, dash } of loadDashboards()) {
    for (const mode of ['pick', 'all'] as const) {
      it(`${file}, variables ${mode === 'pick' ? 'set to one value each' : 'set to All'}`, async () => {
        const results = await runDashboard(dash, mode);
        expect(results.length).toBeGreaterThan(8);
        const empty = results.filter((r) => !hasValues(r.series)).map((r) => `${r.where}: ${r.query}`);
        expect(empty).toEqual([]);
      });
    }
  }

  it('the verdict annotations carry real events: the stall made the VM untrusted', async () => {
    const rows = await influx.query(DB, `SELECT "verdict", "reasons" FROM "vm_verdict" WHERE time > now() - 1h`);
    const events = rows.flatMap((s) => s.values.map((r) => `${String(r[1])}:${String(r[2])}`));
    expect(events.some((e) => e.startsWith('untrusted:') && e.includes('loop_stall'))).toBe(true);
  });

  it('the AS, interface-name and loss panels see what was sent', async () => {
    // every datagram carried one flow of each AS, and one datagram (2 flows) was skipped
    const loss = await influx.query(DB, `SELECT last("received"), last("lost") FROM "flow_loss" WHERE "version" = '5' AND time > now() - 1h`);
    const [received, lost] = (loss[0]?.values[0]?.slice(1) ?? []) as number[];
    expect(lost).toBe(2);
    expect(received).toBeGreaterThanOrEqual(2 * 10);
    const as = await influx.query(DB, `SELECT sum("bytes") FROM "flow_agg" WHERE "in_if_name" = 'Vl60' AND time > now() - 1h GROUP BY "src_as"`);
    const datagrams = (received ?? 0) / 2;
    expect(Object.fromEntries(as.map((s) => [s.tags?.src_as, s.values[0]?.[1]]))).toEqual({ 64500: datagrams * 15_000, 64502: datagrams * 2_000 });
  });
});
