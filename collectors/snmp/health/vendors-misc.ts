/**
 * Health profiles for MikroTik, Fortinet, Palo Alto, Huawei and Aruba, by numeric OID from each
 * vendor's MIB, into the shared measurements. Vendors whose CPU and memory come from
 * HOST-RESOURCES (Arista, Palo Alto, MikroTik) reuse hr_cpu / hr_memory (see select.ts).
 */
import type { Fields, Tags } from '../../../src/record/record.js';
import { floatPercent, MEMORY_FIELDS } from './host.js';
import { drop, ENT_NAME, healthHeader, memoryTotals, num, tag, toBytes, type HealthProfile } from './types.js';

// --- MikroTik: MIKROTIK-MIB mtxrGaugeTable (RouterOS 6.47+) ---------------------------------------
const MTXR_GAUGE = '1.3.6.1.4.1.14988.1.1.3.100.1';
/** mtxrGaugeUnit: 1 celsius, 2 rpm, 3 dV, 4 dA, 5 dW, 6 status -> our sensor_type and divisor. */
const MTXR_UNITS: Readonly<Record<number, [string, number]>> = { 1: ['celsius', 1], 2: ['rpm', 1], 3: ['volts_dc', 10], 4: ['amperes', 10], 5: ['watts', 10], 6: ['status', 1] };
export const MIKROTIK: HealthProfile = {
  name: 'mikrotik',
  summary: 'MikroTik RouterOS health gauges: temperatures, fan speeds, voltage, current, power, PSU status',
  needs: 'MIKROTIK-MIB mtxrGaugeTable (1.3.6.1.4.1.14988.1.1.3.100.1), RouterOS 6.47 or later',
  ...healthHeader('snmp_sensor'),
  tables: [
    {
      measurement: 'snmp_sensor',
      indexTag: 'sensor_index',
      columns: [
        { oid: `${MTXR_GAUGE}.2`, name: 'sensor', tag: true },
        { oid: `${MTXR_GAUGE}.3`, name: 'raw' },
        { oid: `${MTXR_GAUGE}.4`, name: 'unit' },
      ],
      derive(f, t) {
        const raw = num(f, 'raw');
        const [type, div] = MTXR_UNITS[num(f, 'unit') ?? 0] ?? ['other', 1];
        drop(f, 'raw', 'unit');
        t.sensor_type = type;
        if (raw !== undefined) f.value = raw / div;
      },
    },
  ],
  doc: [
    {
      measurement: 'snmp_sensor',
      tags: [tag('sensor_index', 'row index'), tag('sensor', 'mtxrGaugeName (…100.1.2)'), tag('sensor_type', 'from mtxrGaugeUnit (…100.1.4): celsius, rpm, volts_dc, amperes, watts, status')],
      fields: [{ name: 'value', source: 'mtxrGaugeValue (…100.1.3), dV/dA/dW divided by 10', unit: 'float, the base unit of sensor_type' }],
    },
  ],
};

