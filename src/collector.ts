/**
 * The contract between the framework and a collector. A collector imports this file, `record/`,
 * `wire/`, `errors.ts` and `log.ts` from src/ and nothing else: no pipeline, no sink, no other
 * collector. It receives everything it may touch in a CollectorContext.
 */
import type { RoleRule } from './enrich/roles.js';
import type { z } from 'zod';
import type { Logger } from './log.js';
import type { NetRecord } from './record/record.js';

/** The narrow door out of a collector (Telegraf's Accumulator). Calls after stop are ignored. */
export interface Emitter {
  emit(record: NetRecord): void;
  /** Report a problem that did not stop the collector; counted per collector, logged rate-limited. */
  error(err: unknown, context?: { exporter?: string; device?: string }): void;
}

export interface InterfaceInfo {
  ifIndex: number;
  name?: string;
  alias?: string;
  descr?: string;
  /** Bits per second. */
  speed?: number;
  /** Role from the interface classification rules (`enrich.interface_roles`), set by the directory. */
  role?: string;
}

/**
 * Interface names and speeds per device, shared between collectors: SNMP polling (and flow options
 * data, IE 82/83) write it, the pipeline's enrichment stage reads it for flow records.
 */
export interface InterfaceDirectory {
  /**
   * Replace what `source` knows about a device's interfaces. `addresses` are every address the device
   * may export flows from (its polled address plus inventory aliases); `explicit` are those the
   * inventory lists as flow addresses, which win when devices share an address. SNMP outranks other sources.
   */
  update(device: string, addresses: readonly string[], source: 'snmp' | 'flow', interfaces: Iterable<InterfaceInfo>, explicit?: readonly string[]): void;
  lookup(exporterAddress: string, ifIndex: number): InterfaceInfo | undefined;
  /** Device name known for an exporter address, if the inventory maps it. */
  deviceName(exporterAddress: string): string | undefined;
  /** Bumped when the role rules or an SNMP-resolved interface's role may have changed (see `roles`). */
  readonly version?: number;
  /**
   * For flow worker threads (collectors/flow/worker-tables.ts): the role rules, and per exporter
   * address the ifIndexes of the SNMP device it resolves to, with their roles ('' for none).
   */
  roles?(): { rules: readonly RoleRule[]; snmp: [string, [number, string][]][] };
}

/** What the networks file says about the network an address is in (src/enrich/networks.ts). */
export interface NetworkInfo {
  name?: string;
  site?: string;
  role?: string;
  tenant?: string;
}

/** Longest-prefix lookup in the networks file; the table behind it changes on SIGHUP. */
export interface NetworkDirectory {
  /** By an address as flows carry it: IPv4 as uint32, IPv6 as its key (src/wire/ip6key.ts), or text. */
  find(addr: number | string): NetworkInfo | undefined;
  /** False when no networks file is loaded (or it is empty): callers skip the lookup. */
  readonly active: boolean;
  /** The loaded networks as given (a new object when the table changes), for flow worker threads. */
  source?(): Readonly<Record<string, Partial<NetworkInfo>>> | undefined;
}

/** What collectors tell the VM resource monitor about the data path and time keeping. */
export interface HostSignals {
  /** A UDP socket this collector owns, so kernel drops on it (`/proc/net/udp`) are attributed. */
  udpSocket(collector: string, family: 'udp4' | 'udp6', port: number): void;
  udpSocketClosed(family: 'udp4' | 'udp6', port: number): void;
  /** Exporter export time minus our receive time, in milliseconds. */
  exporterClockOffset(exporter: string, offsetMs: number): void;
  /** An exporter's data path crossed `exporter_path` thresholds (names) in a stats interval. */
  exporterPath?(exporter: string, crossed: readonly string[]): void;
  /** Outcome of one SNMP request, for the timeout-rate signal. */
  snmpRequest(outcome: 'ok' | 'timeout' | 'error'): void;
}

/**
 * Scale-out (src/bus/): datagrams travel over a message bus from the instance that receives them to
 * the one that decodes them. Absent without a bus: the collector decodes what its sockets receive.
 */
export interface DatagramFeed {
  /** Receiver role: a datagram off a socket goes here instead of to the decoder. */
  forward?(datagram: Uint8Array, address: string, port: number, receivedAt: number): void;
  /**
   * Processor role: starts handing bus datagrams to `handle`, with the address, port and receive
   * time they arrived with; `restore` gets shared decoding state (see `share`) before a newly taken
   * partition's first datagram; `discard` drops the open interval's sums (a fenced processor,
   * src/bus/fence.ts) and returns the flows they held.
   */
  consume?(handle: (datagram: Uint8Array, address: string, port: number, receivedAt: number) => void, restore: (doc: unknown) => void, discard?: () => number, exporters?: PartitionState): Promise<void>;
  /** At an interval flush: the result is called once the interval's records were all emitted. */
  closeInterval(): () => void;
  /** Decoding state (templates, options) for whichever processor takes these exporters over. */
  share(doc: unknown): void;
}

/**
 * Scale-out (src/bus/traps.ts): trap and inform datagrams over the bus, a work queue beside the flow
 * partitions. Absent without a bus: the trap collector decodes and writes what its socket takes.
 */
