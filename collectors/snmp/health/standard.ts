/**
 * Health profiles for standard MIBs, which work on any device that implements them: ENTITY-SENSOR
 * (RFC 3433) and ENTITY-STATE (RFC 4268) joined with ENTITY-MIB names (RFC 6933: same index,
 * entPhysicalIndex, so the name columns ride in the same table spec),
 * LLDP-MIB (IEEE 802.1AB) and UPS-MIB (RFC 1628). BGP peers: bgp.ts.
 */
import { drop, ENT_NAME, entitySensorTable, healthHeader, num, SENSOR_DOC, type HealthProfile } from './types.js';

export { ENT_DESCR, ENT_NAME } from './types.js';
const SENSOR = '1.3.6.1.2.1.99.1.1.1';

export const ENTITY_SENSORS: HealthProfile = {
  name: 'entity_sensors',
  summary: 'temperatures, voltages, currents, power, fan speeds and optic power (dBm) of every sensor, scaled to base units',
  needs: 'ENTITY-SENSOR-MIB entPhySensorTable (1.3.6.1.2.1.99.1.1), names from ENTITY-MIB entPhysicalTable',
  ...healthHeader('snmp_sensor'),
  // entPhySensorUnitsDisplay (column 6) tells a dBm optic typed `other` apart (see deriveSensor).
  tables: [entitySensorTable(SENSOR, `${SENSOR}.6`)],
  doc: [{ measurement: 'snmp_sensor', ...SENSOR_DOC }],
};

const ENT_STATE = '1.3.6.1.2.1.131.1.1.1';
export const ENTITY_STATE: HealthProfile = {
  name: 'entity_state',
  summary: 'administrative, operational, usage and standby state of each physical entity (cards, fans, PSUs)',
  needs: 'ENTITY-STATE-MIB entStateTable (1.3.6.1.2.1.131.1.1)',
  ...healthHeader('snmp_entity_state'),
  tables: [
    {
      measurement: 'snmp_entity_state',
      indexTag: 'entity_index',
      requires: `${ENT_STATE}.3`,
      columns: [
        { oid: ENT_NAME, name: 'entity', tag: true },
        { oid: `${ENT_STATE}.2`, name: 'admin_state' },
        { oid: `${ENT_STATE}.3`, name: 'oper_state' },
        { oid: `${ENT_STATE}.4`, name: 'usage_state' },
        { oid: `${ENT_STATE}.6`, name: 'standby_state' },
      ],
      derive(f) {
        // Rows of entPhysicalName alone (no state columns) carry no field and are dropped.
        const oper = num(f, 'oper_state');
        if (oper !== undefined) f.ok = oper === 3;
      },
    },
  ],
  doc: [
    {
      measurement: 'snmp_entity_state',
      tags: [
        { name: 'entity_index', source: 'row index (entPhysicalIndex)', unit: 'tag' },
        { name: 'entity', source: 'entPhysicalName (1.3.6.1.2.1.47.1.1.1.1.7)', unit: 'tag' },
      ],
      fields: [
        { name: 'admin_state', source: 'entStateAdmin (…131.1.1.1.2): 1 unknown, 2 locked, 3 shuttingDown, 4 unlocked', unit: 'enum' },
        { name: 'oper_state', source: 'entStateOper (…131.1.1.1.3): 1 unknown, 2 disabled, 3 enabled, 4 testing', unit: 'enum' },
        { name: 'usage_state', source: 'entStateUsage (…131.1.1.1.4): 1 unknown, 2 idle, 3 active, 4 busy', unit: 'enum' },
        { name: 'standby_state', source: 'entStateStandby (…131.1.1.1.6): 1 unknown, 2 hotStandby, 3 coldStandby, 4 providingService', unit: 'enum' },
        { name: 'ok', source: 'oper_state = enabled', unit: 'bool' },
      ],
    },
  ],
};

