/**
 * The enrichment tables a flow worker thread needs for the networks/roles dimensions (derived.ts),
 * which live in the main thread: the networks file and the interface directory (SNMP polls,
 * inventory claims, options data of every exporter, role rules). A worker gets copies:
 *
 * - the networks as loaded (`NetworkDirectory.source`), from which it builds the same prefix table;
 *   sent again when the main thread's table is replaced (SIGHUP);
 * - the role rules, and per exporter address it owns (shard.ts) the interfaces of the SNMP device
 *   the address resolves to, with their roles; sent again when they may have changed
 *   (`InterfaceDirectory.version`: new rules, or a poll that changed a role, a device's ifIndexes
 *   or its addresses).
 *
 * Interface names an exporter sends in options data (IE 82/83) are learned in the worker that owns
 * it, so the worker classifies them itself with the same rules (device: the exporter address, as
 * the main thread's directory does) and they count from the next flow, as in the main thread; they
 * are passed on to the main thread's directory too. The SNMP part is a snapshot rather than the
 * polls themselves: resolving an address to a device (explicit and polled claims, ambiguity) needs
 * every device's poll, which only the main thread has; it changes at the pace of polls and
 * reloads, not of datagrams. A snapshot is posted on the worker's port before the next batch of
 * datagrams (workers.ts), so every datagram posted after a change is aggregated with it.
 */
import type { InterfaceDirectory, InterfaceInfo, NetworkDirectory, NetworkInfo } from '../../src/collector.js';
import { NetworkHolder, Networks } from '../../src/enrich/networks.js';
import { classifier, compileRoles, type RoleRule } from '../../src/enrich/roles.js';
import type { Classify } from '../../src/enrich/interfaces.js';
import { isDerived } from './derived.js';
import { shardOf } from './shard.js';

type Source = Readonly<Record<string, Partial<NetworkInfo>>>;
/** What a worker is sent; `networks: null` drops its table (no networks file any more). */
export interface TablesMessage {
  t: 'tables';
  networks?: Source | null;
  roles?: { rules: readonly RoleRule[]; snmp: [string, [number, string][]][] };
}

/** What one worker was last sent (main thread). */
export interface TablesSent {
  networks: Source | null | undefined;
  version: number;
}

export const nothingSent = (): TablesSent => ({ networks: undefined, version: -1 });

/** Main thread: the changes a worker has not been sent yet, for the dimensions configured. */
export class TableFeed {
  private nets = false;
  private roles = false;
  private cache: { version: number; roles: NonNullable<TablesMessage['roles']> } | undefined;

  constructor(
    private readonly dirs: { networks?: NetworkDirectory | undefined; interfaces: InterfaceDirectory },
    dimensions: readonly string[],
  ) {
    this.configure(dimensions);
  }

  configure(dimensions: readonly string[]): void {
    const derived = dimensions.filter(isDerived);
    this.nets = derived.some((d) => d.startsWith('src_') || d.startsWith('dst_'));
    this.roles = derived.some((d) => d.endsWith('_role') && (d.startsWith('in_') || d.startsWith('out_')));
  }

  /** The message for worker `index` of `count` (and marks it sent), or undefined when it is up to date. */
  changes(sent: TablesSent, index: number, count: number): TablesMessage | undefined {
    let m: TablesMessage | undefined;
    if (this.nets) {
      const src = this.dirs.networks?.source?.() ?? null;
      if (src !== sent.networks) {
        (m ??= { t: 'tables' }).networks = src;
        sent.networks = src;
      }
    }
    const dir = this.dirs.interfaces;
    if (this.roles && dir.roles) {
      const version = dir.version ?? 0;
      if (version !== sent.version) {
        if (this.cache?.version !== version) this.cache = { version, roles: dir.roles() };
        const { rules, snmp } = this.cache.roles;
        (m ??= { t: 'tables' }).roles = { rules, snmp: snmp.filter(([a]) => shardOf(a, count) === index) };
        sent.version = version;
      }
    }
    return m;
  }
}

/** Worker thread: the directories derived.ts reads, filled from the main thread's messages and its own exporters' options data. */
export class WorkerTables {
  readonly networks = new NetworkHolder();
  private snmp = new Map<string, Map<number, InterfaceInfo>>();
  private readonly learned = new Map<string, Map<number, InterfaceInfo>>();
  private classify: Classify | undefined;
  readonly interfaces: InterfaceDirectory = {
    // options data of this worker's exporters (the processor's interfaces hook): device = exporter address
    update: (_device, addresses, _source, list) => {
      const map = new Map<number, InterfaceInfo>();
      for (const i of list) map.set(i.ifIndex, this.classified(addresses[0] ?? '', i));
      for (const a of addresses) this.learned.set(a, map);
    },
    // SNMP first, as the main thread's directory (src/enrich/interfaces.ts)
    lookup: (exporter, ifIndex) => this.snmp.get(exporter)?.get(ifIndex) ?? this.learned.get(exporter)?.get(ifIndex),
    deviceName: () => undefined,
  };

  private classified(device: string, i: InterfaceInfo): InterfaceInfo {
    const own = { ...i };
    if (this.classify) this.classify(device, own);
    else delete own.role;
    return own;
  }

  apply(m: TablesMessage): void {
    if (m.networks !== undefined) this.networks.current = m.networks === null ? undefined : new Networks(m.networks);
    if (!m.roles) return;
    this.classify = classifier(compileRoles(m.roles.rules));
    this.snmp = new Map(m.roles.snmp.map(([a, list]) => [a, new Map(list.map(([ifIndex, role]): [number, InterfaceInfo] => [ifIndex, role ? { ifIndex, role } : { ifIndex }]))]));
    for (const [a, map] of this.learned) for (const [i, info] of map) map.set(i, this.classified(a, info));
  }
}
