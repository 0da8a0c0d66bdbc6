/**
 * Interface names and speeds per device, learned over SNMP (and from flow options data), looked up by
 * the address a flow exporter sends from. SNMP outranks flow options: it is polled, complete and
 * names the device as the inventory does.
 */
import type { InterfaceDirectory, InterfaceInfo } from '../collector.js';

interface DeviceEntry {
  name: string;
  snmp: Map<number, InterfaceInfo>;
  flow: Map<number, InterfaceInfo>;
}

export class InterfaceTable implements InterfaceDirectory {
  private readonly byAddress = new Map<string, DeviceEntry>();
  private readonly byName = new Map<string, DeviceEntry>();

  update(device: string, addresses: readonly string[], source: 'snmp' | 'flow', interfaces: Iterable<InterfaceInfo>): void {
    let entry = this.byName.get(device);
    if (!entry) {
      entry = { name: device, snmp: new Map(), flow: new Map() };
      this.byName.set(device, entry);
    }
    const map = new Map<number, InterfaceInfo>();
    for (const i of interfaces) map.set(i.ifIndex, i);
    if (source === 'snmp') entry.snmp = map;
    else entry.flow = map;
    for (const a of addresses) {
      const prev = this.byAddress.get(a);
      // a flow-learned entry never takes an address over from an SNMP-polled device
      if (prev && prev !== entry && source === 'flow' && prev.snmp.size > 0) continue;
      this.byAddress.set(a, entry);
    }
  }

  lookup(exporterAddress: string, ifIndex: number): InterfaceInfo | undefined {
    const e = this.byAddress.get(exporterAddress);
    if (!e) return undefined;
    return e.snmp.get(ifIndex) ?? e.flow.get(ifIndex);
  }

  deviceName(exporterAddress: string): string | undefined {
    const e = this.byAddress.get(exporterAddress);
    return e && e.snmp.size > 0 ? e.name : undefined;
  }

  /** Devices and interface counts, for the status page. */
  summary(): { device: string; snmp: number; flow: number }[] {
    return [...this.byName.values()].map((e) => ({ device: e.name, snmp: e.snmp.size, flow: e.flow.size }));
  }
}
