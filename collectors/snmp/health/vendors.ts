/**
 * Vendor health profiles, by numeric OID from each vendor's published MIB (no MIB file needed at
 * run time). They write the shared measurements (snmp_cpu, snmp_memory, snmp_sensor,
 * snmp_component, snmp_firewall) so one dashboard serves every vendor.
 */
import type { Fields, Tags } from '../../../src/record/record.js';
import { floatPercent, MEMORY_FIELDS } from './host.js';
import { AFI, indexParts, inetFromIndex, SAFI } from './inet-index.js';
import { deriveState, drop, entitySensorTable, healthHeader, memoryTotals, num, SENSOR_DOC, tag, type FieldDoc, type HealthProfile } from './types.js';

const COMPONENT_FIELDS = (source: string, codes: string): FieldDoc[] => [
  { name: 'state', source: `${source}: ${codes}`, unit: 'enum' },
  { name: 'state_name', source: 'state as a name', unit: 'string' },
  { name: 'ok', source: 'state is a healthy one', unit: 'bool' },
];
const celsius = (f: Fields, t: Tags, from: string): void => {
  const v = num(f, from);
  delete f[from];
  // 0 is what these tables report for a component without a sensor, not a reading.
  if (v) f.value = v;
  t.sensor_type = 'celsius';
};

// --- Cisco -------------------------------------------------------------------------------------
const CPM = '1.3.6.1.4.1.9.9.109.1.1.1.1';
const MEMPOOL = '1.3.6.1.4.1.9.9.48.1.1.1';
const CEMP = '1.3.6.1.4.1.9.9.221.1.1.1.1';
const ENVMON = '1.3.6.1.4.1.9.9.13.1';
const CISCO_SENSOR = '1.3.6.1.4.1.9.9.91.1.1.1.1';
const ENVMON_STATES = { 1: 'normal', 2: 'warning', 3: 'critical', 4: 'shutdown', 5: 'not_present', 6: 'not_functioning' };

export const CISCO_CPU: HealthProfile = {
  name: 'cisco_cpu',
  summary: 'Cisco CPU busy, 1 and 5 minute averages',
  needs: 'CISCO-PROCESS-MIB cpmCPUTotalTable (1.3.6.1.4.1.9.9.109.1.1.1)',
  ...healthHeader('snmp_cpu'),
  tables: [
    {
      measurement: 'snmp_cpu',
      indexTag: 'cpu_index',
      columns: [
        { oid: `${CPM}.7`, name: 'load1' },
        { oid: `${CPM}.8`, name: 'load5' },
      ],
      derive(f) {
        const five = num(f, 'load5');
        floatPercent(f, 'load1');
        delete f.load5;
        if (five !== undefined) f.load_5m_percent = five;
      },
    },
  ],
  doc: [
    {
      measurement: 'snmp_cpu',
      tags: [tag('cpu_index', 'row index (cpmCPUTotalIndex)')],
      fields: [
        { name: 'load_percent', source: 'cpmCPUTotal1minRev (1.3.6.1.4.1.9.9.109.1.1.1.1.7)', unit: 'percent (float)' },
        { name: 'load_5m_percent', source: 'cpmCPUTotal5minRev (…109.1.1.1.1.8)', unit: 'percent (float)' },
      ],
    },
  ],
};

