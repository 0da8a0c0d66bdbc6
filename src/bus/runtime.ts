/**
 * The bus side of one instance: connects to NATS and, by role, publishes what the flow sockets
 * receive (receiver) and takes a share of the partitions to decode (processor). The flow collector
 * sees only the DatagramFeed of src/collector.ts.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { DatagramFeed, DeviceShare, Emitter, InterfaceDirectory } from '../collector.js';
import type { Logger } from '../log.js';
import { int, makeRecord, type NetRecord } from '../record/record.js';
import type { BusConfig, Role } from './config.js';
import { NatsBus } from './nats.js';
import { SharedInterfaces } from './ifnames.js';
import { BusPollers } from './pollers.js';
import { BusProcessor } from './processor.js';
import { BusReceiver } from './receiver.js';
import { BusSpool } from './spool.js';

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
}

export class BusRuntime {
  readonly feed: DatagramFeed;
  /** For collectors: the directory that also shares SNMP names over the bus. */
  readonly interfaces: InterfaceDirectory;
  /** Poller role: the devices this instance holds a lease of. */
  readonly devices: DeviceShare | undefined;

  private constructor(
    private readonly bus: NatsBus,
    private readonly receiver: BusReceiver | undefined,
    private readonly processor: BusProcessor | undefined,
    /** Where the processor's outbox sends records: the flow collector's pipeline emitter, once known. */
    private readonly out: { emit: (r: NetRecord) => void },
    private readonly pollers: BusPollers | undefined,
    private readonly ifnames: SharedInterfaces,
  ) {
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
    const pollers = o.roles.includes('poller') ? new BusPollers(bus, { id, stream: n.stream, leaseTtlMs: n.lease_ttl, settle: o.settle }, log) : undefined;
    await pollers?.open();
    const ifnames = await SharedInterfaces.open(bus, n.stream, o.interfaces, log);
    log.info({ servers: n.servers, stream: n.stream, partitions: n.partitions, lease_ttl_ms: n.lease_ttl, roles: o.roles }, 'bus connected');
    return new BusRuntime(bus, receiver, processor, out, pollers, ifnames);
  }

  /**
   * The flow collector's emitter: a processor holds an interval's records in its outbox first
   * (outbox.ts). Raw flow points go straight out and carry no `instance` (an empty tag is not
   * written): a taker that decodes their messages again writes the same points (collectors/flow/rawseq.ts).
   */
  emitter(collector: string, inner: Emitter): Emitter {
    const p = this.processor;
    if (!p || collector !== 'flow') return inner;
    this.out.emit = (r) => inner.emit(r);
    const emit = (r: NetRecord): void => {
      if (r.kind === 'flow' && r.measurement === 'flow') r.tags.instance = '';
      else if (p.outbox.capture(r)) return;
      inner.emit(r);
    };
    return { emit, error: (e, c) => inner.error(e, c) };
  }

  /** Before the collectors stop: no more datagrams are taken from the bus. */
  async stopIntake(): Promise<void> {
    await this.processor?.stopConsuming();
    await this.pollers?.stop();
  }

  /** After the collectors stopped: the last batches published, the last interval committed, leases let go. */
  async close(deadlineMs: number): Promise<void> {
    await this.receiver?.close(deadlineMs);
    await this.processor?.close();
    await this.pollers?.close(deadlineMs);
    this.ifnames.stop();
    await this.bus.close();
  }

  /**
   * `netvigil_bus` self-telemetry, tagged by role: cumulative counters, and the partitions held now
   * (a string field, so a dashboard shows what moved when).
   */
  records(now: number): NetRecord[] {
    const out: NetRecord[] = [];
    const r = this.receiver?.stats;
    if (r) {
      out.push(
        makeRecord('health', 'netvigil_bus', { role: 'receiver' }, {
          datagrams: int(r.datagrams), batches: int(r.batches), published: int(r.published), retries: int(r.retries),
          dropped_batches: int(r.droppedBatches), dropped_datagrams: int(r.droppedDatagrams), queued_bytes: int(r.queuedBytes),
          spooled_batches: int(r.spooledBatches), spooled_datagrams: int(r.spooledDatagrams), replayed_batches: int(r.replayedBatches),
          replayed_datagrams: int(r.replayedDatagrams), replayed_duplicates: int(r.replayedDuplicates), spool_pending: int(r.spoolPending),
          spool_bytes: int(r.spoolBytes), past_dup_window: int(r.pastDupWindow),
        }, now),
      );
    }
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
          rate_states_saved: int(s.saved), rate_state_errors: int(s.saveErrors), devices: int(held.length), held: held.join(','),
        }, now),
      );
    }
    const f = this.ifnames.stats;
    out.push(makeRecord('health', 'netvigil_bus', { role: 'interfaces' }, { published: int(f.published), received: int(f.received), bad: int(f.bad) }, now));
    return out;
  }

  status(): unknown {
    return {
      ...(this.receiver ? { receiver: { ...this.receiver.stats } } : {}),
      ...(this.processor ? { processor: { ...this.processor.stats, outbox: { ...this.processor.outbox.stats }, partitions: this.processor.partitions() } } : {}),
      ...(this.pollers ? { poller: { ...this.pollers.stats, devices: this.pollers.devices() } } : {}),
      interfaces: { ...this.ifnames.stats },
    };
  }
}
