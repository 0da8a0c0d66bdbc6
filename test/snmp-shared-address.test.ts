/**
 * Two SNMP agents behind one address (127.0.0.1, two snmpd on different ports, different
 * communities and different ifDescr): each device's interface records carry only its own names.
 * Agent B has no ifXTable (a view hides it), so its records have no ifName: before the directory
 * was keyed by device, enrichment filled them with agent A's ifName because both share the address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { App } from '../src/app.js';
import { configSchema } from '../src/commands/common.js';
import { parseConfigText } from '../src/config/load.js';
import { makeTmpDir, waitFor } from './helpers/net.js';
import { startSnmpd, type Snmpd } from './helpers/snmpd.js';

const IF_DESCR_1 = '1.3.6.1.2.1.2.2.1.2.1';
const IF_NAME_1 = '1.3.6.1.2.1.31.1.1.1.1.1';

let a: Snmpd;
let b: Snmpd;
let tmp: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  [a, b, tmp] = await Promise.all([
    startSnmpd(`override .${IF_DESCR_1} octet_str "A-loopback"\noverride .${IF_NAME_1} octet_str "A-lo"`),
    startSnmpd(`view noifx included .1\nview noifx excluded .1.3.6.1.2.1.31.1.1\nrocommunity noifx 127.0.0.1 -V noifx\noverride .${IF_DESCR_1} octet_str "B-loopback"`),
    makeTmpDir(),
  ]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), tmp?.cleanup()]);
});

/** Tags of the `interface` lines in a line-protocol file (no escaped commas in these values). */
function interfaceTags(file: string): Record<string, string>[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.startsWith('interface,'))
    .map((l) => Object.fromEntries((l.split(' ')[0] ?? '').split(',').slice(1).map((kv) => kv.split('=') as [string, string])));
}

describe('devices sharing an address', () => {
  it('never get each other\'s interface names, and flows from the address get no device', async () => {
    writeFileSync(
      join(tmp.dir, 'devices.yaml'),
      `defaults: { version: v2c, profiles: [interfaces], interval: 1s, timeout: 1s }
devices:
  - { name: agentA, address: 127.0.0.1, port: ${a.port}, credentials: { community: public } }
  - { name: agentB, address: 127.0.0.1, port: ${b.port}, credentials: { community: noifx } }
`,
    );
    const cfg = parseConfigText(
      `data_dir: ${tmp.dir}/data
pipeline: { flush_interval: 200ms }
sinks: { file: { dir: ${tmp.dir}/lp } }
monitor: { enabled: false }
collectors:
  snmp: { devices: devices.yaml }
`,
      join(tmp.dir, 'collector.yaml'),
      configSchema(),
    );
    const app = new App(cfg, { log: pino({ level: 'silent' }), configDir: tmp.dir });
    await app.start();
    const lp = join(tmp.dir, 'lp', 'netvigil.lp');
    try {
      // five polls of each device: their updates of the directory interleave whatever the phases
      await waitFor('five polls of both agents', () => {
        const rows = interfaceTags(lp).filter((t) => t.if_index === '1');
        return rows.filter((t) => t.device === 'agentA').length >= 5 && rows.filter((t) => t.device === 'agentB').length >= 5;
      }, 30_000, 200);
    } finally {
      await app.stop(5000);
    }
    const rows = interfaceTags(lp);
    const ofA = rows.filter((t) => t.device === 'agentA' && t.if_index === '1');
    const ofB = rows.filter((t) => t.device === 'agentB');
    expect(ofA.every((t) => t.if_name === 'A-lo' && t.if_descr === 'A-loopback')).toBe(true);
    expect(ofB.filter((t) => t.if_index === '1').every((t) => t.if_descr === 'B-loopback')).toBe(true);
    expect(ofB.filter((t) => t.if_name !== undefined)).toEqual([]);
    // both devices claim 127.0.0.1 for flows and neither lists it in flow_addresses: no guess
    expect(app.interfaces.deviceName('127.0.0.1')).toBeUndefined();
    expect(app.interfaces.lookup('127.0.0.1', 1)).toBeUndefined();
    expect(app.interfaces.ambiguous()).toEqual([{ address: '127.0.0.1', devices: ['agentA', 'agentB'] }]);
  }, 60_000);
});
