/**
 * CPU, memory and disk of hosts and of network OSes that run a host agent: HOST-RESOURCES-MIB
 * (RFC 2790) into the shared snmp_cpu / snmp_memory measurements, and net-snmp's UCD-SNMP-MIB
 * (load, memory, disks) for Linux. UCD sizes are in kB (1024 bytes: net-snmp's units).
 */
import type { Fields } from '../../../src/record/record.js';
import { drop, healthHeader, memoryTotals, num, toBytes, type FieldDoc, type HealthProfile } from './types.js';

export const MEMORY_FIELDS = (source: string): FieldDoc[] => [
  { name: 'total_bytes', source, unit: 'bytes' },
  { name: 'used_bytes', source, unit: 'bytes' },
  { name: 'free_bytes', source, unit: 'bytes' },
  { name: 'used_percent', source: 'used / total x 100, or as the device reports it', unit: 'percent (float)' },
];

/** hrProcessorLoad as a float percent, so every vendor writes the same field type to snmp_cpu. */
export function floatPercent(f: Fields, from: string): void {
  const v = num(f, from);
  delete f[from];
  if (v !== undefined) f.load_percent = v;
}

export const HR_CPU: HealthProfile = {
  name: 'hr_cpu',
  summary: 'per-processor load from HOST-RESOURCES, into snmp_cpu',
  needs: 'HOST-RESOURCES-MIB hrProcessorTable (1.3.6.1.2.1.25.3.3)',
  ...healthHeader('snmp_cpu'),
  tables: [
    {
      measurement: 'snmp_cpu',
      indexTag: 'cpu_index',
      columns: [
        { oid: '1.3.6.1.2.1.25.3.2.1.3', name: 'cpu', tag: true },
        { oid: '1.3.6.1.2.1.25.3.3.1.2', name: 'load' },
      ],
      derive: (f) => floatPercent(f, 'load'),
    },
  ],
  doc: [
    {
      measurement: 'snmp_cpu',
      tags: [
        { name: 'cpu_index', source: 'row index (hrDeviceIndex)', unit: 'tag' },
        { name: 'cpu', source: 'hrDeviceDescr (1.3.6.1.2.1.25.3.2.1.3)', unit: 'tag' },
      ],
      fields: [{ name: 'load_percent', source: 'hrProcessorLoad (1.3.6.1.2.1.25.3.3.1.2): average of the last minute', unit: 'percent (float)' }],
    },
  ],
};

const HR_STORAGE = '1.3.6.1.2.1.25.2.3.1';
export const HR_MEMORY: HealthProfile = {
  name: 'hr_memory',
  summary: 'RAM from the HOST-RESOURCES storage table (type hrStorageRam only), into snmp_memory',
  needs: 'HOST-RESOURCES-MIB hrStorageTable (1.3.6.1.2.1.25.2.3) with an hrStorageRam row',
  ...healthHeader('snmp_memory'),
  tables: [
    {
      measurement: 'snmp_memory',
      indexTag: 'pool_index',
      columns: [
        { oid: `${HR_STORAGE}.3`, name: 'pool', tag: true },
        { oid: `${HR_STORAGE}.2`, name: 'type', tag: true },
        { oid: `${HR_STORAGE}.4`, name: 'units' },
        { oid: `${HR_STORAGE}.5`, name: 'size' },
        { oid: `${HR_STORAGE}.6`, name: 'used' },
      ],
      derive(f, t) {
        const ram = t.type === '1.3.6.1.2.1.25.2.1.2';
        delete t.type;
        const u = f.units;
        const size = f.size;
        const used = f.used;
        drop(f, 'units', 'size', 'used');
        if (!ram || typeof u !== 'bigint' || typeof size !== 'bigint' || typeof used !== 'bigint') return;
        f.total_bytes = size * u;
        f.used_bytes = used * u;
        f.free_bytes = (size - used) * u;
        memoryTotals(f);
      },
    },
  ],
  doc: [
    {
      measurement: 'snmp_memory',
      tags: [
        { name: 'pool_index', source: 'row index (hrStorageIndex)', unit: 'tag' },
        { name: 'pool', source: 'hrStorageDescr (…25.2.3.1.3)', unit: 'tag' },
      ],
      fields: MEMORY_FIELDS('hrStorageSize / hrStorageUsed (…25.2.3.1.5/.6) x hrStorageAllocationUnits (.4)'),
    },
  ],
};

