/**
 * The enrichment stage, run on every record between the emitter and the queue: flow records get
 * interface names, speeds and roles for in_if/out_if, the networks of src_addr/dst_addr and the
 * inventory's device name; interface counters get ifName (sFlow), their role and the device name.
 * Map and prefix-table lookups only. (The VM verdict is stamped later, at dispatch, once the monitor
 * has judged the record's window: see verdict.ts.)
 */
import type { NetRecord } from '../record/record.js';
import type { EnrichState } from './config.js';
import type { InterfaceTable } from './interfaces.js';
import { NETWORK_ATTRS } from './networks.js';

const SIDES = ['src', 'dst'] as const;
/** `src_net`, `src_site`, ...: the network's name is `<side>_net`. */
const NET_KEYS = { src: NETWORK_ATTRS.map((a) => `src_${a === 'name' ? 'net' : a}`), dst: NETWORK_ATTRS.map((a) => `dst_${a === 'name' ? 'net' : a}`) };
const ROLE_KEY = { in_if: 'in_role', out_if: 'out_role' } as const;

/** A tag where the value it derives from is a tag (aggregates), else a field (raw flows); an aggregation dimension already set wins. */
function put(r: NetRecord, key: string, value: string, asTag: boolean): void {
  if (asTag) {
    if (r.tags[key] === undefined) r.tags[key] = value;
  } else if (r.fields[key] === undefined) r.fields[key] = value;
}

/**
 * `instance`, when set, tags every record: several instances writing to one database would otherwise
 * overwrite each other's points that share measurement, tags and timestamp (e.g. flow_top, vm_host).
 */
export function createEnricher(interfaces: InterfaceTable, opts: { instance?: string | undefined; enrichment?: EnrichState | undefined } = {}) {
  const instance = opts.instance;
  const enrichment = opts.enrichment;
  function names(r: NetRecord, exporter: string, key: 'in_if' | 'out_if'): void {
    const tagVal = r.tags[key];
    const raw = tagVal ?? r.fields[key];
    if (raw === undefined) return;
    const info = interfaces.lookup(exporter, Number(raw));
    if (!info) return;
    if (info.name !== undefined) put(r, `${key}_name`, info.name, tagVal !== undefined);
    if (info.speed !== undefined) r.fields[`${key}_speed`] = BigInt(Math.trunc(info.speed));
    if (info.role !== undefined) put(r, ROLE_KEY[key], info.role, tagVal !== undefined);
  }

  function networks(r: NetRecord): void {
    const nets = enrichment?.networks;
    if (!nets?.active) return;
    for (const side of SIDES) {
      const tagVal = r.tags[`${side}_addr`];
      const raw = tagVal ?? r.fields[`${side}_addr`];
      if (typeof raw !== 'string') continue;
      const n = nets.find(raw);
      if (!n) continue;
      NETWORK_ATTRS.forEach((a, i) => {
        const v = n[a];
        if (v !== undefined) put(r, NET_KEYS[side][i] as string, v, tagVal !== undefined);
      });
    }
  }

  function role(r: NetRecord, device: string): void {
    const roleOf = enrichment?.roleOf;
    if (!roleOf || r.tags.if_role !== undefined) return;
    const speed = r.fields.speed;
    const v = roleOf(device, { name: r.tags.if_name, alias: r.tags.if_alias, descr: r.tags.if_descr, speed: typeof speed === 'bigint' || typeof speed === 'number' ? Number(speed) : undefined });
    if (v !== undefined) r.tags.if_role = v;
  }

  return function enrich(r: NetRecord): void {
    // kept when set: records a bus processor writes again for another (src/bus/outbox.ts)
    if (instance !== undefined && r.tags.instance === undefined) r.tags.instance = instance;
    if (r.kind === 'flow' || r.kind === 'interface') {
      const exporter = r.tags.exporter ?? r.tags.agent;
      if (exporter === undefined) return;
      if (r.kind === 'flow') {
        names(r, exporter, 'in_if');
        names(r, exporter, 'out_if');
        networks(r);
      } else if (r.tags.if_name === undefined && r.tags.if_index !== undefined) {
        // an SNMP record is its device's (agents may share an address); sFlow counters are the agent's
        const ifIndex = Number(r.tags.if_index);
        const info = r.tags.source === 'snmp' ? interfaces.lookupDevice(r.tags.device ?? '', ifIndex) : interfaces.lookup(exporter, ifIndex);
        if (info?.name) r.tags.if_name = info.name;
      }
      const device = r.tags.source === 'snmp' ? r.tags.device : interfaces.deviceName(exporter);
      if (device !== undefined && r.kind === 'flow') r.tags.device = device;
      else if (r.kind === 'interface') {
        if (device !== undefined && r.tags.source !== 'snmp') r.tags.device = device;
        role(r, device ?? exporter);
      }
    }
  };
}
