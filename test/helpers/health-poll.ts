/**
 * Polls one snmpsim community (or another agent's port) through the real DevicePoller with the
 * built-in profiles, and checks that every tag and field written is stated in the profile docs the
 * README is generated from. Shared by the test/snmp-health*.test.ts files.
 */
import { expect } from 'vitest';
import { documentedNames } from '../../collectors/snmp/health/docs.js';
import { devicesOf, inventorySchema } from '../../collectors/snmp/inventory.js';
import { SnmpClient } from '../../collectors/snmp/netsnmp.js';
import { DevicePoller, type PollStats } from '../../collectors/snmp/poller.js';
import { BUILTIN_PROFILES } from '../../collectors/snmp/profiles.js';
import type { NetRecord } from '../../src/record/record.js';
import { harness } from './snmpd.js';

export interface Polled {
  records: NetRecord[];
  errors: unknown[];
  infos: string[];
  walks: string[][];
  stats: PollStats[];
}

/** Polls one snmpsim community (or another agent's port) `times` times (`gapMs` apart) through the real poller. */
export async function pollDevice(port: number, community: string, extra: Record<string, unknown> = {}, times = 1, gapMs = 0): Promise<Polled> {
  const inv = inventorySchema.parse({ devices: [{ name: community, address: '127.0.0.1', port, credentials: { community }, profiles: ['health'], timeout: '2s', ...extra }] });
  const spec = devicesOf(inv)[0];
  if (!spec) throw new Error('no device');
  const h = harness('/tmp', '/tmp');
  const infos: string[] = [];
  const client = new SnmpClient({ device: spec.name, address: spec.address, port: spec.port, timeoutMs: spec.timeoutMs, retries: spec.retries, credentials: spec.credentials });
  const walks: string[][] = [];
  const walk = client.walk.bind(client);
  // Counts the real walks (the agent is still asked): the walk-once check below.
  client.walk = (oid, o) => (walks.at(-1)?.push(oid), walk(oid, o));
  const poller = new DevicePoller(spec, client, { emit: (r) => h.ctx.emitter.emit(r), error: (e, c) => h.ctx.emitter.error(e, c), info: (m) => void infos.push(m), interfaces: h.ctx.interfaces, profiles: new Map(Object.entries(BUILTIN_PROFILES)), maxValuesPerWalk: 20_000 });
  const stats: PollStats[] = [];
  try {
    for (let i = 0; i < times; i++) {
      if (i) await new Promise((r) => setTimeout(r, gapMs));
      walks.push([]);
      stats.push(await poller.poll());
    }
  } finally {
    client.close();
  }
  // Every tag and field written is stated in the profile docs the README is generated from.
  const docs = documentedNames();
  for (const r of h.records) {
    if (r.measurement === 'snmp_poll' || r.measurement === 'snmp_system') continue;
    for (const k of [...Object.keys(r.tags).filter((t) => t !== 'device' && t !== 'agent'), ...Object.keys(r.fields)]) expect(docs.get(r.measurement)?.has(k), `${r.measurement}.${k} undocumented`).toBe(true);
  }
  return { records: h.records, errors: h.errors.map((e) => e.err), infos, walks, stats };
}

export const find = (p: Polled, measurement: string, tags: Record<string, string>) => p.records.filter((r) => r.measurement === measurement && Object.entries(tags).every(([k, v]) => r.tags[k] === v));
export const one = (p: Polled, measurement: string, tags: Record<string, string>) => {
  const rs = find(p, measurement, tags);
  expect(rs, `${measurement} ${JSON.stringify(tags)}`).toHaveLength(1);
  return rs[0]?.fields ?? {};
};

