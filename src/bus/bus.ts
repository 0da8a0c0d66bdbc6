/**
 * The message bus between receivers and processors (scale-out, README "Scale-out"). Small on
 * purpose: what NATS JetStream gives us here a Kafka transport can give too (a topic with one
 * partition per subject, consumer-group offsets for `commit`, a compacted topic for the KV).
 */

/** One message of a partition, as a consumer sees it. */
export interface BusMessage {
  readonly partition: number;
  /** Position in the partition's log: strictly increasing per partition (JetStream stream sequence). */
  readonly seq: number;
  readonly data: Uint8Array;
  /** The transport's own reference to the message, for `commit`. */
  readonly handle: unknown;
}

export interface PartitionConsumer {
  /**
   * Marks `m` and every earlier message of the partition done (a Kafka offset commit; on NATS a KV
   * key). A consumer that takes the partition later starts after the last commit.
   */
  commit(m: BusMessage): Promise<void>;
  /** Stops delivery; `commit` still works. Messages not committed go to the next consumer. */
  stop(): Promise<void>;
}

export interface KvEntry {
  value: Uint8Array;
  revision: number;
}

/** A key-value bucket; keys are dot-separated tokens. */
export interface KeyValue {
  get(key: string): Promise<KvEntry | undefined>;
  put(key: string, value: Uint8Array): Promise<number>;
  /** Creates the key only when it does not exist; undefined when it does (someone else holds it). */
  create(key: string, value: Uint8Array): Promise<number | undefined>;
  /** Replaces the key only at `revision`; undefined when it moved on (a lease lost). */
  update(key: string, value: Uint8Array, revision: number): Promise<number | undefined>;
  delete(key: string): Promise<void>;
  /** Deletes the key only at `revision`; false when it moved on. */
  deleteAt(key: string, revision: number): Promise<boolean>;
  /**
   * A live local copy of the bucket, kept by one watcher (listing keys on demand costs a consumer
   * creation per call, slow and fragile while a cluster re-elects leaders). `onChange` sees every
   * write (value) and delete (undefined) as the copy takes it, the bucket's contents first.
   */
  mirror(onChange?: (key: string, value: Uint8Array | undefined) => void): Promise<KvMirror>;
}

export interface KvMirror {
  /** Entries under `prefix.`, each with the local time its last write was seen. */
  entries(prefix: string): Map<string, { value: Uint8Array; revision: number; seenAt: number }>;
  stop(): void;
}

export interface Bus {
  readonly partitions: number;
  /**
   * How long after storing a message the bus still recognises its `id` (JetStream's duplicate
   * window); a message published again with the same id within it is stored once.
   */
  readonly duplicateWindowMs?: number;
  /**
   * Appends one message (a batch of datagrams) to a partition; `id` makes a retried publish land
   * once. `duplicate`: the bus already held a message with this id and stored nothing.
   */
  publish(partition: number, data: Uint8Array, id: string): Promise<{ duplicate: boolean }>;
  /**
   * Delivers the partition's messages after the last commit, in order, to `handler` (synchronously,
   * one at a time). One consumer per partition at a time: the caller holds a lease for it.
   */
  consume(partition: number, handler: (m: BusMessage) => void): Promise<PartitionConsumer>;
  /** A bucket whose entries expire `ttlMs` after their last write (0: never). */
  kv(name: string, ttlMs: number): Promise<KeyValue>;
  /** A work queue beside the partitions, for what needs no per-exporter order (traps: src/bus/traps.ts). */
  queue(name: string): WorkQueue;
  close(): Promise<void>;
}

/** One message of a work queue, as its consumer sees it. */
export interface QueueMessage {
  readonly data: Uint8Array;
  /** Delivered before, to a consumer that did not acknowledge it in time. */
  readonly redelivered: boolean;
  /** Done: never delivered again. */
  ack(): void;
  /** Still being worked on: restarts the acknowledgement timer. */
  working(): void;
  /** Not taken: delivered again (to any consumer) at once. */
  nak(): void;
}

/**
 * Messages many consumers share, each handed to one of them (a Kafka consumer group on one topic; on
 * NATS a durable pull consumer with explicit acks). A message not acknowledged within `ackWaitMs`
 * of its delivery (or of its last `working`) goes to a consumer again.
 */
export interface WorkQueue {
  /** Like `Bus.publish`: `id` makes a retried publish land once. */
  publish(data: Uint8Array, id: string): Promise<{ duplicate: boolean }>;
  consume(ackWaitMs: number, handler: (m: QueueMessage) => void): Promise<{ stop(): Promise<void> }>;
}

/** FNV-1a 32 over the exporter address: stable across processes, versions and restarts. */
export function partitionOf(exporter: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < exporter.length; i++) {
    h ^= exporter.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}
