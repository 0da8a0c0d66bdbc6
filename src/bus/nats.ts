/**
 * The Bus on NATS JetStream: one stream `<stream>` with subjects `<stream>.flow.<partition>` (and
 * `<stream>.trap`, a work queue: nats-queue.ts), read per partition by stream sequence
 * (`ordered.ts`), commit offsets in the KV bucket
 * `<stream>_offsets` (like Kafka's committed offsets), and KV buckets for leases and shared
 * decoding state.
 */
import { readFileSync } from 'node:fs';
import {
  AckPolicy,
  RetentionPolicy,
  StorageType,
  connect,
  credsAuthenticator,
  nanos,
  nkeyAuthenticator,
  type ConnectionOptions,
  type JetStreamClient,
  type JetStreamManager,
  type KV,
  type NatsConnection,
} from 'nats';
import type { Logger } from '../log.js';
import type { Bus, BusMessage, KeyValue, PartitionConsumer, WorkQueue } from './bus.js';
import type { NatsConfig } from './config.js';
import { NatsQueue, QUEUES } from './nats-queue.js';
import { OrderedReader, isNotFound } from './ordered.js';

/** Reads a secret file named in the config (trailing newline trimmed). */
const secret = (file: string): string => readFileSync(file, 'utf8').replace(/\r?\n$/, '');

export function connectionOptions(cfg: NatsConfig, name: string): ConnectionOptions {
  const o: ConnectionOptions = { servers: cfg.servers, name, maxReconnectAttempts: -1, reconnectTimeWait: 500 };
  if (cfg.token_file) o.token = secret(cfg.token_file);
  if (cfg.user) o.user = cfg.user;
  if (cfg.password_file) o.pass = secret(cfg.password_file);
  if (cfg.creds_file) o.authenticator = credsAuthenticator(new TextEncoder().encode(readFileSync(cfg.creds_file, 'utf8')));
  if (cfg.nkey_seed_file) o.authenticator = nkeyAuthenticator(new TextEncoder().encode(secret(cfg.nkey_seed_file)));
  if (cfg.tls) {
    o.tls = {};
    if (cfg.tls.ca) o.tls.caFile = cfg.tls.ca;
    if (cfg.tls.cert) o.tls.certFile = cfg.tls.cert;
    if (cfg.tls.key) o.tls.keyFile = cfg.tls.key;
  }
  return o;
}

