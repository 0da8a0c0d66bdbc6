/**
 * The enrichment tables a flow worker thread needs for the networks/roles dimensions (derived.ts),
 * which live in the main thread: the networks file and the interface directory (SNMP polls,
 * inventory claims, options data of every exporter, role rules). A worker gets copies:
 *
 * - the networks as loaded (`NetworkDirectory.source`), from which it builds the same prefix table;
 *   sent again when the main thread's table is replaced (SIGHUP);
 * - per exporter address it owns (shard.ts), the ifIndexes with a role, as `lookup` resolves them;
 *   sent again when a role may have changed (`InterfaceDirectory.version`: a poll that changed a
 *   role or which ifIndexes a device has, options data, new rules).
 *
 * Copies, not a directory of its own in each worker: resolving an address to a device (explicit
 * and polled claims, ambiguity) needs every device's poll, which only the main thread has; roles
 * change at the pace of polls and reloads, not of datagrams, and a worker needs only its own
 * exporters' interfaces that have a role. A copy is posted on the worker's port before the next
 * batch of datagrams (workers.ts), so every datagram posted after a change is aggregated with it.
 * A role learned from options data reaches the worker after the main thread got it back: flows of
 * the batches already posted then have no role yet (in the main thread, from the next flow).
 */
import type { InterfaceDirectory, InterfaceInfo, NetworkDirectory, NetworkInfo } from '../../src/collector.js';
import { NetworkHolder, Networks } from '../../src/enrich/networks.js';
import { isDerived } from './derived.js';
import { shardOf } from './shard.js';

type Source = Readonly<Record<string, Partial<NetworkInfo>>>;
export type RoleList = [string, [number, string][]][];

/** What a worker is sent; `networks: null` drops its table (no networks file any more). */
export interface TablesMessage {
  t: 'tables';
  networks?: Source | null;
  roles?: RoleList;
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
  private cache: { version: number; list: RoleList } | undefined;

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
        if (this.cache?.version !== version) this.cache = { version, list: dir.roles() };
        (m ??= { t: 'tables' }).roles = this.cache.list.filter(([a]) => shardOf(a, count) === index);
        sent.version = version;
      }
    }
    return m;
  }
}

/** Worker thread: the directories derived.ts reads, filled from the main thread's messages. */
export class WorkerTables {
  readonly networks = new NetworkHolder();
  private byAddress = new Map<string, Map<number, InterfaceInfo>>();
  readonly interfaces: InterfaceDirectory = {
    update: () => undefined, // options data goes to the main thread's directory (workers.ts)
    lookup: (exporter, ifIndex) => this.byAddress.get(exporter)?.get(ifIndex),
    deviceName: () => undefined,
  };

  apply(m: TablesMessage): void {
    if (m.networks !== undefined) this.networks.current = m.networks === null ? undefined : new Networks(m.networks);
    if (m.roles) this.byAddress = new Map(m.roles.map(([a, list]) => [a, new Map(list.map(([ifIndex, role]) => [ifIndex, { ifIndex, role }]))]));
  }
}
