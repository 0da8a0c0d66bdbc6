/**
 * The Bus on NATS JetStream: one stream `<stream>` with subjects `<stream>.flow.<partition>`, one
 * durable pull consumer per partition with AckAll (a commit acknowledges everything before it, like
 * a Kafka offset), and KV buckets for leases and shared decoding state.
 */
import { readFileSync } from 'node:fs';
import {
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  connect,
  credsAuthenticator,
  nanos,
  nkeyAuthenticator,
  type ConnectionOptions,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type KV,
  type NatsConnection,
} from 'nats';
import type { Logger } from '../log.js';
import type { Bus, BusMessage, KeyValue, PartitionConsumer } from './bus.js';
import type { NatsConfig } from './config.js';

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

const isNotFound = (e: unknown): boolean => /not found/i.test((e as Error).message) || (e as { api_error?: { err_code?: number } }).api_error?.err_code === 10014;

export class NatsBus implements Bus {
  readonly partitions: number;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly cfg: NatsConfig,
  ) {
    this.partitions = cfg.partitions;
  }

  /** Connects and makes sure the stream exists with the configured subjects and replicas. */
  static async open(cfg: NatsConfig, name: string, log: Logger): Promise<NatsBus> {
    const nc = await connect(connectionOptions(cfg, name));
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'disconnect' || s.type === 'reconnect') log.warn({ nats: s.type, server: s.data }, 'NATS connection');
    })();
    const jsm = await nc.jetstreamManager();
    const want = { subjects: [`${cfg.stream}.flow.>`], num_replicas: cfg.replicas, max_age: nanos(cfg.max_age), duplicate_window: nanos(120_000) };
    try {
      await jsm.streams.info(cfg.stream);
      await jsm.streams.update(cfg.stream, want);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await jsm.streams.add({ name: cfg.stream, retention: RetentionPolicy.Limits, storage: StorageType.File, ...want });
    }
    return new NatsBus(nc, nc.jetstream(), jsm, cfg);
  }

  async publish(partition: number, data: Uint8Array, id: string): Promise<void> {
    await this.js.publish(`${this.cfg.stream}.flow.${partition}`, data, { msgID: id });
  }

  /**
   * A new owner recreates the partition's durable consumer at its ack floor: the old one may still
   * hold delivered, unacknowledged messages that JetStream would redeliver only after ack_wait and
   * out of order, and AckAll on a later message would then acknowledge them unprocessed.
   */
  async consume(partition: number, handler: (m: BusMessage) => void): Promise<PartitionConsumer> {
    const stream = this.cfg.stream;
    const durable = `${stream}_flow_${partition}`;
    let floor = 0;
    try {
      floor = (await this.jsm.consumers.info(stream, durable)).ack_floor.stream_seq;
      await this.jsm.consumers.delete(stream, durable);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const cc: Partial<ConsumerConfig> = {
      durable_name: durable,
      filter_subject: `${stream}.flow.${partition}`,
      ack_policy: AckPolicy.All,
      ack_wait: nanos(this.cfg.ack_wait),
      max_ack_pending: -1,
      ...(floor > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: floor + 1 } : { deliver_policy: DeliverPolicy.All }),
    };
    await this.jsm.consumers.add(stream, cc);
    const consumer = await this.js.consumers.get(stream, durable);
    // redeliveries after ack_wait (an interval held longer) come again: skipped by sequence
    let last = floor;
    const msgs = await consumer.consume({
      max_messages: 64,
      callback: (m: JsMsg) => {
        if (m.seq <= last) return;
        last = m.seq;
        handler({ partition, seq: m.seq, data: m.data, handle: m });
      },
    });
    return {
      commit: async (m) => {
        await (m.handle as JsMsg).ackAck();
      },
      stop: async () => {
        await msgs.close();
      },
    };
  }

  async kv(name: string, ttlMs: number): Promise<KeyValue> {
    const kv = await this.js.views.kv(name, { history: 1, replicas: this.cfg.replicas, ...(ttlMs ? { ttl: ttlMs } : {}) });
    return natsKv(kv);
  }

  async close(): Promise<void> {
    await this.nc.drain();
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
