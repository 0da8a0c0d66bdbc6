/**
 * What a health profile is: a declarative ProfileSpec (numeric OIDs, so no vendor MIB file is needed
 * at run time) plus a statement of every tag and field it writes, with the OID it comes from and its
 * unit. The README table is generated from these statements (docs.ts) and a test checks that every
 * field a profile writes from a recorded device is stated, so the two cannot drift.
 */
import type { Fields, Tags } from '../../../src/record/record.js';
import type { ProfileSpec, ScalarSpec, TableSpec } from '../profiles.js';

export interface FieldDoc {
  name: string;
  /** `MIB::object` (numeric OID) or how the value is derived. */
  source: string;
  /** Base unit: `celsius`, `bytes`, `percent`, `seconds`, … ; `tag` for tags, `enum` for codes. */
  unit: string;
}

/** A tag's doc line: tags have no unit, so the README's unit column says `tag`. */
export const tag = (name: string, source: string): FieldDoc => ({ name, source, unit: 'tag' });

export interface HealthProfile extends ProfileSpec {
  /** One line for the README: what the profile is for. */
  summary: string;
  needs: string;
  /** Every tag (besides device, agent and inventory tags) and field written, per measurement. */
  doc: readonly { measurement: string; tags: readonly FieldDoc[]; fields: readonly FieldDoc[] }[];
}

export const HEALTH_INTERVAL_MS = 60_000;

/** The header of every health profile: its measurement, the 60 s health interval, its scalars (most have none). */
export function healthHeader(measurement: string, scalars: readonly ScalarSpec[] = []): Pick<ProfileSpec, 'measurement' | 'intervalMs' | 'scalars'> {
  return { measurement, intervalMs: HEALTH_INTERVAL_MS, scalars };
}

