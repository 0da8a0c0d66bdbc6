/**
 * Interface names on a bus: what a poller learns over SNMP for the interface directory (names,
 * aliases, descriptions, speeds, and the addresses the device exports flows from) goes into the
 * KV bucket `<stream>_ifnames`, one key per device; every instance on the bus watches the bucket
 * and puts what it sees into its own directory, so a processor enriches flows with the names of
 * devices a poller on another machine polls. Roles are set by each instance's own
 * `enrich.interface_roles`, so they are not shared.
 */
import type { InterfaceDirectory, InterfaceInfo } from '../collector.js';
import type { Logger } from '../log.js';
import type { Bus, KeyValue, KvMirror } from './bus.js';
import { deviceKey } from './pollers.js';

interface Doc {
  device: string;
  addresses: readonly string[];
  explicit: readonly string[];
  interfaces: InterfaceInfo[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class SharedInterfaces {
  /** What we last put per device key, so an unchanged poll writes nothing. */
  private readonly put = new Map<string, string>();
  /** Device names by key, for a delete (which carries no value). */
  private readonly names = new Map<string, string>();
  readonly stats = { published: 0, received: 0, bad: 0 };

  private constructor(
    private readonly kv: KeyValue,
    private readonly local: InterfaceDirectory,
    private readonly log: Logger,
  ) {}

  private view: KvMirror | undefined;

  static async open(bus: Bus, stream: string, local: InterfaceDirectory, log: Logger): Promise<SharedInterfaces> {
    const s = new SharedInterfaces(await bus.kv(`${stream}_ifnames`, 0), local, log);
    s.view = await s.kv.mirror((k, v) => s.seen(k, v));
    return s;
  }

  private seen(key: string, value: Uint8Array | undefined): void {
    if (!value) {
      const name = this.names.get(key);
      this.names.delete(key);
      if (name !== undefined) this.local.update(name, [], 'snmp', []);
      return;
    }
    try {
      const d = JSON.parse(dec.decode(value)) as Doc;
      if (typeof d.device !== 'string' || !Array.isArray(d.addresses) || !Array.isArray(d.explicit) || !Array.isArray(d.interfaces)) throw new Error('not an interface document');
      if (!d.interfaces.every((i) => Number.isInteger(i.ifIndex))) throw new Error('an interface without ifIndex');
      this.names.set(key, d.device);
      this.local.update(d.device, d.addresses, 'snmp', d.interfaces, d.explicit);
      this.stats.received++;
    } catch (e) {
      this.stats.bad++;
      this.log.warn({ key, err: (e as Error).message }, 'shared interface names unreadable: skipped');
    }
  }

  /** The directory a poller writes to: the local one, and SNMP's updates also to the bucket. */
  publishing(): InterfaceDirectory {
    const local = this.local;
    return {
      update: (device, addresses, source, interfaces, explicit = []) => {
        const list = [...interfaces];
        local.update(device, addresses, source, list, explicit);
        if (source === 'snmp') this.publish(device, addresses, list, explicit);
      },
      lookup: (a, i) => local.lookup(a, i),
      deviceName: (a) => local.deviceName(a),
    };
  }

  private publish(device: string, addresses: readonly string[], list: InterfaceInfo[], explicit: readonly string[]): void {
    const key = deviceKey(device);
    const gone = addresses.length === 0 && list.length === 0;
    const text = gone ? '' : JSON.stringify({ device, addresses, explicit, interfaces: list.map(({ role: _role, ...i }) => i) } satisfies Doc);
    if (this.put.get(key) === text) return;
    this.put.set(key, text);
    const done = gone ? this.kv.delete(key) : this.kv.put(key, enc.encode(text)).then(() => {});
    done.then(
      () => void this.stats.published++,
      (e: unknown) => {
        this.put.delete(key); // tried again at the next poll
        this.log.warn({ device, err: (e as Error).message }, 'could not share interface names');
      },
    );
  }

  stop(): void {
    this.view?.stop();
  }
}
