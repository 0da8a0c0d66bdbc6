/**
 * Received notification -> `snmp_trap` record. Pure: the receiver hands over typed varbinds.
 *
 * The trap identity follows RFC 3416 4.2.6 (snmpTrapOID.0 is the second varbind of a v2 trap or
 * inform) and RFC 3584 3.1 for v1 (generic 0-5 map to snmpTraps.1-6; enterprise-specific traps to
 * enterprise.0.specific), so v1 and v2 traps of the same event get the same `trap` tag.
 */
import { makeRecord, type Fields, type Tags, type TrapRecord } from '../../src/record/record.js';
import { valueAsText, type SnmpValue, type Vb } from '../snmp/values.js';

export const SYS_UPTIME_0 = '1.3.6.1.2.1.1.3.0';
export const SNMP_TRAP_OID_0 = '1.3.6.1.6.3.1.1.4.1.0';
const SNMP_TRAPS = '1.3.6.1.6.3.1.1.5';

export interface Notification {
  version: 'v1' | 'v2c' | 'v3';
  pdu: 'trap' | 'inform';
  sender: { address: string; port: number };
  community?: string;
  user?: string;
  varbinds: readonly Vb[];
  /** v1 Trap-PDU fields (RFC 1157 4.1.6). */
  v1?: { enterprise: string; agentAddr: string; generic: number; specific: number; upTime: number };
}

export interface Names {
  toName(oid: string): string | undefined;
  objectOf(oid: string): { name: string; instance: string } | undefined;
}

export function v1TrapOid(v1: NonNullable<Notification['v1']>): string {
  return v1.generic >= 0 && v1.generic < 6 ? `${SNMP_TRAPS}.${v1.generic + 1}` : `${v1.enterprise}.0.${v1.specific}`;
}

/**
 * `IF-MIB::ifIndex.3` -> key `ifIndex`, instance `3`. An OID under a non-leaf node (e.g. an
 * unloaded enterprise MIB) keeps its full resolved path as the key, so nothing collapses.
 */
function fieldKey(oid: string, names: Names): { key: string; instance: string } {
  const obj = names.objectOf(oid);
  if (obj) return { key: obj.name.includes('::') ? obj.name.slice(obj.name.indexOf('::') + 2) : obj.name, instance: obj.instance };
  return { key: names.toName(oid) ?? oid, instance: '' };
}

function fieldValue(v: SnmpValue, names: Names): bigint | string | undefined {
  if (v.kind === 'int') return v.value;
  if (v.kind === 'oid') return names.toName(v.value) ?? v.value;
  return valueAsText(v);
}

export function trapRecord(n: Notification, device: string | undefined, names: Names, timeMs: number): TrapRecord {
  let trapOid: string | undefined;
  const fields: Fields = {};
  for (const vb of n.varbinds) {
    if (vb.oid === SNMP_TRAP_OID_0 && vb.value.kind === 'oid') {
      trapOid = vb.value.value;
      continue;
    }
    if (vb.oid === SYS_UPTIME_0 && vb.value.kind === 'int') {
      fields.uptime = vb.value.value;
      continue;
    }
    if (vb.value.kind === 'missing') continue;
    const { key, instance } = fieldKey(vb.oid, names);
    // Field keys are object names so dashboards see stable keys; a second varbind of the same
    // object (two rows of one table) keeps its instance suffix to stay apart.
    const k = key in fields && instance ? `${key}.${instance}` : key;
    fields[k] = fieldValue(vb.value, names);
  }
  if (n.v1) {
    trapOid = v1TrapOid(n.v1);
    fields.uptime = BigInt(n.v1.upTime);
    fields.enterprise = names.toName(n.v1.enterprise) ?? n.v1.enterprise;
  }
  const agent = n.v1?.agentAddr && n.v1.agentAddr !== '0.0.0.0' ? n.v1.agentAddr : n.sender.address;
  const tags: Tags = {
    device: device ?? agent,
    agent,
    version: n.version,
    pdu: n.pdu,
    trap: trapOid ? (names.toName(trapOid) ?? trapOid) : 'unknown',
  };
  fields.trap_oid = trapOid ?? '';
  fields.sender = `${n.sender.address}:${n.sender.port}`;
  // The community is a credential: it was checked on receipt and is not stored with the trap.
  if (n.user !== undefined) fields.user = n.user;
  return makeRecord('trap', 'snmp_trap', tags, fields, timeMs, 'collector');
}
