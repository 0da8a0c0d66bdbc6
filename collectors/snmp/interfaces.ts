/**
 * The `interfaces` profile: IF-MIB ifTable (RFC 2863 / RFC 1213) plus ifXTable, normalised to the
 * shared `interface` measurement (the sFlow collector emits the same names). Pure: varbinds in,
 * samples and records out.
 */
import type { InterfaceInfo } from '../../src/collector.js';
import { makeRecord, type Fields, type InterfaceRecord, type Tags } from '../../src/record/record.js';
import type { InterfaceRates, InterfaceSample, RateCounter, Reading } from './rates.js';
import { ifColumns, type IfColumns } from './ifcolumns.js';
import { valueAsBigint, valueAsText, type SnmpValue, type Vb } from './values.js';

export const IF_TABLE = '1.3.6.1.2.1.2.2.1';
export const IF_X_TABLE = '1.3.6.1.2.1.31.1.1.1';

/** ifEntry column numbers (RFC 2863 section 6). */
const IF = { descr: 2, speed: 5, admin: 7, oper: 8, inOctets: 10, inUcast: 11, inDiscards: 13, inErrors: 14, inUnknown: 15, outOctets: 16, outUcast: 17, outDiscards: 19, outErrors: 20 } as const;
/** ifXEntry column numbers. */
const IFX = {
  name: 1,
  inMcast: 2,
  inBcast: 3,
  outMcast: 4,
  outBcast: 5,
  hcInOctets: 6,
  hcInUcast: 7,
  hcInMcast: 8,
  hcInBcast: 9,
  hcOutOctets: 10,
  hcOutUcast: 11,
  hcOutMcast: 12,
  hcOutBcast: 13,
  highSpeed: 15,
  alias: 18,
  discontinuity: 19,
} as const;

export type Row = Map<number, SnmpValue>;

/** Splits `<table>.<column>.<index>` varbinds into rows keyed by the (single sub-identifier) index. */
export function toRows(table: string, vbs: readonly Vb[]): Map<number, Row> {
  const rows = new Map<number, Row>();
  const prefix = table + '.';
  for (const vb of vbs) {
    if (!vb.oid.startsWith(prefix) || vb.value.kind === 'missing') continue;
    const rest = vb.oid.slice(prefix.length).split('.');
    if (rest.length !== 2) continue;
    const col = Number(rest[0]);
    const idx = Number(rest[1]);
    if (!Number.isSafeInteger(col) || !Number.isSafeInteger(idx)) continue;
    let row = rows.get(idx);
    if (!row) rows.set(idx, (row = new Map()));
    row.set(col, vb.value);
  }
  return rows;
}

export interface InterfaceRow {
  ifIndex: number;
  name?: string;
  alias?: string;
  descr?: string;
  speedBps?: bigint;
  operStatus?: bigint;
  adminStatus?: bigint;
  inUnknownProtos?: bigint;
  /** ifType, ifMtu, ifPhysAddress, ... (ifcolumns.ts). */
  columns: IfColumns;
  sample: InterfaceSample;
  counterBits: 32 | 64;
}

function reading(v: SnmpValue | undefined): Reading | undefined {
  if (v?.kind !== 'int') return undefined;
  return { value: v.value, bits: v.counterBits === 64 ? 64 : 32 };
}

/** Prefers the HC (Counter64) column when the agent has it, as RFC 2863 3.1.6 asks for fast links. */
function pick(hc: SnmpValue | undefined, low: SnmpValue | undefined): Reading | undefined {
  return reading(hc) ?? reading(low);
}