// --- Fortinet: FORTINET-FORTIGATE-MIB fgSystemInfo ---------------------------------------------
const FG_SYS = '1.3.6.1.4.1.12356.101.4.1';
const single = (name: string) => (_f: Fields, t: Tags) => void (t[name] = 'system');
export const FORTINET_CPU: HealthProfile = {
  name: 'fortinet_cpu',
  summary: 'FortiGate CPU usage',
  needs: 'FORTINET-FORTIGATE-MIB fgSysCpuUsage (1.3.6.1.4.1.12356.101.4.1.3)',
  ...healthHeader('snmp_cpu', [{ oid: `${FG_SYS}.3`, name: 'load' }]),
  tables: [],
  derive(f, t) {
    floatPercent(f, 'load');
    single('cpu_index')(f, t);
  },
  doc: [{ measurement: 'snmp_cpu', tags: [tag('cpu_index', 'constant `system`')], fields: [{ name: 'load_percent', source: 'fgSysCpuUsage (1.3.6.1.4.1.12356.101.4.1.3)', unit: 'percent (float)' }] }],
};
export const FORTINET_MEMORY: HealthProfile = {
  name: 'fortinet_memory',
  summary: 'FortiGate memory usage and capacity',
  needs: 'FORTINET-FORTIGATE-MIB fgSysMemUsage / fgSysMemCapacity (1.3.6.1.4.1.12356.101.4.1.4/.5)',
  ...healthHeader('snmp_memory', [
    { oid: `${FG_SYS}.4`, name: 'pct' },
    { oid: `${FG_SYS}.5`, name: 'kb' },
  ]),
  tables: [],
  derive(f, t) {
    t.pool = 'system';
    const pct = num(f, 'pct');
    drop(f, 'pct');
    toBytes(f, 'kb', 'total_bytes', 1024n);
    if (pct === undefined) return;
    f.used_percent = pct;
    if (typeof f.total_bytes === 'bigint') {
      f.used_bytes = BigInt(Math.round((Number(f.total_bytes) * pct) / 100));
      f.free_bytes = f.total_bytes - f.used_bytes;
    }
  },
  doc: [
    {
      measurement: 'snmp_memory',
      tags: [tag('pool', 'constant `system`')],
      fields: [
        { name: 'used_percent', source: 'fgSysMemUsage (…101.4.1.4)', unit: 'percent (float)' },
        { name: 'total_bytes', source: 'fgSysMemCapacity (…101.4.1.5, kB) x 1024', unit: 'bytes' },
        { name: 'used_bytes', source: 'total x used_percent / 100', unit: 'bytes' },
        { name: 'free_bytes', source: 'total - used', unit: 'bytes' },
      ],
    },
  ],
};
export const FORTINET_SESSIONS: HealthProfile = {
  name: 'fortinet_sessions',
  summary: 'FortiGate active sessions',
  needs: 'FORTINET-FORTIGATE-MIB fgSysSesCount (1.3.6.1.4.1.12356.101.4.1.8)',
  ...healthHeader('snmp_firewall', [{ oid: `${FG_SYS}.8`, name: 'sessions_active' }]),
  tables: [],
  doc: [{ measurement: 'snmp_firewall', tags: [], fields: [{ name: 'sessions_active', source: 'fgSysSesCount (…101.4.1.8)', unit: 'sessions' }] }],
};

// --- Palo Alto: PAN-COMMON-MIB panSession --------------------------------------------------------
const PAN_SESSION = '1.3.6.1.4.1.25461.2.1.2.3';
export const PALOALTO_SESSIONS: HealthProfile = {
  name: 'paloalto_sessions',
  summary: 'PAN-OS session table use',
  needs: 'PAN-COMMON-MIB panSession (1.3.6.1.4.1.25461.2.1.2.3)',
  ...healthHeader('snmp_firewall', [
    { oid: `${PAN_SESSION}.1`, name: 'util' },
    { oid: `${PAN_SESSION}.2`, name: 'sessions_max' },
    { oid: `${PAN_SESSION}.3`, name: 'sessions_active' },
  ]),
  tables: [],
  derive(f) {
    const u = num(f, 'util');
    drop(f, 'util');
    if (u !== undefined) f.session_used_percent = u;
  },
  doc: [
    {
      measurement: 'snmp_firewall',
      tags: [],
      fields: [
        { name: 'session_used_percent', source: 'panSessionUtilization (1.3.6.1.4.1.25461.2.1.2.3.1)', unit: 'percent (float)' },
        { name: 'sessions_max', source: 'panSessionMax (…2.3.2)', unit: 'sessions' },
        { name: 'sessions_active', source: 'panSessionActive (…2.3.3)', unit: 'sessions' },
      ],
    },
  ],
};