const poolBytes = (f: Fields): void => {
  for (const [from, to] of [['used', 'used_bytes'], ['free', 'free_bytes']] as const) {
    const hc = f[`hc_${from}`];
    const v = typeof hc === 'bigint' ? hc : f[from];
    drop(f, from, `hc_${from}`);
    if (typeof v === 'bigint') f[to] = v;
  }
  memoryTotals(f);
};
export const CISCO_MEMORY: HealthProfile = {
  name: 'cisco_memory',
  summary: 'Cisco memory pools (CISCO-MEMORY-POOL-MIB, and CISCO-ENHANCED-MEMPOOL-MIB where the device has it)',
  needs: 'CISCO-MEMORY-POOL-MIB ciscoMemoryPoolTable (1.3.6.1.4.1.9.9.48.1.1) or CISCO-ENHANCED-MEMPOOL-MIB cempMemPoolTable (…9.9.221.1.1.1)',
  ...healthHeader('snmp_memory'),
  tables: [
    {
      measurement: 'snmp_memory',
      indexTag: 'pool_index',
      columns: [
        { oid: `${MEMPOOL}.2`, name: 'pool', tag: true },
        { oid: `${MEMPOOL}.5`, name: 'used' },
        { oid: `${MEMPOOL}.6`, name: 'free' },
      ],
      derive: poolBytes,
    },
    {
      measurement: 'snmp_memory',
      indexTag: 'pool_index',
      columns: [
        { oid: `${CEMP}.3`, name: 'pool', tag: true },
        { oid: `${CEMP}.7`, name: 'used' },
        { oid: `${CEMP}.8`, name: 'free' },
        { oid: `${CEMP}.18`, name: 'hc_used' },
        { oid: `${CEMP}.20`, name: 'hc_free' },
      ],
      derive: poolBytes,
    },
  ],
  doc: [
    {
      measurement: 'snmp_memory',
      tags: [tag('pool_index', 'row index (ciscoMemoryPoolType, or entPhysicalIndex.cempMemPoolIndex)'), tag('pool', 'ciscoMemoryPoolName (…9.9.48.1.1.1.2) / cempMemPoolName (…9.9.221.1.1.1.1.3)')],
      fields: MEMORY_FIELDS('ciscoMemoryPoolUsed/Free (…48.1.1.1.5/.6); cempMemPoolHCUsed/HCFree (…221.1.1.1.1.18/.20), else Used/Free (.7/.8); bytes'),
    },
  ],
};

const envTable = (oid: string, kind: 'fan' | 'psu') => ({
  measurement: 'snmp_component',
  indexTag: 'component_index',
  columns: [
    { oid: `${oid}.2`, name: 'component', tag: true },
    { oid: `${oid}.3`, name: 'state' },
  ],
  derive(f: Fields, t: Tags) {
    t.kind = kind;
    deriveState(ENVMON_STATES, [1])(f);
  },
});
export const CISCO_ENV: HealthProfile = {
  name: 'cisco_env',
  summary: 'Cisco environmental monitor: temperatures, fan and power-supply state',
  needs: 'CISCO-ENVMON-MIB (1.3.6.1.4.1.9.9.13.1)',
  ...healthHeader('snmp_component'),
  tables: [
    {
      measurement: 'snmp_sensor',
      indexTag: 'sensor_index',
      columns: [
        { oid: `${ENVMON}.3.1.2`, name: 'sensor', tag: true },
        { oid: `${ENVMON}.3.1.3`, name: 'temp' },
      ],
      derive: (f, t) => celsius(f, t, 'temp'),
    },
    envTable(`${ENVMON}.4.1`, 'fan'),
    envTable(`${ENVMON}.5.1`, 'psu'),
  ],
  doc: [
    {
      measurement: 'snmp_sensor',
      tags: [tag('sensor_index', 'row index'), tag('sensor', 'ciscoEnvMonTemperatureStatusDescr (…9.9.13.1.3.1.2)'), tag('sensor_type', 'constant `celsius`')],
      fields: [{ name: 'value', source: 'ciscoEnvMonTemperatureStatusValue (…9.9.13.1.3.1.3)', unit: 'celsius' }],
    },
    {
      measurement: 'snmp_component',
      tags: [tag('component_index', 'row index'), tag('kind', '`fan` (ciscoEnvMonFanStatusTable …13.1.4) or `psu` (ciscoEnvMonSupplyStatusTable …13.1.5)'), tag('component', 'ciscoEnvMonFan/SupplyStatusDescr (.2)')],
      fields: COMPONENT_FIELDS('ciscoEnvMonFan/SupplyState (.3)', '1 normal, 2 warning, 3 critical, 4 shutdown, 5 notPresent, 6 notFunctioning; ok = normal'),
    },
  ],
};

export const CISCO_SENSORS: HealthProfile = {
  name: 'cisco_sensors',
  summary: 'Cisco entity sensors, including transceiver Tx/Rx power in dBm',
  needs: 'CISCO-ENTITY-SENSOR-MIB entSensorValueTable (1.3.6.1.4.1.9.9.91.1.1.1)',
  ...healthHeader('snmp_sensor'),
  tables: [entitySensorTable(CISCO_SENSOR)],
  doc: [{ measurement: 'snmp_sensor', ...SENSOR_DOC }],
};