export interface TrapFeed {
  /** Receiver role: the datagram of a notification the receiver accepted (and answered) goes here instead of to a record. */
  forward?(datagram: Uint8Array, address: string, port: number, receivedAt: number): void;
  /**
   * Processor role: starts handing the bus's trap datagrams to `handle`, with the sender's address
   * and port and the receiver's receive time; each is acknowledged once what `handle` emitted for
   * it is written or spooled (unacknowledged, it goes to a processor again). Call the result when
   * the collector stops: until `consume` is called again, datagrams go back to the bus.
   */
  consume?(handle: (datagram: Uint8Array, address: string, port: number, receivedAt: number) => void): Promise<() => void>;
}

/**
 * Per-exporter state that moves with a bus partition (loss accounting, counters): saved at each commit, loaded
 * by the processor that takes the partition next (src/bus/exporter-state.ts).
 */
export interface PartitionState {
  /** The state of every exporter `partitionOf` places (exporters it does not place are left out), by partition. */
  save(partitionOf: (exporter: string) => number | undefined): Map<number, unknown>;
  /** Replaces what this processor knows of the saved exporters with what `save` gave; returns those exporters. */
  load(saved: unknown): string[];
  /** Forgets the exporters of a partition another processor has now. */
  forget(which: (exporter: string) => boolean): void;
}

/**
 * Scale-out (src/bus/pollers.ts): pollers on a bus share the inventory's devices by leases instead of
 * `shard`. Absent without a bus.
 */
/** What a device's previous poller left: its last counter sample and the records of that poll. */
export interface DeviceHandoff {
  state: unknown;
  /** Written again by the next poller (identical points, so a database replaces them): the poll may have died before they were. */
  records: NetRecord[];
}

export interface DeviceShare {
  /**
   * The whole inventory's device names (again after a reload). `take` starts polling a device,
   * going on from what its previous poller left (or undefined), and says false when the device is
   * not in the inventory; `drop` resolves once no poll of the device runs any more.
   */
  share(names: readonly string[], take: (device: string, last: DeviceHandoff | undefined) => boolean, drop: (device: string) => Promise<void>): void;
  /**
   * Before a poll's interface records are emitted: them and the rate state after the poll, for
   * whoever polls the device next (write-ahead, so a poller killed between the two cannot leave a
   * sample older than its last points). Resolves once stored, or given up on (counted, logged).
   */
  writeAhead(device: string, state: unknown, records: readonly NetRecord[]): Promise<void>;
}

export interface CollectorContext {
  emitter: Emitter;
  log: Logger;
  /** A directory private to this collector (templates, state); created before `create`. */
  dataDir: string;
  /** Directory of the main config file, for resolving relative paths the collector's config names. */
  configDir: string;
  interfaces: InterfaceDirectory;
  /** The networks file (`enrich.networks_file`), for aggregation by src_net, dst_site, ...; absent in contexts built without one. */
  networks?: NetworkDirectory;
  signals: HostSignals;
  /** This instance's share of polled work (`--shard I/N`): index < count; 0/1 when not sharded. */
  shard: { index: number; count: number };
  /**
   * The collector's timeline (src/clock.ts): epoch ms that follow the monotonic clock, so a step
   * of the wall clock moves neither record times nor interval labels. Date.now() when absent.
   */
  clock?: { now(): number };
  /** Set when a bus carries the datagrams (scale-out); the flow collector uses it. */
  datagrams?: DatagramFeed;
  /** Set when a bus carries the trap datagrams (scale-out); the trap collector uses it. */
  traps?: TrapFeed;
  /** Set when pollers share the devices over a bus (scale-out); the SNMP collector uses it. */
  devices?: DeviceShare;
}

export interface Collector {
  start(): Promise<void>;
  /** Stop receiving, emit what is pending (e.g. partial aggregates), release sockets and timers. */
  stop(): Promise<void>;
  /** Apply a new, already validated config (SIGHUP). Optional: without it the collector is restarted. */
  reload?(config: unknown): Promise<void>;
  /** A small JSON-able snapshot for `/status` (exporters seen, last poll per device, ...). */
  status?(): unknown;
}

export interface CollectorDefinition<S extends z.ZodObject = z.ZodObject> {
  /** Key under `collectors:` in the config file and the `collector` tag on its self-telemetry. */
  name: string;
  description: string;
  /**
   * Schema of this collector's config block: a strict z.object (unknown keys are errors). The framework
   * adds `enabled` (default true); a block that is absent leaves the collector off.
   */
  configSchema: S;
  create(config: z.output<S>, ctx: CollectorContext): Collector;
  /**
   * Validate the files this block references (e.g. the device inventory) for `netvigil validate`;
   * throw a ConfigError naming file, line and key. Optional.
   */
  check?(config: z.output<S>, configDir: string): void;
}

/** Typed helper so each collector's index.ts gets inference without importing anything else. */
export function defineCollector<S extends z.ZodObject>(def: CollectorDefinition<S>): CollectorDefinition<S> {
  return def;
}

/** Zod helpers for durations ("10s" -> ms) and sizes ("64MiB" -> bytes), for collector schemas. */
export { duration, size, parseDuration, parseSize } from './config/units.js';
