/**
 * The bus side of one instance: connects to NATS and, by role, publishes what the flow sockets
 * receive (receiver) and takes a share of the partitions to decode (processor). The flow collector
 * sees only the DatagramFeed of src/collector.ts.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { DatagramFeed, DeviceShare, Emitter, InterfaceDirectory, TrapFeed } from '../collector.js';
import type { Logger } from '../log.js';
import { int, makeRecord, type NetRecord } from '../record/record.js';
import { partitionOf } from './bus.js';
import type { BusConfig, Role } from './config.js';
import { SharedCounters, type CounterTaker } from './ifcounters.js';
import { NatsBus } from './nats.js';
import { SharedInterfaces } from './ifnames.js';
import { BusPollers } from './pollers.js';
import { BusProcessor } from './processor.js';
import { BusReceiver, receiverFields } from './receiver.js';
import { BusSpool } from './spool.js';
import { BusTraps } from './traps.js';

/**
 * The flow collector's measurements whose points come from one datagram alone, stamped with its
 * exporter's clock or the receive time the frame carries (frame.ts): raw flows, sFlow discards and
 * sFlow counter samples (collectors/sflow/README.md). Decoded again by a taker, they are the same
 * points; in the outbox or under each writer's `instance` they would be counted twice.
 */
const DECODED: ReadonlySet<string> = new Set(['flow', 'flow_discard', 'interface', 'sflow_host', 'sflow_vlan']);

export interface BusRuntimeOptions {
  bus: BusConfig;
  roles: readonly Role[];
  instance?: string | undefined;
  /** Resolves once every record emitted so far has been written or spooled (Pipeline.drain). */
  settle: () => Promise<void>;
  /** This instance's interface directory: SNMP names polled anywhere on the bus reach it. */
  interfaces: InterfaceDirectory;
  /** The instance's data_dir: a receiver's stop spool is `bus-spool` in it. */
  dataDir: string;
  /** `xcheck` on: a poller shares its interface counters, a processor hands every poller's to `take` (ifcounters.ts). */
  xcheck?: { take: CounterTaker | undefined } | undefined;
}

export class BusRuntime {
  readonly feed: DatagramFeed;
  /** For collectors: the directory that also shares SNMP names over the bus. */
  readonly interfaces: InterfaceDirectory;
  /** Poller role: the devices this instance holds a lease of. */
  readonly devices: DeviceShare | undefined;
  /** For the trap collector: receivers forward, processors consume (traps.ts). */
  readonly traps: TrapFeed;

  private constructor(
    private readonly bus: NatsBus,
    private readonly receiver: BusReceiver | undefined,
    private readonly processor: BusProcessor | undefined,
    /** Where the processor's outbox sends records: the flow collector's pipeline emitter, once known. */
    private readonly out: { emit: (r: NetRecord) => void },
    private readonly pollers: BusPollers | undefined,
    private readonly ifnames: SharedInterfaces,
    private readonly counters: SharedCounters | undefined,
    private readonly trapQueue: BusTraps,
  ) {
    this.traps = trapQueue.feed;
    this.interfaces = ifnames.publishing();
    this.devices = pollers;
    const r = receiver;
    const p = processor;
    this.feed = {
      ...(r ? { forward: (d: Uint8Array, a: string, port: number, t: number) => r.forward(d, a, port, t) } : {}),
      ...(p ? { consume: (handle, restore, discard, exporters) => p.start(handle, restore, discard, exporters) } : {}),
      closeInterval: () => p?.closeInterval() ?? (() => {}),
      share: (doc) => p?.share(doc),
    } satisfies DatagramFeed;
  }

  static async open(o: BusRuntimeOptions, log: Logger): Promise<BusRuntime> {
    const n = o.bus.nats;
    const id = o.instance ?? hostname();
    const bus = await NatsBus.open(n, `netvigil ${id}`, log);
    const spool = o.roles.includes('receiver') && n.spool_size > 0 ? new BusSpool(join(o.dataDir, 'bus-spool'), n.spool_size, log) : undefined;
    const receiver = o.roles.includes('receiver')
      ? new BusReceiver(bus, { batchBytes: n.batch_bytes, batchDelayMs: n.batch_delay, bufferBytes: n.buffer, spool, duplicateWindowMs: bus.duplicateWindowMs }, log)
      : undefined;
    const out = { emit: (_r: NetRecord): void => {} };
    const processor = o.roles.includes('processor')
      ? new BusProcessor(bus, { id, stream: n.stream, leaseTtlMs: n.lease_ttl, settle: o.settle, instance: id, maxAgeMs: n.max_age, emit: (r) => out.emit(r) }, log)
      : undefined;
    const pollers = o.roles.includes('poller') ? new BusPollers(bus, { id, stream: n.stream, leaseTtlMs: n.lease_ttl }, log) : undefined;
    await pollers?.open();
    const ifnames = await SharedInterfaces.open(bus, n.stream, o.interfaces, log);
    const take = processor ? o.xcheck?.take : undefined;
    const counters = o.xcheck && (pollers || take) ? await SharedCounters.open(bus, n.stream, { share: pollers !== undefined, take }, log) : undefined;
    take?.restrict((e) => processor?.partitions().includes(partitionOf(e, bus.partitions)) ?? false);
    log.info({ servers: n.servers, stream: n.stream, partitions: n.partitions, lease_ttl_ms: n.lease_ttl, roles: o.roles }, 'bus connected');
    const traps = BusTraps.create(bus, n, { receiver: o.roles.includes('receiver'), processor: o.roles.includes('processor'), dataDir: o.dataDir, settle: o.settle }, log.child({ queue: 'trap' }));
    return new BusRuntime(bus, receiver, processor, out, pollers, ifnames, counters, traps);
  }

