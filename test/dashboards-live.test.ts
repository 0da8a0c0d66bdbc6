/**
 * Every query of the provisioned dashboards and alert rules returns data from what real collectors
 * wrote: two App instances in-process at once (`instance: a` and `b`, as two collectors writing to
 * one database), each with the stack's flow dimensions, polling snmpsim's recorded Cisco 3750 over
 * SNMP, receiving the same NetFlow v5 and sFlow counter datagrams over loopback from that switch's
 * address, the monitor on, writing to a real influxd. Instance b also gets one datagram from a
 * second exporter that then falls silent, polls a device that never answers, and has a series
 * budget of 2, so the silence, device-down and overflow alerts have something real to fire for.
 * Instance a also polls, with profile `health`, the generated all-kinds health recording
 * (helpers/health-recording.ts) on a second snmpsim, for the Device health dashboard.
 * Each template variable, panel target and annotation query runs with Grafana's substitutions:
 * once with one real value per variable (taken from the variable's own query) and once with "All".
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
import { formatSelection, loadAlertRules, loadDashboards, querySites, substitute, type Dashboard } from './helpers/grafana.js';
import { startInfluxd, type Influxd, type InfluxSeries } from './helpers/influxd.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { edgeRecording } from './helpers/health-recording.js';
import { CISCO_COMMUNITY, startSnmpsim, type Snmpsim } from './helpers/snmpsim.js';

const DB = 'netvigil';
const TRAFFIC_MS = 12_000;
// The value each variable is set to in the single-value pass: what the traffic below is about.
// Each must also be among the values the variable's own query returns (asserted).
const PICK: Record<string, string> = { exporter: '127.0.0.1', in_if_name: 'Vl60', device: 'sw3750', if_name: 'Vl60', sink: 'influx', health_device: 'edge-health' };

let influx: Influxd;
let sim: Snmpsim;
let healthSim: Snmpsim;
let tmp: { dir: string; cleanup: () => Promise<void> };

function busyWait(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* a real event-loop stall: the monitor must see it and change the verdict */
  }
}

const send = (sock: Socket, b: Uint8Array, port: number): Promise<void> =>
  new Promise((r, j) => sock.send(b, port, '127.0.0.1', (e) => (e ? j(e) : r())));