const CBGP_PREFIX = '1.3.6.1.4.1.9.9.187.1.2.4.1';
const CBGP2_PREFIX = '1.3.6.1.4.1.9.9.187.1.2.8.1';
const prefixColumns = (base: string) => [
  { oid: `${base}.1`, name: 'accepted_prefixes' },
  { oid: `${base}.2`, name: 'denied_prefixes' },
  { oid: `${base}.6`, name: 'advertised_prefixes' },
];
/** Index = peer . AFI . SAFI, the peer as bgpPeerRemoteAddr (4 sub-ids, v1) or InetAddressType.len.InetAddress (v2). */
const prefixIndex = (v2: boolean) => (_f: Fields, t: Tags) => {
  const parts = indexParts(t.index);
  delete t.index;
  const found = v2 ? inetFromIndex(parts, 0, true) : undefined;
  const a = found && parts.length === found.used + 2 ? found : undefined;
  const used = v2 ? (a?.used ?? parts.length - 2) : 4;
  t.peer = a?.text ?? parts.slice(0, used).join('.');
  t.afi = AFI[String(parts[used])] ?? String(parts[used]);
  t.safi = SAFI[String(parts[used + 1])] ?? String(parts[used + 1]);
  if (v2) t._v2 = '1';
};
export const CISCO_BGP_PREFIXES: HealthProfile = {
  name: 'cisco_bgp_prefixes',
  summary: 'Cisco per-peer, per-address-family prefix counts (accepted, denied, advertised); IPv6 peers from cbgpPeer2, one series per peer and family',
  needs: 'CISCO-BGP4-MIB cbgpPeerAddrFamilyPrefixTable (1.3.6.1.4.1.9.9.187.1.2.4) or cbgpPeer2AddrFamilyPrefixTable (…187.1.2.8)',
  ...healthHeader('snmp_bgp_prefixes'),
  tables: [
    { measurement: 'snmp_bgp_prefixes', indexTag: 'index', requires: `${CBGP_PREFIX}.1`, columns: prefixColumns(CBGP_PREFIX), derive: prefixIndex(false) },
    { measurement: 'snmp_bgp_prefixes', indexTag: 'index', requires: `${CBGP2_PREFIX}.1`, columns: prefixColumns(CBGP2_PREFIX), derive: prefixIndex(true) },
  ],
  // A peer both tables list is written once, from cbgpPeer2 (the table that also has IPv6 peers).
  merge(records) {
    const v2 = new Set(records.filter((r) => r.tags._v2).map((r) => `${r.tags.peer}|${r.tags.afi}|${r.tags.safi}`));
    const out = records.filter((r) => r.tags._v2 || !v2.has(`${r.tags.peer}|${r.tags.afi}|${r.tags.safi}`));
    for (const r of out) delete r.tags._v2;
    return out;
  },
  doc: [
    {
      measurement: 'snmp_bgp_prefixes',
      tags: [tag('peer', 'index: the peer address as text (v1: 4 sub-ids, IPv4; v2: InetAddressType.length.InetAddress, IPv4 or IPv6)'), tag('afi', 'index: ipv4 (1), ipv6 (2)'), tag('safi', 'index: unicast (1), multicast (2), vpn (128), …')],
      fields: [
        { name: 'accepted_prefixes', source: 'cbgpPeerAcceptedPrefixes (1.3.6.1.4.1.9.9.187.1.2.4.1.1) / cbgpPeer2AcceptedPrefixes (…187.1.2.8.1.1)', unit: 'prefixes' },
        { name: 'denied_prefixes', source: 'cbgpPeerDeniedPrefixes (…2.4.1.2) / cbgpPeer2DeniedPrefixes (…2.8.1.2)', unit: 'counter (prefixes)' },
        { name: 'advertised_prefixes', source: 'cbgpPeerAdvertisedPrefixes (…2.4.1.6) / cbgpPeer2AdvertisedPrefixes (…2.8.1.6)', unit: 'prefixes' },
      ],
    },
  ],
};

