/**
 * Declarative profiles: scalars and table columns by numeric OID, each a field or a tag. The built-in
 * `system` and `host` profiles and user profiles from YAML all run through the same code; only
 * `interfaces` has its own module because of counters and rates. Pure: values in, records out.
 */
import { makeRecord, type DeviceMetricRecord, type Fields, type Tags } from '../../src/record/record.js';
import type { DeviceIdentity } from './interfaces.js';
import { HEALTH_PROFILES } from './health/index.js';
import { valueAsText, type SnmpValue, type Vb } from './values.js';

export interface ScalarSpec {
  /** Object OID without the instance. */
  oid: string;
  /** Instance suffix to GET; `0` for a scalar object (RFC 2578 7.7), a row index for a fixed row. */
  instance?: string;
  name: string;
  tag?: boolean;
}
export interface ColumnSpec {
  oid: string;
  name: string;
  tag?: boolean;
  /** Rewrites a tag value, e.g. an OID to its well-known name. */
  display?: (text: string) => string;
}
export interface TableSpec {
  measurement: string;
  indexTag: string;
  columns: readonly ColumnSpec[];
  /** Fields computed from the row after the columns are read (e.g. bytes from allocation units); a row left without fields is dropped. */
  derive?: (fields: Fields, tags: Tags) => void;
  /** A column that must have rows for the table to be walked at all: a vendor table costs one walk on other vendors' devices. */
  requires?: string;
}
export interface ProfileSpec {
  name: string;
  measurement: string;
  scalars: readonly ScalarSpec[];
  tables: readonly TableSpec[];
  /** Fields computed from the scalars, like TableSpec.derive. */
  derive?: (fields: Fields, tags: Tags) => void;
  /** Least time between two runs on one device, whatever its poll interval (health profiles: 60 s). */
  intervalMs?: number;
  /** What the device must support, for the line saying a profile found nothing. */
  needs?: string;
  /** Rewrites all records of one run together (joins across tables, one series per entity); runs after every derive. */
  merge?: (records: DeviceMetricRecord[]) => DeviceMetricRecord[];
}

/** SNMPv2-MIB system group (RFC 3418). */
export const SYSTEM_PROFILE: ProfileSpec = {
  name: 'system',
  measurement: 'snmp_system',
  scalars: [
    { oid: '1.3.6.1.2.1.1.1', name: 'sys_descr' },
    { oid: '1.3.6.1.2.1.1.2', name: 'sys_object_id' },
    { oid: '1.3.6.1.2.1.1.3', name: 'sys_uptime' },
    { oid: '1.3.6.1.2.1.1.4', name: 'sys_contact' },
    { oid: '1.3.6.1.2.1.1.5', name: 'sys_name' },
    { oid: '1.3.6.1.2.1.1.6', name: 'sys_location' },
  ],
  tables: [],
};

/** hrStorageTypes (RFC 2790 section 5, 1.3.6.1.2.1.25.2.1.N). */
const STORAGE_TYPES = ['other', 'ram', 'virtual_memory', 'fixed_disk', 'removable_disk', 'floppy_disk', 'compact_disc', 'ram_disk', 'flash_memory', 'network_disk'];
function storageType(oid: string): string {
  const m = /^1\.3\.6\.1\.2\.1\.25\.2\.1\.(\d+)$/.exec(oid);
  return (m && STORAGE_TYPES[Number(m[1]) - 1]) ?? oid;
}

