/**
 * SNMP interface counters on a bus, for the flow-vs-SNMP cross-check (src/xcheck/): pollers have
 * the counters and processors the flows, often on other machines. A poller with `xcheck` on puts
 * each poll's octet counters of a device into the KV bucket `<stream>_ifcounters`, one key per
 * device (the device's last poll); every processor with `xcheck` on watches the bucket and hands
 * each sample to its cross-check, which interpolates over the samples it has seen (counters.ts).
 *
 * A KV bucket rather than a plain subject: a processor that starts (or restarts) gets each device's
 * last sample at once from the bucket, so its first window is judged after one more poll instead
 * of two; and a put is one small replicated message per device and poll (1000 devices polled every
 * 60 s: 17 puts/s of ~40 bytes per interface), far below the flows the same processors read. The
 * bucket keeps no history: what counters.ts interpolates over is built up by each watcher as polls
 * come, since a processor watches from its start whatever partitions it holds, so the samples
 * around an exporter's open interval are there when its partition moves to it.
 */
import type { Emitter } from '../collector.js';
import type { Logger } from '../log.js';
import { int, makeRecord, type NetRecord } from '../record/record.js';
import type { Bus, KeyValue, KvMirror } from './bus.js';
import { deviceKey } from './pollers.js';

/** What takes the samples: the cross-check (src/xcheck/xcheck.ts). */
export interface CounterTaker {
  /** One interface's octet counters at a poll; `t` is the poll time on the poller's clock, Unix ms. */
  counters(device: string, ifIndex: string, t: number, inOctets: number, outOctets: number): void;
  /** Which exporters' flows this instance decodes: a processor, those of the partitions it holds. */
  restrict(owns: (exporter: string) => boolean): void;
}

/** A device's poll: counters as decimal strings (64-bit counters, exact on the wire). */
interface Doc {
  device: string;
  t: number;
  ifs: [ifIndex: string, inOctets: string, outOctets: string][];
}

/**
 * A device no poller has put for this long is dropped from the bucket: the cross-check forgets an
 * interface after an hour without a poll (xcheck.ts), and a sample older than that is of no use.
 */
export const COUNTERS_TTL_MS = 3_600_000;
const WARN_EVERY_MS = 60_000;
const DIGITS = /^\d{1,20}$/;
const enc = new TextEncoder();
const dec = new TextDecoder();

export class SharedCounters {
  readonly stats = { published: 0, putErrors: 0, received: 0, bad: 0 };
  /** Per device, the poll being shared: records of one poll that arrive in several ticks make one document. */
  private readonly polls = new Map<string, { t: number; ifs: Map<string, [string, string]> }>();
  private readonly dirty = new Set<string>();
  /** At most one put per device in flight; a newer poll waits for it (NATS away: no pile-up). */
  private readonly inFlight = new Set<string>();
  private scheduled = false;
  private view: KvMirror | undefined;
  private warnedAt = -Infinity;

  private constructor(
    private readonly kv: KeyValue,
    private readonly share: boolean,
    private readonly log: Logger,
  ) {}

  /** `share`: this instance polls and puts; `take`: this instance judges flows and watches. */
  static async open(bus: Bus, stream: string, o: { share: boolean; take?: CounterTaker | undefined }, log: Logger): Promise<SharedCounters> {
    const s = new SharedCounters(await bus.kv(`${stream}_ifcounters`, COUNTERS_TTL_MS), o.share, log);
    const take = o.take;
    if (take) {
      s.view = await s.kv.mirror((_k, v) => {
        if (v) s.seen(v, take); // a delete (the TTL, or a removed device) needs nothing: the cross-check forgets by itself
      });
    }
    return s;
  }

  /** The SNMP collector's emitter, with each interface record's counters also shared. */
  tap(inner: Emitter): Emitter {
    if (!this.share) return inner;
    return {
      emit: (r) => {
        this.note(r);
        inner.emit(r);
      },
      error: (e, c) => inner.error(e, c),
    };
  }

  private note(r: NetRecord): void {
    if (r.kind !== 'interface' || r.tags.source !== 'snmp') return;
    const { device, if_index: ifIndex } = r.tags;
    const i = r.fields.in_octets;
    const o = r.fields.out_octets;
    if (device === undefined || ifIndex === undefined || typeof i !== 'bigint' || typeof o !== 'bigint') return;
    let poll = this.polls.get(device);
    if (!poll || poll.t !== r.time) this.polls.set(device, (poll = { t: r.time, ifs: new Map() }));
    poll.ifs.set(ifIndex, [String(i), String(o)]);
    this.dirty.add(device);
    this.schedule();
  }

  /** After the tick that emitted a poll's records: one put per device polled. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      for (const device of this.dirty) if (!this.inFlight.has(device)) this.put(device);
    });
  }

  private put(device: string): void {
    const poll = this.polls.get(device);
    this.dirty.delete(device);
    if (!poll) return;
    const doc: Doc = { device, t: poll.t, ifs: [...poll.ifs].map(([k, [i, o]]) => [k, i, o]) };
    this.inFlight.add(device);
    this.kv
      .put(deviceKey(device), enc.encode(JSON.stringify(doc)))
      .then(
        () => void this.stats.published++,
        (e: unknown) => {
          this.stats.putErrors++;
          this.warn({ device, err: (e as Error).message }, 'could not share interface counters (the cross-check on processors misses this poll)');
        },
      )
      .finally(() => {
        this.inFlight.delete(device);
        if (this.dirty.has(device)) this.schedule();
      });
  }

  private seen(value: Uint8Array, take: CounterTaker): void {
    let d: Doc;
    try {
      d = JSON.parse(dec.decode(value)) as Doc;
      const ok = typeof d.device === 'string' && Number.isFinite(d.t) && Array.isArray(d.ifs) && d.ifs.every((x) => Array.isArray(x) && typeof x[0] === 'string' && DIGITS.test(String(x[1])) && DIGITS.test(String(x[2])));
      if (!ok) throw new Error('not an interface counters document');
    } catch (e) {
      this.stats.bad++;
      this.warn({ err: (e as Error).message, bad: this.stats.bad }, 'shared interface counters unreadable: skipped');
      return;
    }
    this.stats.received++;
    try {
      for (const [ifIndex, i, o] of d.ifs) take.counters(d.device, ifIndex, d.t, Number(i), Number(o));
    } catch (e) {
      // thrown out of the bucket's watcher it would end the watch, and every later poll with it
      this.warn({ device: d.device, err: (e as Error).message }, 'cross-check failed on shared interface counters');
    }
  }

  /** Rate-limited: a bad writer or a lost cluster would otherwise log once per device and poll. */
  private warn(o: Record<string, unknown>, msg: string): void {
    const now = performance.now();
    if (now - this.warnedAt < WARN_EVERY_MS) return;
    this.warnedAt = now;
    this.log.warn(o, msg);
  }

  records(now: number): NetRecord[] {
    const s = this.stats;
    return [makeRecord('health', 'netvigil_bus', { role: 'counters' }, { published: int(s.published), put_errors: int(s.putErrors), received: int(s.received), bad: int(s.bad) }, now)];
  }

  stop(): void {
    this.view?.stop();
  }
}