/** Exporter traffic from 127.0.0.1 (snmpsim's address, so flows get its interface names), to every port. */
async function sendTraffic(sock: Socket, ports: number[]): Promise<void> {
  const t0 = Date.now();
  let seq = 0;
  let tick = 0;
  while (Date.now() - t0 < TRAFFIC_MS) {
    const uptime = 100_000 + (Date.now() - t0);
    const flows = [
      { src: '10.1.0.1', dst: '10.2.0.1', input: 60, output: 70, packets: 10, bytes: 15_000, srcPort: 1234, dstPort: 443, proto: 6, srcAs: 64500, dstAs: 64501 },
      { src: '10.1.0.2', dst: '10.2.0.2', input: 60, output: 70, packets: 4, bytes: 2_000, srcPort: 5353, dstPort: 53, proto: 17, srcAs: 64502, dstAs: 64501 },
    ].map((f) => ({ ...f, first: uptime - 900, last: uptime - 100 }));
    for (const port of ports) await send(sock, buildV5({ uptime, secs: Math.floor(Date.now() / 1000), seq }, flows), port);
    // one datagram (2 flows) never sent: a real gap for flow_loss
    seq += tick === 5 ? 4 : 2;
    // sFlow counter sample for the same switch's ifIndex 60: raw counters that grow like traffic
    const octets = BigInt(1_000_000 + tick * 125_000);
    const counters = genericCounters({ ifIndex: 60, inOctets: octets, outOctets: octets / 2n, inUcast: 1000 + tick * 100, outUcast: 500 + tick * 50, inErrors: tick, inDiscards: 0 });
    for (const port of ports) await send(sock, datagram({ agent: '127.0.0.1', sequence: tick + 1, uptimeMs: uptime, samples: [counterSample({ sequence: tick + 1, sourceIndex: 60, records: [counters] })] }), port);
    // a datagram cut short: a real decode error for the decode-error panel
    if (tick === 2) for (const port of ports) await send(sock, buildV5({ uptime, secs: Math.floor(Date.now() / 1000), seq }, flows).subarray(0, 30), port);
    if (tick === 4) busyWait(1300); // above the 1000 ms untrusted threshold even with the 100 ms watch period
    tick++;
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  // `edge`: the generated recording with every kind of health value, for the Device health dashboard,
  // on its own snmpsim so its walks never slow the polls of sw3750 (the device-down alert below).
  [influx, sim, healthSim, tmp] = await Promise.all([startInfluxd(), startSnmpsim(), startSnmpsim({ edge: edgeRecording() }), makeTmpDir()]);
  const deployFlow = (parse(readFileSync(join(import.meta.dirname, '..', 'deploy', 'netvigil', 'collector.yaml'), 'utf8')) as { collectors: { flow: { dimensions: string[]; max_series: number } } }).collectors.flow;
  const ports = await Promise.all([freeUdpPort(), freeUdpPort(), freeUdpPort(), freeUdpPort(), freeUdpPort()]);
  const [portA, portB, trapA, trapB, deadPort] = ports as [number, number, number, number, number];
  const device = (name: string, port: number, timeout: string): string =>
    `  - name: ${name}\n    address: 127.0.0.1\n    port: ${port}\n    version: v2c\n    credentials: { community: ${CISCO_COMMUNITY} }\n    profiles: [system, interfaces]\n    interval: 2s\n    timeout: ${timeout}\n`;
  // Timeouts of 6 s for the devices that answer: snmpsim (Python) serving both instances' walks took
  // over 2 s at load average 9-10 on 2 cores (a CI run with other jobs), and one timed-out poll is
  // what the device-down alert fires on; the health profiles run once here (60 s apart), so a timed-out
  // first health poll would leave its panels empty.
  const health = `  - { name: edge-health, address: 127.0.0.1, port: ${healthSim.port}, credentials: { community: edge }, profiles: [system, health], interval: 2s, timeout: 6s }\n`;
  writeFileSync(join(tmp.dir, 'devices-a.yaml'), `devices:\n${device('sw3750', sim.port, '6s')}${health}`);
  // b also polls a port nobody answers on: a device that is really down
  writeFileSync(join(tmp.dir, 'devices-b.yaml'), `devices:\n${device('sw3750', sim.port, '6s')}${device('sw-down', deadPort, '500ms').replace('127.0.0.1', '127.0.0.3')}`);
  // clock_step_ms degraded at 0: the detector then reports the sub-millisecond disagreement between
  // Date.now() and the monotonic clock that every real sample shows, so vm_clock_step has real
  // records without stepping this machine's clock (root, and it would disturb every other test).
  const config = (instance: string, flowPort: number, trapPort: number, maxSeries: number) =>
    parseConfigText(
      `data_dir: ${tmp.dir}/data-${instance}
instance: ${instance}
telemetry_interval: 1s
pipeline: { flush_interval: 200ms }
sinks:
  influx: { url: "${influx.url}", database: ${DB} }
monitor:
  interval: 500ms
  recover_after: 1s
  thresholds: { clock_step_ms: { degraded: 0, untrusted: null } }
xcheck: { min_octets: 0 }
collectors:
  snmp: { devices: devices-${instance}.yaml }
  snmptrap: { address: 127.0.0.1, port: ${trapPort}, report_interval: 1s }
  flow:
    listen: [{ address: 127.0.0.1, port: ${flowPort} }]
    interval: 2s
    stats_interval: 1s
    dimensions: [${deployFlow.dimensions.join(', ')}]
    max_series: ${maxSeries}
`,
      join(tmp.dir, `collector-${instance}.yaml`),
      configSchema(),
    );
  const apps = [new App(config('a', portA, trapA, deployFlow.max_series), { log: pino({ level: 'silent' }), configDir: tmp.dir }), new App(config('b', portB, trapB, 2), { log: pino({ level: 'silent' }), configDir: tmp.dir })];
  for (const app of apps) await app.start();
  const sock = createSocket('udp4');
  const other = createSocket('udp4');
  try {
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    await new Promise<void>((r) => other.bind(0, '127.0.0.2', r));
    for (const app of apps) await waitFor('SNMP interface table for 127.0.0.1', () => app.interfaces.lookup('127.0.0.1', 60), 30_000);
    // one datagram from a second exporter, then nothing: silent for the rest of the run
    await send(other, buildV5({ uptime: 5000, secs: Math.floor(Date.now() / 1000), seq: 0 }, [{ src: '10.9.0.1', dst: '10.9.0.2', input: 1, output: 2, packets: 1, bytes: 100, srcPort: 1, dstPort: 2, proto: 17, first: 4000, last: 4500 }]), portB);
    await sendTraffic(sock, [portA, portB]);
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    sock.close();
    other.close();
    await Promise.all(apps.map((a) => a.stop(5000)));
  }
}, 90_000);

