/**
 * The IF-MIB columns operators filter interfaces on, beyond counters and names (RFC 2863 section 6):
 * what kind of interface it is, its MTU, MAC, when its state last changed, whether it listens
 * promiscuously and has a physical connector. Pure: a row's values in, tags and fields out.
 *
 * Integers as read, like the sFlow collector's generic counters, which write `if_type` and
 * `promiscuous` into the same `interface` measurement: InfluxDB refuses a field whose type differs
 * between points of one measurement, so a boolean or a type name here would lose the sFlow points.
 */
import type { Fields, Tags } from '../../src/record/record.js';
import { valueAsBigint, valueAsOctets, type SnmpValue } from './values.js';

type Row = ReadonlyMap<number, SnmpValue>;

/** ifEntry and ifXEntry column numbers of these objects. */
const IF = { type: 3, mtu: 4, physAddress: 6, lastChange: 9 } as const;
const IFX = { highSpeed: 15, promiscuous: 16, connector: 17 } as const;

/** MAC (or any link address) as lower-case colon hex; '' for an interface without one (loopback). */
export function macText(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export interface IfColumns {
  tags: Tags;
  fields: Fields;
}

export function ifColumns(b: Row, x: Row): IfColumns {
  const tags: Tags = {};
  const fields: Fields = {};
  const type = valueAsBigint(b.get(IF.type));
  if (type !== undefined) fields.if_type = type;
  const mtu = valueAsBigint(b.get(IF.mtu));
  if (mtu !== undefined) fields.mtu = mtu;
  const high = valueAsBigint(x.get(IFX.highSpeed));
  if (high !== undefined) fields.high_speed = high;
  const mac = valueAsOctets(b.get(IF.physAddress));
  if (mac !== undefined) fields.phys_address = macText(mac);
  const last = valueAsBigint(b.get(IF.lastChange));
  if (last !== undefined) fields.last_change = last;
  const promiscuous = valueAsBigint(x.get(IFX.promiscuous));
  if (promiscuous !== undefined) fields.promiscuous = promiscuous;
  const connector = valueAsBigint(x.get(IFX.connector));
  if (connector !== undefined) fields.connector_present = connector;
  return { tags, fields };
}