  /**
   * The flow, trap and SNMP collectors' emitter. Flows: a processor holds an interval's records in
   * its outbox first (outbox.ts). Records decoded from one datagram (DECODED) go straight out and
   * carry no `instance` (an empty tag is not written): a taker that decodes their messages again
   * writes the same points (collectors/flow/rawseq.ts). SNMP: with xcheck, each poll's counters are
   * shared (ifcounters.ts).
   */
  emitter(collector: string, inner: Emitter): Emitter {
    if (collector === 'snmp' && this.counters) return this.counters.tap(inner);
    // a trap written again after a redelivery (traps.ts) is the same point
    if (collector === 'snmptrap') {
      const emit = (r: NetRecord): void => {
        if (r.kind === 'trap') r.tags.instance = '';
        inner.emit(r);
      };
      return { emit, error: (e, c) => inner.error(e, c) };
    }
    const p = this.processor;
    if (!p || collector !== 'flow') return inner;
    this.out.emit = (r) => inner.emit(r);
    const emit = (r: NetRecord): void => {
      if (DECODED.has(r.measurement)) r.tags.instance = '';
      else if (p.outbox.capture(r)) return;
      inner.emit(r);
    };
    return { emit, error: (e, c) => inner.error(e, c) };
  }

  /** Before the collectors stop: no more datagrams are taken from the bus. */
  async stopIntake(): Promise<void> {
    await this.processor?.stopConsuming();
    await this.trapQueue.stopIntake();
    await this.pollers?.stop();
  }

  /** After the collectors stopped: the last batches published, the last interval committed, leases let go. */
  async close(deadlineMs: number): Promise<void> {
    await Promise.all([this.receiver?.close(deadlineMs), this.trapQueue.close(deadlineMs)]);
    await this.processor?.close();
    await this.pollers?.close();
    this.ifnames.stop();
    this.counters?.stop();
    await this.bus.close();
  }

  /**
   * `netvigil_bus` self-telemetry, tagged by role: cumulative counters, and the partitions held now
   * (a string field, so a dashboard shows what moved when).
   */
  records(now: number): NetRecord[] {
    const out: NetRecord[] = [];
    const r = this.receiver?.stats;
    if (r) out.push(makeRecord('health', 'netvigil_bus', { role: 'receiver' }, receiverFields(r), now));
    const p = this.processor;
    if (p) {
      const s = p.stats;
      const held = p.partitions();
      out.push(
        makeRecord('health', 'netvigil_bus', { role: 'processor' }, {
          frames: int(s.frames), datagrams: int(s.datagrams), bad_frames: int(s.badFrames), commits: int(s.commits),
          taken: int(s.taken), released: int(s.released), lost: int(s.lost), members: int(s.members),
          fenced: int(s.fenced), discarded_frames: int(s.discardedFrames), discarded_flows: int(s.discardedFlows),
          outbox_written: int(p.outbox.stats.written), outbox_replayed: int(p.outbox.stats.replayed), outbox_replayed_records: int(p.outbox.stats.replayedRecords),
          partitions: int(held.length), held: held.join(','),
        }, now),
      );
    }
    const q = this.pollers;
    if (q) {
      const s = q.stats;
      const held = q.devices();
      out.push(
        makeRecord('health', 'netvigil_bus', { role: 'poller' }, {
          taken: int(s.taken), released: int(s.released), lost: int(s.lost), members: int(s.members), resumed: int(s.resumed),
          rate_states_saved: int(s.saved), rate_state_errors: int(s.saveErrors), rate_states_oversize: int(s.oversize), records_replayed: int(s.replayed),
          devices: int(held.length), held: held.join(','),
        }, now),
      );
    }
    out.push(...this.trapQueue.records(now));
    const f = this.ifnames.stats;
    out.push(makeRecord('health', 'netvigil_bus', { role: 'interfaces' }, { published: int(f.published), received: int(f.received), bad: int(f.bad) }, now));
    if (this.counters) out.push(...this.counters.records(now));
    return out;
  }

  status(): unknown {
    return {
      ...(this.receiver ? { receiver: { ...this.receiver.stats } } : {}),
      ...(this.processor ? { processor: { ...this.processor.stats, outbox: { ...this.processor.outbox.stats }, partitions: this.processor.partitions() } } : {}),
      ...(this.pollers ? { poller: { ...this.pollers.stats, devices: this.pollers.devices() } } : {}),
      interfaces: { ...this.ifnames.stats },
      ...(this.counters ? { counters: { ...this.counters.stats } } : {}),
      traps: this.trapQueue.status(),
    };
  }
}
