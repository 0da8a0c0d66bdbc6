/**
 * Per-exporter state that travels with a partition (loss accounting: sequence expectations and
 * counters; `flow_stats` counters; raw points' `seq` counts and the exporter's clock; the
 * collector's side is a PartitionState, e.g. collectors/flow/handoff.ts). Kept in the
 * `<stream>_state` bucket under `exporters.<partition>`:
 *
 * - `snapshot`, at `closeInterval`, in the same turn of the loop as the partition's last message
 *   is marked, so the state is exactly that of the messages up to the one to be committed;
 * - `put` before the interval's write-ahead outbox reference and its commit (processor.ts), so a
 *   successor never starts after a commit or an outbox skip whose state is missing (that would read
 *   as a gap). A crash between the put and those leaves a state ahead: the successor decodes those
 *   messages again and counts them as duplicates, not as loss;
 * - `load` by the processor that takes the partition, before its first message.
 *
 * Which exporters a partition carries is learned from the datagrams themselves (the address as the
 * receiver hashed it; the collector may write it another way, e.g. without `::ffff:`).
 */
import type { PartitionState } from '../collector.js';
import type { Logger } from '../log.js';
import type { KeyValue } from './bus.js';
import type { DatagramHandler } from './frame.js';

/** Exporter addresses remembered at most (each is a few dozen bytes). */
const MAX_EXPORTERS = 100_000;
const enc = new TextEncoder();
const dec = new TextDecoder();

export class PartitionStates {
  /** Partition of the message being read now, set by the processor before each frame. */
  current = -1;
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly kv: KeyValue,
    private readonly state: PartitionState | undefined,
    private readonly log: Logger,
  ) {}

  /** `handle`, noting each datagram's partition by its exporter's address. */
  wrap(handle: DatagramHandler): DatagramHandler {
    if (!this.state) return handle;
    return (d, address, port, receivedAt) => {
      if (this.seen.get(address) !== this.current && (this.seen.size < MAX_EXPORTERS || this.seen.has(address))) this.seen.set(address, this.current);
      handle(d, address, port, receivedAt);
    };
  }

  private partitionOf(exporter: string): number | undefined {
    return this.seen.get(exporter) ?? this.seen.get(`::ffff:${exporter}`);
  }

  /** The state of the exporters of `partitions`, encoded now (see the top of the file). */
  snapshot(partitions: ReadonlySet<number>): Map<number, Uint8Array> {
    const out = new Map<number, Uint8Array>();
    if (!this.state || partitions.size === 0) return out;
    for (const [p, doc] of this.state.save((e) => this.partitionOf(e))) if (partitions.has(p)) out.set(p, enc.encode(JSON.stringify(doc)));
    return out;
  }

  /**
   * Never throws: the commit goes ahead without it (holding it back would have the flows decoded
   * and counted again), and a successor measures from the last state saved, which may read as a gap.
   */
  async put(p: number, value: Uint8Array | undefined): Promise<void> {
    if (!value) return;
    try {
      await this.kv.put(`exporters.${p}`, value);
    } catch (err) {
      this.log.warn({ partition: p, bytes: value.byteLength, err: (err as Error).message }, 'exporter state of the partition not saved: a successor measures loss from an older one');
    }
  }

  /**
   * The partition's saved state, before its first message; without it (none saved yet, unreadable,
   * NATS too slow) the exporters' counters start again here, which is logged.
   */
  async load(p: number): Promise<void> {
    if (!this.state) return;
    try {
      const e = await this.kv.get(`exporters.${p}`);
      if (!e) return;
      // remembered as this partition's even before they send: a quiet exporter stays in the next save
      for (const exporter of this.state.load(JSON.parse(dec.decode(e.value)) as unknown)) this.seen.set(exporter, p);
    } catch (err) {
      this.log.warn({ partition: p, err: (err as Error).message }, 'exporter state of the partition not loaded: its loss counters start again here');
    }
  }

  /** Another processor has `p` now: what we know of its exporters would only go stale. */
  forget(p: number): void {
    if (!this.state) return;
    const gone = new Set<string>();
    for (const [a, q] of this.seen) if (q === p) gone.add(a);
    for (const a of gone) this.seen.delete(a);
    this.state.forget((e) => gone.has(e) || gone.has(`::ffff:${e}`));
  }
}