/** HOST-RESOURCES-MIB (RFC 2790): processes, memory, per-CPU load, storage. */
export const HOST_PROFILE: ProfileSpec = {
  name: 'host',
  measurement: 'snmp_host',
  scalars: [
    { oid: '1.3.6.1.2.1.25.1.1', name: 'uptime' },
    { oid: '1.3.6.1.2.1.25.1.5', name: 'users' },
    { oid: '1.3.6.1.2.1.25.1.6', name: 'processes' },
    { oid: '1.3.6.1.2.1.25.2.2', name: 'memory_size_kb' },
  ],
  tables: [
    { measurement: 'snmp_host_cpu', indexTag: 'cpu_index', columns: [{ oid: '1.3.6.1.2.1.25.3.3.1.2', name: 'load_percent' }] },
    {
      measurement: 'snmp_host_storage',
      indexTag: 'storage_index',
      columns: [
        { oid: '1.3.6.1.2.1.25.2.3.1.2', name: 'storage_type', tag: true, display: storageType },
        { oid: '1.3.6.1.2.1.25.2.3.1.3', name: 'storage_descr', tag: true },
        { oid: '1.3.6.1.2.1.25.2.3.1.4', name: 'allocation_units' },
        { oid: '1.3.6.1.2.1.25.2.3.1.5', name: 'size' },
        { oid: '1.3.6.1.2.1.25.2.3.1.6', name: 'used' },
      ],
      derive(f) {
        const u = f.allocation_units;
        const size = f.size;
        const used = f.used;
        if (typeof u !== 'bigint' || typeof size !== 'bigint' || typeof used !== 'bigint') return;
        f.size_bytes = size * u;
        f.used_bytes = used * u;
        if (size > 0n) f.used_percent = (Number(used) / Number(size)) * 100;
      },
    },
  ],
};

export const BUILTIN_PROFILES: Readonly<Record<string, ProfileSpec>> = { system: SYSTEM_PROFILE, host: HOST_PROFILE, ...HEALTH_PROFILES };

/** A field value from an SNMP value: integers stay integers (bigint), the rest become strings. */
export function fieldValue(v: SnmpValue): bigint | string | undefined {
  return v.kind === 'int' ? v.value : valueAsText(v);
}

/** One record for the scalars (if any came back). `scalars` are the GET results, in spec order. */
export function scalarRecord(dev: DeviceIdentity, p: ProfileSpec, scalars: readonly Vb[], timeMs: number): DeviceMetricRecord | undefined {
  const tags: Tags = { ...dev.tags, device: dev.name, agent: dev.address };
  const fields: Fields = {};
  let any = false;
  p.scalars.forEach((s, i) => {
    const vb = scalars[i];
    if (!vb || vb.value.kind === 'missing') return;
    if (s.tag) tags[s.name] = valueAsText(vb.value);
    else {
      fields[s.name] = fieldValue(vb.value);
      any = true;
    }
  });
  if (!any) return undefined;
  p.derive?.(fields, tags);
  return Object.keys(fields).length ? makeRecord('device', p.measurement, tags, fields, timeMs, 'collector') : undefined;
}

/** One record per table row; `columns[i]` holds the walk of `t.columns[i]`. Index = OID suffix. */
export function tableRecords(dev: DeviceIdentity, t: TableSpec, columns: readonly (readonly Vb[])[], timeMs: number): DeviceMetricRecord[] {
  const rows = new Map<string, { tags: Tags; fields: Fields; any: boolean }>();
  t.columns.forEach((c, i) => {
    const prefix = c.oid + '.';
    for (const vb of columns[i] ?? []) {
      if (!vb.oid.startsWith(prefix) || vb.value.kind === 'missing') continue;
      const index = vb.oid.slice(prefix.length);
      let row = rows.get(index);
      if (!row) rows.set(index, (row = { tags: { ...dev.tags, device: dev.name, agent: dev.address, [t.indexTag]: index }, fields: {}, any: false }));
      if (c.tag) {
        const text = valueAsText(vb.value);
        row.tags[c.name] = text !== undefined && c.display ? c.display(text) : text;
      } else {
        row.fields[c.name] = fieldValue(vb.value);
        row.any = true;
      }
    }
  });
  const out: DeviceMetricRecord[] = [];
  for (const r of rows.values()) {
    if (!r.any) continue;
    t.derive?.(r.fields, r.tags);
    if (!Object.keys(r.fields).length) continue;
    out.push(makeRecord('device', t.measurement, r.tags, r.fields, timeMs, 'collector'));
  }
  return out;
}
