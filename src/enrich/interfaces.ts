/**
 * Interface names and speeds per device, learned over SNMP (and from flow options data).
 *
 * Two keys, because two questions are asked:
 * - an SNMP record names its device (inventory name): `lookupDevice` answers from that device's own
 *   poll and nothing else. Several agents may sit behind one address (different ports, communities
 *   or contexts), so an address never identifies an SNMP device.
 * - a flow names only the address it came from: `lookup`/`deviceName` resolve the address to the one
 *   SNMP device that claims it. A device claims its polled `address` and its `flow_addresses`; when
 *   several devices claim one address, the one that lists it in `flow_addresses` wins, and if that
 *   still leaves more than one (or none of several lists it) the address is ambiguous: its flows get
 *   no SNMP names and no device tag (never a guess), and `ambiguous()` lists it for the status page.
 * Names an exporter sent in options data (IE 82/83) describe that exporter itself, so they fill in
 * for an ifIndex the resolved device's SNMP poll lacks, and for exporters no device claims.
 */
import type { InterfaceDirectory, InterfaceInfo } from '../collector.js';
import type { RoleRule } from './roles.js';

interface DeviceEntry {
  name: string;
  snmp: Map<number, InterfaceInfo>;
  /** Address -> true when the inventory lists it in flow_addresses (an explicit claim). */
  claims: Map<string, boolean>;
}

/** Sets `role` on an interface (roles.ts); the table calls it on every update and on `reclassify`. */
export type Classify = (device: string, info: InterfaceInfo) => void;

export class InterfaceTable implements InterfaceDirectory {
  private readonly devices = new Map<string, DeviceEntry>();
  /** Flow options data, by exporter address. */
  private readonly learned = new Map<string, Map<number, InterfaceInfo>>();
  /** Address -> the SNMP device flows from it belong to; null when ambiguous. */
  private readonly byAddress = new Map<string, DeviceEntry | null>();
  private classify: Classify | undefined;
  private rules: readonly RoleRule[] = [];
  /** Bumped when the rules or an SNMP-resolved role may have changed (flow worker threads get `roles()` then). */
  version = 0;

  update(device: string, addresses: readonly string[], source: 'snmp' | 'flow', interfaces: Iterable<InterfaceInfo>, explicit: readonly string[] = []): void {
    const map = new Map<number, InterfaceInfo>();
    for (const i of interfaces) {
      // a copy: the role is ours to set, and the caller's objects may be persisted (flow options state)
      const own = { ...i };
      setRole(this.classify, device, own);
      map.set(i.ifIndex, own);
    }
    if (source === 'flow') {
      for (const a of addresses) this.learned.set(a, map);
      return;
    }
    const prev = this.devices.get(device);
    if (!prev || !sameRoles(prev.snmp, map) || prev.claims.size !== addresses.length || addresses.some((a) => prev.claims.get(a) !== explicit.includes(a))) this.version++;
    const touched = new Set<string>(prev ? prev.claims.keys() : []);
    if (addresses.length === 0 && map.size === 0) this.devices.delete(device);
    else {
      const claims = new Map<string, boolean>();
      for (const a of addresses) claims.set(a, explicit.includes(a));
      this.devices.set(device, { name: device, snmp: map, claims });
      for (const a of addresses) touched.add(a);
    }
    for (const a of touched) this.resolve(a);
  }

  private resolve(address: string): void {
    const explicit: DeviceEntry[] = [];
    const polled: DeviceEntry[] = [];
    for (const e of this.devices.values()) {
      const c = e.claims.get(address);
      if (c === true) explicit.push(e);
      else if (c === false) polled.push(e);
    }
    const pick = explicit.length ? explicit : polled;
    if (pick.length === 0) this.byAddress.delete(address);
    else this.byAddress.set(address, pick.length === 1 ? (pick[0] as DeviceEntry) : null);
  }

  lookup(exporterAddress: string, ifIndex: number): InterfaceInfo | undefined {
    return this.byAddress.get(exporterAddress)?.snmp.get(ifIndex) ?? this.learned.get(exporterAddress)?.get(ifIndex);
  }

  /** An interface of one SNMP device, by its inventory name: what its own poll reported. */
  lookupDevice(device: string, ifIndex: number): InterfaceInfo | undefined {
    return this.devices.get(device)?.snmp.get(ifIndex);
  }

  deviceName(exporterAddress: string): string | undefined {
    return this.byAddress.get(exporterAddress)?.name;
  }

  /** Addresses several devices claim equally, with the devices, for the status page. */
  ambiguous(): { address: string; devices: string[] }[] {
    const out: { address: string; devices: string[] }[] = [];
    for (const [address, e] of this.byAddress) {
      if (e !== null) continue;
      out.push({ address, devices: [...this.devices.values()].filter((d) => d.claims.has(address)).map((d) => d.name).sort() });
    }
    return out;
  }

  /**
   * The rules, and per address the interfaces of the SNMP device it resolves to with their roles
   * ('' for none): a flow worker's copy, which classifies the names its exporters send itself.
   */
  roles(): { rules: readonly RoleRule[]; snmp: [string, [number, string][]][] } {
    const snmp: [string, [number, string][]][] = [];
    if (this.rules.length === 0) return { rules: [], snmp };
    for (const [a, e] of this.byAddress) if (e) snmp.push([a, [...e.snmp].map(([i, info]) => [i, info.role ?? ''])]);
    return { rules: this.rules, snmp };
  }

  /** Applies new role rules to every interface known (SIGHUP). */
  reclassify(classify: Classify | undefined, rules: readonly RoleRule[] = []): void {
    this.classify = classify;
    this.rules = rules;
    this.version++;
    for (const e of this.devices.values()) for (const i of e.snmp.values()) setRole(classify, e.name, i);
    for (const [a, m] of this.learned) for (const i of m.values()) setRole(classify, a, i);
  }

  /** Devices and interface counts, for the status page; exporters only options data named count as devices. */
  summary(): { device: string; snmp: number; flow: number }[] {
    const out = [...this.devices.values()].map((e) => ({ device: e.name, snmp: e.snmp.size, flow: 0 }));
    for (const [a, m] of this.learned) {
      const owner = this.byAddress.get(a);
      const row = owner ? out.find((r) => r.device === owner.name) : undefined;
      if (row) row.flow += m.size;
      else out.push({ device: a, snmp: 0, flow: m.size });
    }
    return out;
  }
}

/** Same ifIndexes with the same roles: a poll that changed only names or speeds leaves the workers' copies alone. */
function sameRoles(a: Map<number, InterfaceInfo> | undefined, b: Map<number, InterfaceInfo>): boolean {
  if (!a || a.size !== b.size) return false;
  for (const [i, info] of b) if (!a.has(i) || a.get(i)?.role !== info.role) return false;
  return true;
}

function setRole(classify: Classify | undefined, device: string, i: InterfaceInfo): void {
  if (classify) classify(device, i);
  else delete i.role;
}