// --- Huawei: HUAWEI-ENTITY-EXTENT-MIB hwEntityStateTable (indexed by entPhysicalIndex) ------------
const HW_ENT = '1.3.6.1.4.1.2011.5.25.31.1.1.1.1';
const hwTable = (measurement: string, kind: string, col: number, derive: (f: Fields, t: Tags) => void) => ({
  measurement,
  indexTag: `${kind}_index`,
  columns: [
    { oid: ENT_NAME, name: kind, tag: true },
    { oid: `${HW_ENT}.${col}`, name: 'v' },
  ],
  derive,
});
export const HUAWEI: HealthProfile = {
  name: 'huawei',
  summary: 'Huawei VRP board CPU, memory and temperature',
  needs: 'HUAWEI-ENTITY-EXTENT-MIB hwEntityStateTable (1.3.6.1.4.1.2011.5.25.31.1.1.1.1)',
  ...healthHeader('snmp_cpu'),
  tables: [
    // Boards without a CPU, memory or sensor report 0: those rows are left out.
    hwTable('snmp_cpu', 'cpu', 5, (f) => (num(f, 'v') ? floatPercent(f, 'v') : drop(f, 'v'))),
    hwTable('snmp_memory', 'pool', 7, (f) => {
      const v = num(f, 'v');
      drop(f, 'v');
      if (v) f.used_percent = v;
    }),
    hwTable('snmp_sensor', 'sensor', 11, (f, t) => {
      const v = num(f, 'v');
      drop(f, 'v');
      t.sensor_type = 'celsius';
      if (v) f.value = v;
    }),
  ],
  doc: [
    { measurement: 'snmp_cpu', tags: [tag('cpu_index', 'row index (entPhysicalIndex)'), tag('cpu', 'entPhysicalName')], fields: [{ name: 'load_percent', source: 'hwEntityCpuUsage (…31.1.1.1.1.5); 0 is left out', unit: 'percent (float)' }] },
    { measurement: 'snmp_memory', tags: [tag('pool_index', 'row index (entPhysicalIndex)'), tag('pool', 'entPhysicalName')], fields: [{ name: 'used_percent', source: 'hwEntityMemUsage (…31.1.1.1.1.7); 0 is left out', unit: 'percent (float)' }] },
    { measurement: 'snmp_sensor', tags: [tag('sensor_index', 'row index (entPhysicalIndex)'), tag('sensor', 'entPhysicalName'), tag('sensor_type', 'constant `celsius`')], fields: [{ name: 'value', source: 'hwEntityTemperature (…31.1.1.1.1.11); 0 is left out', unit: 'celsius' }] },
  ],
};

// --- Aruba mobility controllers: WLSX-SWITCH-MIB ---------------------------------------------------
const WLSX = '1.3.6.1.4.1.14823.2.2.1.1.1';
export const ARUBA: HealthProfile = {
  name: 'aruba',
  summary: 'Aruba (ArubaOS controller) processor load and memory',
  needs: 'WLSX-SWITCH-MIB wlsxSysXProcessorTable / wlsxSysXMemoryTable (1.3.6.1.4.1.14823.2.2.1.1.1.9 / .11)',
  ...healthHeader('snmp_cpu'),
  tables: [
    {
      measurement: 'snmp_cpu',
      indexTag: 'cpu_index',
      columns: [
        { oid: `${WLSX}.9.1.2`, name: 'cpu', tag: true },
        { oid: `${WLSX}.9.1.3`, name: 'load' },
      ],
      derive: (f) => floatPercent(f, 'load'),
    },
    {
      measurement: 'snmp_memory',
      indexTag: 'pool_index',
      columns: [
        { oid: `${WLSX}.11.1.2`, name: 'total' },
        { oid: `${WLSX}.11.1.3`, name: 'used' },
        { oid: `${WLSX}.11.1.4`, name: 'free' },
      ],
      derive(f) {
        toBytes(f, 'total', 'total_bytes', 1024n);
        toBytes(f, 'used', 'used_bytes', 1024n);
        toBytes(f, 'free', 'free_bytes', 1024n);
        memoryTotals(f);
      },
    },
  ],
  doc: [
    { measurement: 'snmp_cpu', tags: [tag('cpu_index', 'row index'), tag('cpu', 'sysXProcessorDescr (…1.1.9.1.2)')], fields: [{ name: 'load_percent', source: 'sysXProcessorLoad (1.3.6.1.4.1.14823.2.2.1.1.1.9.1.3)', unit: 'percent (float)' }] },
    { measurement: 'snmp_memory', tags: [tag('pool_index', 'row index')], fields: MEMORY_FIELDS('sysXMemorySize/Used/Free (…1.1.11.1.2/.3/.4, kB) x 1024') },
  ],
};