/** A field as a JS number, or undefined when absent or not numeric. */
export function num(f: Fields, name: string): number | undefined {
  const v = f[name];
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

export function drop(f: Fields, ...names: string[]): void {
  for (const n of names) delete f[n];
}

/** Multiplies an integer field (in place, as bigint) to bytes; leaves it out when absent. */
export function toBytes(f: Fields, from: string, to: string, factor: bigint): void {
  const v = f[from];
  delete f[from];
  if (typeof v === 'bigint') f[to] = v * factor;
}

/** used/free/total bytes and used_percent, from whichever two of them the device gave. */
export function memoryTotals(f: Fields): void {
  const used = typeof f.used_bytes === 'bigint' ? f.used_bytes : undefined;
  const free = typeof f.free_bytes === 'bigint' ? f.free_bytes : undefined;
  let total = typeof f.total_bytes === 'bigint' ? f.total_bytes : undefined;
  if (total === undefined && used !== undefined && free !== undefined) total = f.total_bytes = used + free;
  if (used === undefined && total !== undefined && free !== undefined) f.used_bytes = total - free;
  const u = typeof f.used_bytes === 'bigint' ? f.used_bytes : undefined;
  if (u !== undefined && total !== undefined && total > 0n) f.used_percent = (Number(u) / Number(total)) * 100;
}

/**
 * ENTITY-SENSOR-MIB value in base units (RFC 3433 section 4): value x 10^(3 x (scale - 9)) x
 * 10^-precision. EntitySensorDataScale 9 is units(10^0), 8 milli, 10 kilo, …; precision is the
 * number of decimal places (negative: the value is a multiple of a power of ten).
 */
export function sensorValue(raw: number, scale: number | undefined, precision: number | undefined): number {
  const exp = 3 * ((scale ?? 9) - 9) - (precision ?? 0);
  // Dividing by a power of ten keeps 253 x 10^-1 at exactly 25.3 (multiplying by 0.1 would not).
  return exp >= 0 ? raw * 10 ** exp : raw / 10 ** -exp;
}

/**
 * EntitySensorDataType (RFC 3433) and CISCO-ENTITY-SENSOR-MIB's SensorDataType, which adds
 * specialEnum(13), dBm(14) and dB(15) (the optics' transmit and receive power).
 */
const SENSOR_TYPES: Readonly<Record<number, string>> = {
  1: 'other',
  2: 'unknown',
  3: 'volts_ac',
  4: 'volts_dc',
  5: 'amperes',
  6: 'watts',
  7: 'hertz',
  8: 'celsius',
  9: 'percent_rh',
  10: 'rpm',
  11: 'cmm',
  12: 'truth_value',
  13: 'special_enum',
  14: 'dbm',
  15: 'db',
};

/** Shared derive for the standard and the Cisco sensor tables: columns type, scale, precision, raw, status. */
export function deriveSensor(f: Fields, t: Tags): void {
  const raw = num(f, 'raw');
  const type = num(f, 'type');
  const units = t.units_display?.trim().toLowerCase();
  delete t.units_display;
  // Some agents type optic power `other` and say dBm only in entPhySensorUnitsDisplay.
  t.sensor_type = type === 1 && units === 'dbm' ? 'dbm' : type !== undefined ? (SENSOR_TYPES[type] ?? String(type)) : 'unknown';
  if (raw !== undefined) f.value = sensorValue(raw, num(f, 'scale'), num(f, 'precision'));
  drop(f, 'type', 'scale', 'precision', 'raw');
  if (f.value === undefined) drop(f, 'oper_status');
  if (!t.sensor) t.sensor = t.sensor_descr || t.sensor_index;
  delete t.sensor_descr;
}

/** A state code as name + ok flag, so a dashboard can count failures without knowing each vendor's codes. */
export function deriveState(names: Readonly<Record<number, string>>, okCodes: readonly number[]): (f: Fields) => void {
  return (f) => {
    const s = num(f, 'state');
    if (s === undefined) return;
    f.state_name = names[s] ?? String(s);
    f.ok = okCodes.includes(s);
  };
}

const ENT_PHYSICAL = '1.3.6.1.2.1.47.1.1.1.1';
/** entPhysicalName and entPhysicalDescr (ENTITY-MIB, RFC 6933): the names every entPhysicalIndex-indexed table joins. */
export const ENT_NAME = `${ENT_PHYSICAL}.7`;
export const ENT_DESCR = `${ENT_PHYSICAL}.2`;

/**
 * The snmp_sensor table of ENTITY-SENSOR-MIB entPhySensorTable (RFC 3433): columns 1-5 are type,
 * scale, precision, value and status. CISCO-ENTITY-SENSOR-MIB entSensorValueTable numbers the same
 * columns the same way under its own base and has no units-display column, hence the optional one.
 * Both are indexed by entPhysicalIndex, so the ENTITY-MIB names ride in the same table spec.
 */
export function entitySensorTable(base: string, unitsDisplayOid?: string): TableSpec {
  return {
    measurement: 'snmp_sensor',
    indexTag: 'sensor_index',
    requires: `${base}.4`,
    columns: [
      { oid: ENT_NAME, name: 'sensor', tag: true },
      { oid: ENT_DESCR, name: 'sensor_descr', tag: true },
      ...(unitsDisplayOid === undefined ? [] : [{ oid: unitsDisplayOid, name: 'units_display', tag: true }]),
      { oid: `${base}.1`, name: 'type' },
      { oid: `${base}.2`, name: 'scale' },
      { oid: `${base}.3`, name: 'precision' },
      { oid: `${base}.4`, name: 'raw' },
      { oid: `${base}.5`, name: 'oper_status' },
    ],
    derive: deriveSensor,
  };
}

export const SENSOR_DOC = {
  tags: [
    { name: 'sensor_index', source: 'row index (entPhysicalIndex)', unit: 'tag' },
    { name: 'sensor', source: 'entPhysicalName (1.3.6.1.2.1.47.1.1.1.1.7), else entPhysicalDescr (…1.2), else the index', unit: 'tag' },
    { name: 'sensor_type', source: 'sensor type code as a name: celsius, volts_dc, volts_ac, amperes, watts, rpm, dbm, …', unit: 'tag' },
  ],
  fields: [
    { name: 'value', source: 'sensor value x 10^(3 x (scale - 9)) x 10^-precision', unit: 'float, the base unit of sensor_type (°C, V, A, W, rpm, dBm)' },
    { name: 'oper_status', source: 'sensor status: 1 ok, 2 unavailable, 3 nonoperational', unit: 'enum' },
  ],
} as const;