const UCD_MEM = '1.3.6.1.4.1.2021.4';
export const UCD_MEMORY: HealthProfile = {
  name: 'ucd_memory',
  summary: 'Linux memory as net-snmp reports it (total, free, buffers, cached, swap), into snmp_memory',
  needs: 'UCD-SNMP-MIB memory group (1.3.6.1.4.1.2021.4), net-snmp',
  ...healthHeader('snmp_memory', [
    { oid: `${UCD_MEM}.5`, name: 'total' },
    { oid: `${UCD_MEM}.6`, name: 'free' },
    { oid: `${UCD_MEM}.14`, name: 'buffers' },
    { oid: `${UCD_MEM}.15`, name: 'cached' },
    { oid: `${UCD_MEM}.3`, name: 'swap_total' },
    { oid: `${UCD_MEM}.4`, name: 'swap_free' },
  ]),
  tables: [],
  derive(f, t) {
    t.pool = 'system';
    for (const k of ['total', 'free', 'buffers', 'cached', 'swap_total', 'swap_free']) toBytes(f, k, `${k}_bytes`, 1024n);
    const { total_bytes: total, free_bytes: free, buffers_bytes: buf, cached_bytes: cached } = f;
    // "used" as free(1) counts it: what processes hold, not the page cache the kernel can drop.
    if (typeof total === 'bigint' && typeof free === 'bigint') f.used_bytes = total - free - (typeof buf === 'bigint' ? buf : 0n) - (typeof cached === 'bigint' ? cached : 0n);
    memoryTotals(f);
  },
  doc: [
    {
      measurement: 'snmp_memory',
      tags: [{ name: 'pool', source: 'constant `system`', unit: 'tag' }],
      fields: [
        { name: 'total_bytes', source: 'memTotalReal (1.3.6.1.4.1.2021.4.5) x 1024', unit: 'bytes' },
        { name: 'free_bytes', source: 'memAvailReal (…2021.4.6) x 1024', unit: 'bytes' },
        { name: 'buffers_bytes', source: 'memBuffer (…2021.4.14) x 1024', unit: 'bytes' },
        { name: 'cached_bytes', source: 'memCached (…2021.4.15) x 1024', unit: 'bytes' },
        { name: 'used_bytes', source: 'total - free - buffers - cached', unit: 'bytes' },
        { name: 'used_percent', source: 'used / total x 100', unit: 'percent (float)' },
        { name: 'swap_total_bytes', source: 'memTotalSwap (…2021.4.3) x 1024', unit: 'bytes' },
        { name: 'swap_free_bytes', source: 'memAvailSwap (…2021.4.4) x 1024', unit: 'bytes' },
      ],
    },
  ],
};

const LA_LOAD_INT = '1.3.6.1.4.1.2021.10.1.5';
export const UCD_LOAD: HealthProfile = {
  name: 'ucd_load',
  summary: 'Linux load averages (1, 5, 15 min)',
  needs: 'UCD-SNMP-MIB laTable (1.3.6.1.4.1.2021.10), net-snmp',
  ...healthHeader('snmp_load', [
    { oid: LA_LOAD_INT, instance: '1', name: 'l1' },
    { oid: LA_LOAD_INT, instance: '2', name: 'l5' },
    { oid: LA_LOAD_INT, instance: '3', name: 'l15' },
  ]),
  tables: [],
  derive(f) {
    for (const [from, to] of [['l1', 'load1'], ['l5', 'load5'], ['l15', 'load15']] as const) {
      const v = num(f, from);
      delete f[from];
      if (v !== undefined) f[to] = v / 100;
    }
  },
  doc: [
    {
      measurement: 'snmp_load',
      tags: [],
      fields: [
        { name: 'load1', source: 'laLoadInt.1 (1.3.6.1.4.1.2021.10.1.5.1) / 100', unit: 'load average (float)' },
        { name: 'load5', source: 'laLoadInt.2 / 100', unit: 'load average (float)' },
        { name: 'load15', source: 'laLoadInt.3 / 100', unit: 'load average (float)' },
      ],
    },
  ],
};

