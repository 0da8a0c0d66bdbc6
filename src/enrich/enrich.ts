/**
 * The enrichment stage, run on every record between the emitter and the queue: flow records get
 * interface names and speeds for in_if/out_if and the inventory's device name; sFlow interface
 * counters get ifName and the device name. Map lookups only. (The VM verdict is stamped later, at
 * dispatch, once the monitor has judged the record's window: see verdict.ts.)
 */
import type { NetRecord } from '../record/record.js';
import type { InterfaceTable } from './interfaces.js';

/**
 * `instance`, when set, tags every record: several instances writing to one database would otherwise
 * overwrite each other's points that share measurement, tags and timestamp (e.g. flow_top, vm_host).
 */
export function createEnricher(interfaces: InterfaceTable, opts: { instance?: string | undefined } = {}) {
  const instance = opts.instance;
  function names(r: NetRecord, exporter: string, key: 'in_if' | 'out_if'): void {
    const tagVal = r.tags[key];
    const raw = tagVal ?? r.fields[key];
    if (raw === undefined) return;
    const info = interfaces.lookup(exporter, Number(raw));
    if (!info) return;
    if (info.name !== undefined) {
      if (tagVal !== undefined) r.tags[`${key}_name`] = info.name;
      else r.fields[`${key}_name`] = info.name;
    }
    if (info.speed !== undefined) r.fields[`${key}_speed`] = BigInt(Math.trunc(info.speed));
  }

  return function enrich(r: NetRecord): void {
    if (instance !== undefined) r.tags.instance = instance;
    if (r.kind === 'flow' || r.kind === 'interface') {
      const exporter = r.tags.exporter ?? r.tags.agent;
      if (exporter === undefined) return;
      if (r.kind === 'flow') {
        names(r, exporter, 'in_if');
        names(r, exporter, 'out_if');
      } else if (r.tags.if_name === undefined && r.tags.if_index !== undefined) {
        // an SNMP record is its device's (agents may share an address); sFlow counters are the agent's
        const ifIndex = Number(r.tags.if_index);
        const info = r.tags.source === 'snmp' ? interfaces.lookupDevice(r.tags.device ?? '', ifIndex) : interfaces.lookup(exporter, ifIndex);
        if (info?.name) r.tags.if_name = info.name;
      }
      const device = interfaces.deviceName(exporter);
      if (device !== undefined && (r.kind === 'flow' || r.tags.source !== 'snmp')) r.tags.device = device;
    }
  };
}