const LLDP_REM = '1.0.8802.1.1.2.1.4.1.1';
export const LLDP_NEIGHBORS: HealthProfile = {
  name: 'lldp_neighbors',
  summary: 'one record per LLDP neighbor (local port, remote chassis, port and system name) for topology',
  needs: 'LLDP-MIB lldpRemTable (1.0.8802.1.1.2.1.4.1)',
  ...healthHeader('snmp_lldp_neighbor'),
  tables: [
    {
      measurement: 'snmp_lldp_neighbor',
      indexTag: 'lldp_index',
      requires: `${LLDP_REM}.5`,
      columns: [
        { oid: `${LLDP_REM}.9`, name: 'neighbor', tag: true },
        { oid: `${LLDP_REM}.4`, name: 'chassis_id_subtype' },
        { oid: `${LLDP_REM}.5`, name: 'chassis_id' },
        { oid: `${LLDP_REM}.6`, name: 'port_id_subtype' },
        { oid: `${LLDP_REM}.7`, name: 'port_id' },
        { oid: `${LLDP_REM}.8`, name: 'port_descr' },
        { oid: `${LLDP_REM}.10`, name: 'sys_descr' },
      ],
      derive(f, t) {
        // Index = lldpRemTimeMark.lldpRemLocalPortNum.lldpRemIndex; the time mark changes whenever
        // the neighbor is re-learned, so it is left out of the tags (it would start a new series).
        const [, port, index] = (t.lldp_index ?? '').split('.');
        delete t.lldp_index;
        t.local_port = port;
        t.remote_index = index;
        if (!t.neighbor && typeof f.chassis_id === 'string') t.neighbor = f.chassis_id;
      },
    },
  ],
  doc: [
    {
      measurement: 'snmp_lldp_neighbor',
      tags: [
        { name: 'local_port', source: 'lldpRemLocalPortNum (index part 2)', unit: 'tag' },
        { name: 'remote_index', source: 'lldpRemIndex (index part 3)', unit: 'tag' },
        { name: 'neighbor', source: 'lldpRemSysName (…4.1.1.9), else the chassis id', unit: 'tag' },
      ],
      fields: [
        { name: 'chassis_id_subtype', source: 'lldpRemChassisIdSubtype (…4.1.1.4): 4 MAC, 5 network address, 7 local', unit: 'enum' },
        { name: 'chassis_id', source: 'lldpRemChassisId (…4.1.1.5); binary as aa:bb:…', unit: 'string' },
        { name: 'port_id_subtype', source: 'lldpRemPortIdSubtype (…4.1.1.6): 3 MAC, 5 interface name, 7 local', unit: 'enum' },
        { name: 'port_id', source: 'lldpRemPortId (…4.1.1.7)', unit: 'string' },
        { name: 'port_descr', source: 'lldpRemPortDesc (…4.1.1.8)', unit: 'string' },
        { name: 'sys_descr', source: 'lldpRemSysDesc (…4.1.1.10)', unit: 'string' },
      ],
    },
  ],
};

const UPS = '1.3.6.1.2.1.33.1';
export const UPS_PROFILE: HealthProfile = {
  name: 'ups',
  summary: 'battery state, charge, runtime and output source of a UPS',
  needs: 'UPS-MIB (1.3.6.1.2.1.33)',
  ...healthHeader('snmp_ups', [
    { oid: `${UPS}.2.1`, name: 'battery_status' },
    { oid: `${UPS}.2.2`, name: 'seconds_on_battery' },
    { oid: `${UPS}.2.3`, name: 'minutes_remaining' },
    { oid: `${UPS}.2.4`, name: 'charge_percent' },
    { oid: `${UPS}.2.5`, name: 'battery_dv' },
    { oid: `${UPS}.2.7`, name: 'battery_celsius' },
    { oid: `${UPS}.4.1`, name: 'output_source' },
  ]),
  tables: [],
  derive(f) {
    const dv = num(f, 'battery_dv');
    drop(f, 'battery_dv');
    if (dv !== undefined) f.battery_volts = dv / 10;
    const s = num(f, 'battery_status');
    if (s !== undefined) f.ok = s === 2;
  },
  doc: [
    {
      measurement: 'snmp_ups',
      tags: [],
      fields: [
        { name: 'battery_status', source: 'upsBatteryStatus (1.3.6.1.2.1.33.1.2.1): 1 unknown, 2 normal, 3 low, 4 depleted', unit: 'enum' },
        { name: 'ok', source: 'battery_status = normal', unit: 'bool' },
        { name: 'seconds_on_battery', source: 'upsSecondsOnBattery (…33.1.2.2)', unit: 'seconds' },
        { name: 'minutes_remaining', source: 'upsEstimatedMinutesRemaining (…33.1.2.3)', unit: 'minutes' },
        { name: 'charge_percent', source: 'upsEstimatedChargeRemaining (…33.1.2.4)', unit: 'percent' },
        { name: 'battery_volts', source: 'upsBatteryVoltage (…33.1.2.5) / 10', unit: 'volts' },
        { name: 'battery_celsius', source: 'upsBatteryTemperature (…33.1.2.7)', unit: 'celsius' },
        { name: 'output_source', source: 'upsOutputSource (…33.1.4.1): 3 normal, 4 bypass, 5 battery, …', unit: 'enum' },
      ],
    },
  ],
};