export function interfaceRows(ifTable: readonly Vb[], ifXTable: readonly Vb[]): InterfaceRow[] {
  const base = toRows(IF_TABLE, ifTable);
  const ext = toRows(IF_X_TABLE, ifXTable);
  const out: InterfaceRow[] = [];
  const indexes = [...new Set([...base.keys(), ...ext.keys()])].sort((a, b) => a - b);
  for (const ifIndex of indexes) {
    const b: Row = base.get(ifIndex) ?? new Map();
    const x: Row = ext.get(ifIndex) ?? new Map();
    const counters: Partial<Record<RateCounter, Reading>> = {};
    const put = (k: RateCounter, r: Reading | undefined) => {
      if (r) counters[k] = r;
    };
    put('in_octets', pick(x.get(IFX.hcInOctets), b.get(IF.inOctets)));
    put('out_octets', pick(x.get(IFX.hcOutOctets), b.get(IF.outOctets)));
    put('in_ucast_pkts', pick(x.get(IFX.hcInUcast), b.get(IF.inUcast)));
    put('out_ucast_pkts', pick(x.get(IFX.hcOutUcast), b.get(IF.outUcast)));
    put('in_mcast_pkts', pick(x.get(IFX.hcInMcast), x.get(IFX.inMcast)));
    put('out_mcast_pkts', pick(x.get(IFX.hcOutMcast), x.get(IFX.outMcast)));
    put('in_bcast_pkts', pick(x.get(IFX.hcInBcast), x.get(IFX.inBcast)));
    put('out_bcast_pkts', pick(x.get(IFX.hcOutBcast), x.get(IFX.outBcast)));
    put('in_errors', reading(b.get(IF.inErrors)));
    put('out_errors', reading(b.get(IF.outErrors)));
    put('in_discards', reading(b.get(IF.inDiscards)));
    put('out_discards', reading(b.get(IF.outDiscards)));
    // ifHighSpeed is in units of 1,000,000 bit/s; ifSpeed saturates at 2^32-1 (RFC 2863 ifHighSpeed).
    const high = valueAsBigint(x.get(IFX.highSpeed));
    const low = valueAsBigint(b.get(IF.speed));
    const speedBps = high !== undefined && (high > 0n || low === undefined) ? high * 1_000_000n : low;
    const sample: InterfaceSample = { ifIndex, counters };
    const disc = valueAsBigint(x.get(IFX.discontinuity));
    if (disc !== undefined) sample.discontinuity = disc;
    if (speedBps !== undefined) sample.speedBps = speedBps;
    const row: InterfaceRow = { ifIndex, sample, columns: ifColumns(b, x), counterBits: counters.in_octets?.bits ?? 32 };
    const text = (v: SnmpValue | undefined) => (v ? valueAsText(v) : undefined);
    const name = text(x.get(IFX.name));
    const alias = text(x.get(IFX.alias));
    const descr = text(b.get(IF.descr));
    if (name !== undefined) row.name = name;
    if (alias !== undefined) row.alias = alias;
    if (descr !== undefined) row.descr = descr;
    if (speedBps !== undefined) row.speedBps = speedBps;
    const oper = valueAsBigint(b.get(IF.oper));
    const admin = valueAsBigint(b.get(IF.admin));
    const unknown = valueAsBigint(b.get(IF.inUnknown));
    if (oper !== undefined) row.operStatus = oper;
    if (admin !== undefined) row.adminStatus = admin;
    if (unknown !== undefined) row.inUnknownProtos = unknown;
    out.push(row);
  }
  return out;
}

export interface DeviceIdentity {
  name: string;
  address: string;
  tags: Readonly<Record<string, string>>;
}

export function interfaceRecord(dev: DeviceIdentity, row: InterfaceRow, rates: InterfaceRates | undefined, timeMs: number): InterfaceRecord {
  const tags: Tags = { ...dev.tags, ...row.columns.tags, device: dev.name, agent: dev.address, if_index: String(row.ifIndex), source: 'snmp' };
  if (row.name !== undefined) tags.if_name = row.name;
  if (row.alias !== undefined) tags.if_alias = row.alias;
  if (row.descr !== undefined) tags.if_descr = row.descr;
  const fields: Fields = {};
  for (const [k, r] of Object.entries(row.sample.counters)) fields[k] = r.value;
  if (row.inUnknownProtos !== undefined) fields.in_unknown_protos = row.inUnknownProtos;
  if (row.speedBps !== undefined) fields.speed = row.speedBps;
  if (row.operStatus !== undefined) fields.oper_status = row.operStatus;
  if (row.adminStatus !== undefined) fields.admin_status = row.adminStatus;
  Object.assign(fields, row.columns.fields);
  fields.counter_bits = BigInt(row.counterBits);
  if (rates) Object.assign(fields, rates);
  return makeRecord('interface', 'interface', tags, fields, timeMs, 'collector');
}

/** What the flow enrichment stage needs from a poll (ifIndex -> name, alias, descr, speed). */
export function interfaceInfos(rows: readonly InterfaceRow[]): InterfaceInfo[] {
  return rows.map((r) => {
    const i: InterfaceInfo = { ifIndex: r.ifIndex };
    if (r.name !== undefined) i.name = r.name;
    if (r.alias !== undefined) i.alias = r.alias;
    if (r.descr !== undefined) i.descr = r.descr;
    if (r.speedBps !== undefined) i.speed = Number(r.speedBps);
    return i;
  });
}
