/**
 * The whole path in one process: SNMP polling of the recorded Cisco 3750 (snmpsim) teaches the
 * interface table; NetFlow v5 from the same address is aggregated, enriched with the SNMP interface
 * names and the VM verdict, and lands in a real influxd.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { App } from '../src/app.js';
import { configSchema } from '../src/commands/common.js';
import { parseConfigText } from '../src/config/load.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { freeUdpPort, makeTmpDir, waitFor } from './helpers/net.js';
import { CISCO_COMMUNITY, startSnmpsim, type Snmpsim } from './helpers/snmpsim.js';
import { buildV5 } from './helpers/flow-build.js';

let influx: Influxd;
let sim: Snmpsim;
let tmp: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  [influx, sim, tmp] = await Promise.all([startInfluxd(), startSnmpsim(), makeTmpDir()]);
});
afterAll(async () => {
  await Promise.all([influx?.cleanup(), sim?.stop(), tmp?.cleanup()]);
});

describe('flows enriched with SNMP interface names, end to end', () => {
  it('writes flow_agg with in/out interface names and the device name from the inventory', async () => {
    const flowPort = await freeUdpPort();
    writeFileSync(
      join(tmp.dir, 'devices.yaml'),
      `devices:\n  - name: sw3750\n    address: 127.0.0.1\n    port: ${sim.port}\n    version: v2c\n    credentials: { community: ${CISCO_COMMUNITY} }\n    profiles: [interfaces]\n    interval: 2s\n    timeout: 2s\n`,
    );
    const cfg = parseConfigText(
      `data_dir: ${tmp.dir}/data
telemetry_interval: 1s
pipeline: { flush_interval: 200ms }
sinks:
  influx: { url: "${influx.url}", database: e2e }
monitor: { interval: 500ms }
collectors:
  snmp: { devices: devices.yaml }
  flow:
    listen: [{ address: 127.0.0.1, port: ${flowPort} }]
    interval: 1s
    stats_interval: 1s
    dimensions: [exporter, in_if, out_if, proto]
`,
      join(tmp.dir, 'collector.yaml'),
      configSchema(),
    );
    const app = new App(cfg, { log: pino({ level: 'silent' }), configDir: tmp.dir });
    await app.start();
    const sock = createSocket('udp4');
    try {
      await waitFor('SNMP interface table for 127.0.0.1', () => app.interfaces.lookup('127.0.0.1', 60), 30_000);
      const now = Date.now();
      for (let seq = 0; seq < 3; seq++) {
        const dgram = buildV5({ uptime: 100_000, secs: Math.floor(now / 1000), seq: seq * 2 }, [
          { src: '10.1.0.1', dst: '10.2.0.1', input: 60, output: 70, packets: 10, bytes: 1500, first: 99_000, last: 99_900, srcPort: 1234, dstPort: 80, proto: 6 },
          { src: '10.1.0.2', dst: '10.2.0.2', input: 60, output: 70, packets: 5, bytes: 500, first: 99_000, last: 99_900, srcPort: 1235, dstPort: 443, proto: 6 },
        ]);
        await new Promise<void>((r, j) => sock.send(dgram, flowPort, '127.0.0.1', (e) => (e ? j(e) : r())));
      }
      const q = `SELECT sum(bytes), sum(packets) FROM flow_agg WHERE in_if_name = 'Vl60' GROUP BY in_if_name, out_if_name, device`;
      // the datagrams may straddle two aggregation intervals: wait until the sums cover all three
      const rows = await waitFor(
        'enriched flow_agg totals in InfluxDB',
        async () => {
          const r = await influx.query('e2e', q).catch(() => []);
          return r[0]?.values[0]?.[1] === 3 * 2000 ? r : undefined;
        },
        30_000,
        200,
      );
      expect(rows[0]?.tags).toEqual({ in_if_name: 'Vl60', out_if_name: 'Vl70', device: 'sw3750' });
      expect(rows[0]?.values[0]?.slice(1)).toEqual([3 * 2000, 3 * 15]);
      // the verdict rides along as a field on every record, SNMP interface counters included
      const verdicts = await influx.query('e2e', 'SELECT count(vm_verdict) FROM flow_agg, interface');
      expect(verdicts.map((s) => s.name).sort()).toEqual(['flow_agg', 'interface']);
      const iface = await influx.query('e2e', `SELECT last(in_octets) FROM interface WHERE device = 'sw3750' AND if_index = '60'`);
      expect(iface[0]?.values.length).toBe(1);
    } finally {
      sock.close();
      await app.stop(5000);
    }
  });
});
