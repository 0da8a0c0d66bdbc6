/**
 * What the `interfaces` profile's IF-MIB columns (ifType, ifMtu, ifPhysAddress, ifLastChange,
 * ifHighSpeed, ifPromiscuousMode, ifConnectorPresent) must be, from snmpbulkwalk output of the
 * same agent (`-On -Oe -Ot -OU`, ifPhysAddress walked again with `-Ox` so every MAC is hex).
 */
import type { NetRecord } from '../../src/record/record.js';
import { bulkwalk } from './snmpd.js';

export async function walkIfColumns(port: number, community: string, dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const col of ['2.2.1.3', '2.2.1.4', '2.2.1.9', '31.1.1.1.15', '31.1.1.1.16', '31.1.1.1.17']) {
    for (const v of await bulkwalk(port, community, `1.3.6.1.2.1.${col}`, dir)) out.set(v.oid, v.value);
  }
  for (const v of await bulkwalk(port, community, '1.3.6.1.2.1.2.2.1.6', dir, ['-Ox'])) {
    out.set(v.oid, v.value.trim().split(/\s+/).filter(Boolean).map((b) => b.toLowerCase()).join(':'));
  }
  return out;
}

/** Expected tags and fields of interface `i`; a column the agent lacks is expected absent. */
export function expectedIfColumns(w: ReadonlyMap<string, string>, i: string): { tags: Record<string, string | undefined>; fields: Record<string, unknown> } {
  const get = (col: string) => w.get(`1.3.6.1.2.1.${col}.${i}`);
  const num = (col: string) => (get(col) === undefined ? undefined : BigInt(get(col) as string));
  return {
    tags: { if_type: undefined },
    fields: { if_type: num('2.2.1.3'), mtu: num('2.2.1.4'), phys_address: get('2.2.1.6'), last_change: num('2.2.1.9'), high_speed: num('31.1.1.1.15'), promiscuous: num('31.1.1.1.16'), connector_present: num('31.1.1.1.17') },
  };
}

/** The record's values of the same tags and fields. */
export function actualIfColumns(r: NetRecord, expected: ReturnType<typeof expectedIfColumns>): ReturnType<typeof expectedIfColumns> {
  return {
    tags: Object.fromEntries(Object.keys(expected.tags).map((k) => [k, r.tags[k]])),
    fields: Object.fromEntries(Object.keys(expected.fields).map((k) => [k, r.fields[k]])),
  };
}