afterAll(async () => {
  await Promise.all([influx?.cleanup(), sim?.stop(), healthSim?.stop(), tmp?.cleanup()]);
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
    const loss = await influx.query(DB, `SELECT last("received"), last("lost") FROM "flow_loss" WHERE "version" = '5' AND "exporter" = '127.0.0.1' AND "instance" = 'a' AND time > now() - 1h`);
    const [received, lost] = (loss[0]?.values[0]?.slice(1) ?? []) as number[];
    expect(lost).toBe(2);
    expect(received).toBeGreaterThanOrEqual(2 * 10);
    const as = await influx.query(DB, `SELECT sum("bytes") FROM "flow_agg" WHERE "in_if_name" = 'Vl60' AND "instance" = 'a' AND time > now() - 1h GROUP BY "src_as"`);
    const datagrams = (received ?? 0) / 2;
    expect(Object.fromEntries(as.map((s) => [s.tags?.src_as, s.values[0]?.[1]]))).toEqual({ 64500: datagrams * 15_000, 64502: datagrams * 2_000 });
  });
});

/** Measurements whose fields are per-process counters or samples: two instances must not mix. */
const PER_PROCESS = /FROM "(vm_\w+|netvigil_\w+|flow_loss|flow_stats|snmptrap_stats)"/;

describe('two instances writing at once', () => {
  it('every panel over per-process counters shows each instance apart', async () => {
    let checked = 0;
    for (const { dash } of loadDashboards()) {
      for (const r of await runDashboard(dash, 'all')) {
        if (r.where.startsWith('annotation')) {
          // events, not aggregates: each row names its instance (a tag of the annotation)
          const col = r.series[0]?.columns.indexOf('instance') ?? -1;
          expect(new Set(r.series.flatMap((x) => x.values.map((row) => row[col]))), r.query).toEqual(new Set(['a', 'b']));
          continue;
        }
        if (r.where.startsWith('variable') || !PER_PROCESS.test(r.query) || !hasValues(r.series)) continue;
        checked++;
        // a difference or derivative over one series per instance: never two counters interleaved
        expect(new Set(r.series.map((x) => x.tags?.instance)), `${r.where}: ${r.query}`).toEqual(new Set(['a', 'b']));
      }
    }
    expect(checked).toBeGreaterThan(15);
  });

  it('each instance counts the same datagrams once, on its own series', async () => {
    // b got one more datagram (the silent exporter) and its overflow; a's and b's 127.0.0.1 counts match
    const rows = await influx.query(DB, `SELECT last("datagrams") FROM "flow_stats" WHERE "exporter" = '127.0.0.1' AND "reason" = '' AND time > now() - 1h GROUP BY "instance"`);
    const byInstance = Object.fromEntries(rows.map((x) => [x.tags?.instance, x.values[0]?.[1]]));
    expect(byInstance.a).toBeGreaterThan(20);
    expect(byInstance.b).toBe(byInstance.a);
  });
});

describe('alert rules', () => {
  const rules = loadAlertRules();
  const firing = async (uid: string): Promise<string[]> => {
    const rule = rules.find((r) => r.uid === uid);
    if (!rule) throw new Error(`no rule ${uid}`);
    const query = substitute(rule.query, { timeFilter: `time > now() - ${rule.fromSeconds}s`, interval: '1m', intervalMs: 60_000, vars: {} });
    const series = await influx.query(DB, query);
    expect(series.length, `${uid}: ${query}`).toBeGreaterThan(0);
    // B: the last non-null value of each series; C: the threshold
    return series
      .filter((x) => {
        const last = x.values.map((row) => row[1]).filter((v) => v !== null).at(-1) as number | undefined;
        return last !== undefined && (rule.op === 'gt' ? last > rule.threshold : last < rule.threshold);
      })
      .map((x) => Object.entries(x.tags ?? {}).sort().map(([k, v]) => `${k}=${v}`).join(','))
      .sort();
  };

  it('there are the six rules, each a query, a last-value reduction and a threshold', () => {
    expect(rules.map((r) => r.uid).sort()).toEqual(['netvigil-exporter-silent', 'netvigil-flow-loss', 'netvigil-series-overflow', 'netvigil-snmp-device-down', 'netvigil-spool-growing', 'netvigil-verdict-untrusted']);
  });

  it('fire for what really happened, and only for it', async () => {
    expect(await firing('netvigil-exporter-silent')).toEqual(['exporter=127.0.0.2,instance=b']);
    expect(await firing('netvigil-flow-loss')).toEqual(['domain=0,exporter=127.0.0.1,instance=a,version=5', 'domain=0,exporter=127.0.0.1,instance=b,version=5']);
    expect(await firing('netvigil-verdict-untrusted')).toEqual(['instance=a', 'instance=b']);
    expect(await firing('netvigil-spool-growing')).toEqual([]);
    expect(await firing('netvigil-snmp-device-down')).toEqual(['device=sw-down,instance=b']);
    expect(await firing('netvigil-series-overflow')).toEqual(['instance=b']);
  });
});
