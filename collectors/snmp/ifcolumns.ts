/**
 * The IF-MIB columns operators filter interfaces on, beyond counters and names (RFC 2863 section 6):
 * what kind of interface it is, its MTU, MAC, when its state last changed, whether it listens
 * promiscuously and has a physical connector. Pure: a row's values in, tags and fields out.
 */
import type { Fields, Tags } from '../../src/record/record.js';
import { valueAsBigint, valueAsOctets, type SnmpValue } from './values.js';

type Row = ReadonlyMap<number, SnmpValue>;

/** ifEntry and ifXEntry column numbers of these objects. */
const IF = { type: 3, mtu: 4, physAddress: 6, lastChange: 9 } as const;
const IFX = { highSpeed: 15, promiscuous: 16, connector: 17 } as const;

/**
 * IANAifType-MIB names of the types seen on routers, switches and hosts; any other type is written
 * as its number. A name, not the number, because `if_type = 'ethernetCsmacd'` reads in a query.
 */
const IF_TYPES: Readonly<Record<number, string>> = {
  1: 'other', 6: 'ethernetCsmacd', 23: 'ppp', 24: 'softwareLoopback', 32: 'frameRelay', 37: 'atm', 53: 'propVirtual',
  62: 'fastEther', 71: 'ieee80211', 117: 'gigabitEthernet', 131: 'tunnel', 135: 'l2vlan', 136: 'l3ipvlan', 150: 'mplsTunnel',
  161: 'ieee8023adLag', 166: 'mpls', 209: 'bridge', 244: 'wwanPP2',
};

export function ifTypeName(n: bigint): string {
  return IF_TYPES[Number(n)] ?? n.toString();
}

/** MAC (or any link address) as lower-case colon hex; '' for an interface without one (loopback). */
export function macText(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** TruthValue (RFC 2579): 1 true, 2 false; anything else is not a truth value. */
function truth(v: SnmpValue | undefined): boolean | undefined {
  const n = valueAsBigint(v);
  return n === 1n ? true : n === 2n ? false : undefined;
}

export interface IfColumns {
  tags: Tags;
  fields: Fields;
}

export function ifColumns(b: Row, x: Row): IfColumns {
  const tags: Tags = {};
  const fields: Fields = {};
  const type = valueAsBigint(b.get(IF.type));
  if (type !== undefined) tags.if_type = ifTypeName(type);
  const mtu = valueAsBigint(b.get(IF.mtu));
  if (mtu !== undefined) fields.mtu = mtu;
  const high = valueAsBigint(x.get(IFX.highSpeed));
  if (high !== undefined) fields.high_speed = high;
  const mac = valueAsOctets(b.get(IF.physAddress));
  if (mac !== undefined) fields.phys_address = macText(mac);
  const last = valueAsBigint(b.get(IF.lastChange));
  if (last !== undefined) fields.last_change = last;
  const promiscuous = truth(x.get(IFX.promiscuous));
  if (promiscuous !== undefined) fields.promiscuous = promiscuous;
  const connector = truth(x.get(IFX.connector));
  if (connector !== undefined) fields.connector_present = connector;
  return { tags, fields };
}