const DSK = '1.3.6.1.4.1.2021.9.1';
const hc = (f: Fields, low: string, high: string): bigint | undefined => {
  const l = f[low];
  const h = f[high];
  return typeof l === 'bigint' && typeof h === 'bigint' ? (h << 32n) | l : undefined;
};
export const UCD_DISK: HealthProfile = {
  name: 'ucd_disk',
  summary: 'Linux file systems net-snmp is told to watch (`disk` / `includeAllDisks` in snmpd.conf)',
  needs: 'UCD-SNMP-MIB dskTable (1.3.6.1.4.1.2021.9), net-snmp with disk directives',
  ...healthHeader('snmp_disk'),
  tables: [
    {
      measurement: 'snmp_disk',
      indexTag: 'disk_index',
      columns: [
        { oid: `${DSK}.2`, name: 'path', tag: true },
        { oid: `${DSK}.3`, name: 'disk_device', tag: true },
        { oid: `${DSK}.6`, name: 'total' },
        { oid: `${DSK}.7`, name: 'avail' },
        { oid: `${DSK}.8`, name: 'used' },
        { oid: `${DSK}.11`, name: 'total_lo' },
        { oid: `${DSK}.12`, name: 'total_hi' },
        { oid: `${DSK}.13`, name: 'avail_lo' },
        { oid: `${DSK}.14`, name: 'avail_hi' },
        { oid: `${DSK}.15`, name: 'used_lo' },
        { oid: `${DSK}.16`, name: 'used_hi' },
      ],
      derive(f) {
        // dskTotal is an Integer32 in kB (wraps above 2 TB); the Low/High pairs are not.
        const k = (plain: string, name: string): bigint | undefined => hc(f, `${name}_lo`, `${name}_hi`) ?? (typeof f[plain] === 'bigint' ? f[plain] : undefined);
        const total = k('total', 'total');
        const avail = k('avail', 'avail');
        const used = k('used', 'used');
        drop(f, 'total', 'avail', 'used', 'total_lo', 'total_hi', 'avail_lo', 'avail_hi', 'used_lo', 'used_hi');
        if (total !== undefined) f.total_bytes = total * 1024n;
        if (avail !== undefined) f.free_bytes = avail * 1024n;
        if (used !== undefined) f.used_bytes = used * 1024n;
        if (total !== undefined && used !== undefined && total > 0n) f.used_percent = (Number(used) / Number(total)) * 100;
      },
    },
  ],
  doc: [
    {
      measurement: 'snmp_disk',
      tags: [
        { name: 'disk_index', source: 'row index (dskIndex)', unit: 'tag' },
        { name: 'path', source: 'dskPath (1.3.6.1.4.1.2021.9.1.2)', unit: 'tag' },
        { name: 'disk_device', source: 'dskDevice (…2021.9.1.3)', unit: 'tag' },
      ],
      fields: [
        { name: 'total_bytes', source: 'dskTotalHigh/Low (…9.1.12/.11), else dskTotal (.6), x 1024', unit: 'bytes' },
        { name: 'free_bytes', source: 'dskAvailHigh/Low (…9.1.14/.13), else dskAvail (.7), x 1024', unit: 'bytes' },
        { name: 'used_bytes', source: 'dskUsedHigh/Low (…9.1.16/.15), else dskUsed (.8), x 1024', unit: 'bytes' },
        { name: 'used_percent', source: 'used / total x 100', unit: 'percent (float)' },
      ],
    },
  ],
};