export class NatsBus implements Bus {
  readonly partitions: number;
  /** From the stream's config as the server holds it, not from what we asked for. */
  readonly duplicateWindowMs: number;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly cfg: NatsConfig,
    private readonly log: Logger,
    duplicateWindowNs: number,
  ) {
    this.partitions = cfg.partitions;
    this.duplicateWindowMs = duplicateWindowNs / 1e6;
  }

  /** Connects and makes sure the stream exists with the configured subjects and replicas. */
  static async open(cfg: NatsConfig, name: string, log: Logger): Promise<NatsBus> {
    const nc = await connect(connectionOptions(cfg, name));
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'disconnect' || s.type === 'reconnect') log.warn({ nats: s.type, server: s.data }, 'NATS connection');
    })();
    const jsm = await nc.jetstreamManager();
    // allow_direct: processors read by sequence from any replica (`ordered.ts`)
    const want = { subjects: [`${cfg.stream}.flow.>`, ...QUEUES.map((q) => `${cfg.stream}.${q}`)], num_replicas: cfg.replicas, max_age: nanos(cfg.max_age), duplicate_window: nanos(120_000), allow_direct: true };
    let info;
    try {
      await jsm.streams.info(cfg.stream);
      info = await jsm.streams.update(cfg.stream, want);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      info = await jsm.streams.add({ name: cfg.stream, retention: RetentionPolicy.Limits, storage: StorageType.File, ...want });
    }
    return new NatsBus(nc, nc.jetstream(), jsm, cfg, log, info.config.duplicate_window ?? want.duplicate_window);
  }

  async publish(partition: number, data: Uint8Array, id: string): Promise<{ duplicate: boolean }> {
    const ack = await this.js.publish(`${this.cfg.stream}.flow.${partition}`, data, { msgID: id });
    return { duplicate: ack.duplicate };
  }

  queue(name: string): WorkQueue {
    const q = QUEUES.find((n) => n === name);
    if (!q) throw new Error(`no bus queue ${name}: the stream carries ${QUEUES.join(', ')}`);
    return new NatsQueue(this.js, this.jsm, this.cfg.stream, q, this.log);
  }

  private offsetsKv: Promise<KV> | undefined;

  /**
   * Commit offsets, one key per partition: the last stream sequence whose effects were written.
   * A KV key rather than a consumer's ack floor: processors read by sequence (`ordered.ts`), with
   * no consumer to hold one.
   */
  private offsets(): Promise<KV> {
    this.offsetsKv ??= this.js.views.kv(`${this.cfg.stream}_offsets`, { history: 1, replicas: this.cfg.replicas }).catch((e: unknown) => {
      this.offsetsKv = undefined; // asked again on the next take, not failed for good
      throw e;
    });
    return this.offsetsKv;
  }

  /**
   * The partition's messages after its last commit, in stream order. A partition with no offset
   * in KV yet but consumed by an older netvigil (a durable with AckAll) continues at that
   * consumer's ack floor, and the durable, no longer used, is deleted.
   */
  async consume(partition: number, handler: (m: BusMessage) => void): Promise<PartitionConsumer> {
    const stream = this.cfg.stream;
    const durable = `${stream}_flow_${partition}`;
    const offsets = await this.offsets();
    const key = `flow.${partition}`;
    const kept = await offsets.get(key);
    let floor = kept?.operation === 'PUT' ? Number(new TextDecoder().decode(kept.value)) : 0;
    // reading from the start instead would count the partition's history twice
    if (!Number.isSafeInteger(floor) || floor < 0) throw new Error(`${stream}_offsets ${key}: not a stream sequence`);
    if (!kept) {
      const old = await this.jsm.consumers.info(stream, durable).catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
      if (old?.config.ack_policy === AckPolicy.All) floor = old.ack_floor.stream_seq;
      if (old) void this.jsm.consumers.delete(stream, durable).catch(() => {});
    }
    const delivery = new OrderedReader(this.jsm, { stream, subject: `${stream}.flow.${partition}`, start: floor + 1, log: this.log }, (m) =>
      handler({ partition, seq: m.seq, data: m.data, handle: m }),
    );
    await delivery.start();
    return {
      commit: async (m) => {
        await offsets.put(key, new TextEncoder().encode(String(m.seq)));
      },
      stop: () => delivery.stop(),
    };
  }

  /**
   * A KV bucket whose entries expire after `ttlMs` (0: never). nats.js binds to a bucket that exists
   * as it is, so one made by another version with another expiry (the processors' leases once
   * expired after `lease_ttl`, and a dead processor's lease took its outbox reference with it) is
   * set to this expiry here: the bucket is the stream `KV_<name>`, and max_age is its expiry.
   */
  async kv(name: string, ttlMs: number): Promise<KeyValue> {
    const kv = await this.js.views.kv(name, { history: 1, replicas: this.cfg.replicas, ...(ttlMs ? { ttl: ttlMs } : {}) });
    const had = (await kv.status()).ttl;
    if (had !== ttlMs) {
      await this.jsm.streams.update(`KV_${name}`, { max_age: nanos(ttlMs) });
      this.log.warn({ bucket: name, was_ms: had, now_ms: ttlMs }, 'KV bucket made with another expiry (an earlier version?): expiry changed');
    }
    return natsKv(kv);
  }

  /**
   * Drains the connection, for at most `timeoutMs`: a server that stopped answering (a network cut
   * without a reset) would hold a drain's flush forever, and the stop with it.
   */
  async close(timeoutMs = 5000): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    const drained = await Promise.race([this.nc.drain().then(() => true), new Promise<false>((r) => (t = setTimeout(() => r(false), timeoutMs)))]);
    clearTimeout(t);
    if (!drained) {
      this.log.warn({ timeout_ms: timeoutMs }, 'NATS connection not drained in time; closed');
      await this.nc.close();
    }
  }
}

function natsKv(kv: KV): KeyValue {
  const orUndefined = async (p: Promise<number>): Promise<number | undefined> => {
    try {
      return await p;
    } catch (e) {
      if (/wrong last sequence|key exists/i.test((e as Error).message)) return undefined;
      throw e;
    }
  };
  return {
    get: async (key) => {
      const e = await kv.get(key);
      return e && e.operation === 'PUT' ? { value: e.value, revision: e.revision } : undefined;
    },
    put: (key, value) => kv.put(key, value),
    create: (key, value) => orUndefined(kv.create(key, value)),
    update: (key, value, rev) => orUndefined(kv.update(key, value, rev)),
    delete: (key) => kv.delete(key),
    deleteAt: async (key, rev) => (await orUndefined(kv.delete(key, { previousSeq: rev }).then(() => rev))) !== undefined,
    mirror: async (onChange) => {
      const m = new Map<string, { value: Uint8Array; revision: number; seenAt: number }>();
      const w = await kv.watch({ key: '>' });
      void (async () => {
        for await (const e of w) {
          if (e.operation === 'PUT') m.set(e.key, { value: e.value, revision: e.revision, seenAt: Date.now() });
          else m.delete(e.key);
          onChange?.(e.key, e.operation === 'PUT' ? e.value : undefined);
        }
      })();
      return {
        entries: (prefix) => new Map([...m].filter(([k]) => k.startsWith(`${prefix}.`))),
        stop: () => w.stop(),
      };
    },
  };
}