// --- Juniper -----------------------------------------------------------------------------------
const JNX_OP = '1.3.6.1.4.1.2636.3.1.13.1';
/** jnxOperatingContentsIndex of routing engines (9) and FPCs (7), the rows with a CPU and memory. */
const jnxCompute = (index: string | undefined): boolean => /^(7|9)\./.test(index ?? '');
const JNX_STATES = { 1: 'unknown', 2: 'running', 3: 'ready', 4: 'reset', 5: 'running_at_full_speed', 6: 'down', 7: 'standby' };
const jnxTable = (measurement: string, kind: string, cols: { oid: string; name: string }[], derive: (f: Fields, t: Tags) => void) => ({
  measurement,
  indexTag: `${kind}_index`,
  columns: [{ oid: `${JNX_OP}.5`, name: kind, tag: true }, ...cols],
  derive,
});
export const JUNIPER: HealthProfile = {
  name: 'juniper',
  summary: 'Juniper routing-engine and FPC CPU and memory, component temperatures, fan and power-supply state',
  needs: 'JUNIPER-MIB jnxOperatingTable (1.3.6.1.4.1.2636.3.1.13.1)',
  ...healthHeader('snmp_cpu'),
  tables: [
    jnxTable('snmp_cpu', 'cpu', [{ oid: `${JNX_OP}.8`, name: 'load' }], (f, t) => (jnxCompute(t.cpu_index) ? floatPercent(f, 'load') : drop(f, 'load'))),
    jnxTable(
      'snmp_memory',
      'pool',
      [
        { oid: `${JNX_OP}.11`, name: 'buffer' },
        { oid: `${JNX_OP}.15`, name: 'mb' },
      ],
      (f, t) => {
        const pct = num(f, 'buffer');
        const mb = f.mb;
        drop(f, 'buffer', 'mb');
        if (!jnxCompute(t.pool_index) || pct === undefined) return;
        f.used_percent = pct;
        if (typeof mb === 'bigint' && mb > 0n) {
          f.total_bytes = mb * 1048576n;
          f.used_bytes = BigInt(Math.round((Number(mb) * 1048576 * pct) / 100));
          f.free_bytes = f.total_bytes - f.used_bytes;
        }
      },
    ),
    jnxTable('snmp_sensor', 'sensor', [{ oid: `${JNX_OP}.7`, name: 'temp' }], (f, t) => celsius(f, t, 'temp')),
    jnxTable('snmp_component', 'component', [{ oid: `${JNX_OP}.6`, name: 'state' }], (f, t) => {
      // Container 2 holds the power supplies (PEMs) and 4 the fans on JUNOS chassis.
      const kind = t.component_index?.startsWith('2.') ? 'psu' : t.component_index?.startsWith('4.') ? 'fan' : undefined;
      if (!kind) return drop(f, 'state');
      t.kind = kind;
      deriveState(JNX_STATES, [2, 3, 5, 7])(f);
    }),
  ],
  doc: [
    { measurement: 'snmp_cpu', tags: [tag('cpu_index', 'row index (container.L1.L2.L3); rows of containers 7 (FPC) and 9 (routing engine)'), tag('cpu', 'jnxOperatingDescr (…13.1.5)')], fields: [{ name: 'load_percent', source: 'jnxOperatingCPU (1.3.6.1.4.1.2636.3.1.13.1.8)', unit: 'percent (float)' }] },
    {
      measurement: 'snmp_memory',
      tags: [tag('pool_index', 'row index (containers 7 and 9)'), tag('pool', 'jnxOperatingDescr (…13.1.5)')],
      fields: [
        { name: 'used_percent', source: 'jnxOperatingBuffer (…13.1.11)', unit: 'percent (float)' },
        { name: 'total_bytes', source: 'jnxOperatingMemory (…13.1.15, MB) x 2^20', unit: 'bytes' },
        { name: 'used_bytes', source: 'total x used_percent / 100', unit: 'bytes' },
        { name: 'free_bytes', source: 'total - used', unit: 'bytes' },
      ],
    },
    { measurement: 'snmp_sensor', tags: [tag('sensor_index', 'row index'), tag('sensor', 'jnxOperatingDescr'), tag('sensor_type', 'constant `celsius`')], fields: [{ name: 'value', source: 'jnxOperatingTemp (…13.1.7); 0 (no sensor) is left out', unit: 'celsius' }] },
    { measurement: 'snmp_component', tags: [tag('component_index', 'row index (containers 2 and 4)'), tag('component', 'jnxOperatingDescr'), tag('kind', '`psu` (container 2) or `fan` (container 4)')], fields: COMPONENT_FIELDS('jnxOperatingState (…13.1.6)', '2 running, 3 ready, 5 runningAtFullSpeed, 7 standby are ok; 1 unknown, 4 reset, 6 down') },
  ],
};
