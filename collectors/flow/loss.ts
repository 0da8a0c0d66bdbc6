/**
 * Sequence-number loss accounting per exporter stream. What a sequence number counts differs per
 * protocol, so the caller says how many units a datagram carried:
 *   NetFlow v5   flows (header flow_sequence is the first flow's number)
 *   NetFlow v9   export packets (RFC 3954 §5.1, per Source ID)
 *   IPFIX        data records before this message, per Observation Domain (RFC 7011 §3.1)
 * unless a v9/IPFIX exporter numbers otherwise, which is learned per stream (numbering.ts).
 *   sFlow v5     datagrams per agent / sub-agent
 * All arithmetic is modulo 2^32. A jump too large to be loss, a step back further than reordering
 * can explain, or the exporter's uptime going backwards is a reset (exporter restart), not millions
 * of lost flows or a duplicate.
 */
import { makeRecord, type Fields, type HealthRecord } from '../../src/record/record.js';
import { asUnits, bestNumbering, Numbering, NUMBERING_NAMES, WINDOW, type MessageUnits } from './numbering.js';

/** How far back an exporter's uptime may step (reordered datagrams) before it counts as a reboot. */
export const UPTIME_SLACK_MS = 10_000;

export interface StreamCounters {
  /** Units (flows/packets/records/datagrams, see above) received. */
  received: number;
  lost: number;
  /** Datagrams behind the expectation whose units had already arrived (sent or delivered twice). */
  duplicates: number;
  /**
   * Datagrams behind the expectation that filled a gap counted as lost: late, not lost, so their
   * units leave `lost` again. Absent while 0.
   */
  reordered?: number;
  resets: number;
  /** Part of `lost`: the gap the first datagram after a restart of ours showed (losspersist.ts). */
  lostWhileDown?: number;
}

export interface Stream extends StreamCounters {
  exporter: string;
  domain: string;
  version: string;
  /** Next expected sequence number, or -1 when unknown (first datagram, or a count we could not tell). */
  expected: number;
  uptimeMs: number;
  /** Sub-streams (sFlow samples) by kind, then by source id: found without making text. */
  children?: Map<string, Map<number, Stream>>;
  /** Set on an sFlow sample stream: its losses are mostly the datagram stream's, counted there. */
  sample?: true;
  /** v9/IPFIX: what the sequence counts, once learned; `held` are the messages it is learned from. */
  numbering?: Numbering;
  preferred?: Numbering;
  held?: MessageUnits[] | undefined;
  /**
   * Restored from the last run's state: the next datagram's gap is what the exporter sent while no
   * process listened ('gap'), or, the state being too old to tell, a reset ('reset').
   */
  resumed?: 'gap' | 'reset' | undefined;
  /** Open gaps [from, to) counted as lost, newest last, at most MAX_GAPS: what a late datagram can fill. */
  gaps?: number[] | undefined;
}

/** Gaps remembered per stream: a late datagram older than the oldest one kept reads as a duplicate. */
const MAX_GAPS = 16;

export interface LossOptions {
  /** A forward gap larger than this is taken as a restart. */
  resetGap: number;
  /** Streams tracked at most (bounded memory); new streams beyond it are not tracked. */
  maxStreams: number;
}

/** Per exporter, summed over its export streams: units received and lost, datagrams duplicated and late. */
export interface PathTotals {
  received: number;
  lost: number;
  duplicates: number;
  reordered: number;
}

/** Units received and lost per exporter (loss-ratio.ts). */
export interface SeqTotals {
  received: number;
  lost: number;
  /** Every stream of the exporter numbers flow records (see `countsRecords`): `lost` is flows, not datagrams. */
  records?: true;
}

/**
 * Whether a stream's units are the flow records the volumes are made of: NetFlow v5 (flows) and
 * v9/IPFIX streams learned to number records or flows. Not v9 export packets (RFC 3954 §5.1) nor
 * sFlow datagrams, whose lost units say nothing of how many flows they carried (measured on pmacctd
 * v9, which sends 1 to 8 flows per datagram in bursts: loss-ratio.ts).
 */
function countsRecords(s: Stream): boolean {
  if (s.version === '5') return true;
  return (s.version === '9' || s.version === '10') && s.numbering !== undefined && s.numbering !== Numbering.Messages;
}

/** Remembers [from, from + n) as counted lost; the oldest gap is forgotten past MAX_GAPS. */
function openGap(s: Stream, from: number, n: number): void {
  const g = (s.gaps ??= []);
  if (g.length >= MAX_GAPS * 2) g.splice(0, 2);
  g.push(from, (from + n) >>> 0);
}

/**
 * Takes [seq, seq + count) out of the gap holding it; false when no remembered gap holds it (the
 * units arrived before: a duplicate). Gaps further behind `expected` than `window` are dropped first.
 */
function fillGap(s: Stream, seq: number, count: number, expected: number, window: number): boolean {
  const g = s.gaps;
  if (!g) return false;
  while (g.length && ((expected - (g[1] as number)) | 0) > window) g.splice(0, 2);
  const n = Math.max(count, 1);
  for (let i = 0; i < g.length; i += 2) {
    const from = g[i] as number;
    const to = g[i + 1] as number;
    const at = ((seq - from) | 0) >= 0 && ((to - seq) | 0) > 0;
    if (!at || ((to - seq) | 0) < n) continue;
    const end = (seq + n) >>> 0;
    // split: [from, seq) and [end, to) stay open; empty halves are dropped
    const parts: number[] = [];
    if (seq !== from) parts.push(from, seq);
    if (end !== to) parts.push(end, to);
    g.splice(i, 2, ...parts);
    return true;
  }
  return false;
}

function sampleDomain(parent: Stream, kind: string, type: number, index: number): string {
  return `${parent.domain}/${kind}/${type}:${index}`;
}

export class LossTracker {
  private readonly streams = new Map<string, Stream>();
  /** The stream `stream` found last, and the domain it was asked by. */
  private last: Stream | undefined;
  private lastDomain: number | string = '';
  private readonly opts: LossOptions;
  /** Counters of the streams restored since `takeRestored` was last called, by stream key. */
  private restored = new Map<string, { exporter: string; received: number; lost: number }>();
  /** Bumped on every datagram: the persisted state is rewritten only when this moved. */
  changes = 0;

  constructor(opts: Partial<LossOptions> = {}) {
    this.opts = { resetGap: 1_000_000, maxStreams: 10_000, ...opts };
  }

  /**
   * One datagram of a stream: `seq` its sequence number, `count` the units it carries (-1 when not
   * known, e.g. an IPFIX data set parked for lack of a template), `uptimeMs` when the protocol has one
   * (-1 otherwise), `window` how far behind the expectation a late datagram can plausibly be (in
   * the stream's units); further back is a restart (what IPFIX, without uptime, shows of one).
   */
  observe(exporter: string, version: string, domain: number | string, seq: number, count: number, uptimeMs = -1, window = 1024): void {
    const s = this.stream(exporter, version, domain);
    if (s) this.advance(s, seq, count, uptimeMs, window);
  }

  /**
   * One v9/IPFIX message. The stream's first WINDOW messages are held until their numbering is
   * learned (`preferred` is the protocol's own rule), then replayed under it.
   */
  observeMessage(exporter: string, version: string, domain: number, m: MessageUnits, preferred: Numbering): void {
    const s = this.stream(exporter, version, domain);
    if (!s) return;
    if (s.numbering !== undefined) return this.numbered(s, s.numbering, m);
    this.changes++; // held, not yet counted: still a change to save
    s.preferred = preferred;
    (s.held ??= []).push(m);
    if (s.held.length < WINDOW) return;
    this.settle(s);
  }

  private numbered(s: Stream, n: Numbering, m: MessageUnits): void {
    const u = asUnits(m, n);
    // ~100 datagrams of reordering, in the stream's unit
    this.advance(s, u.seq, u.count, m.uptimeMs, n === Numbering.Messages ? 100 : 3000);
  }

  /** Picks the numbering of a stream from its held messages and replays them under it. */
  private settle(s: Stream): void {
    const held = s.held ?? [];
    s.held = undefined;
    s.numbering = bestNumbering(held, s.preferred ?? Numbering.Records);
    for (const m of held) this.numbered(s, s.numbering, m);
  }

  /** A stream as it reads now: one still learning is settled on a copy with what it has seen. */
  private view(s: Stream): Stream {
    if (!s.held?.length) return s;
    const copy: Stream = { ...s };
    const changes = this.changes; // reading is no change: it must not make the state be saved again
    this.settle(copy);
    this.changes = changes;
    return copy;
  }

  /** The stream's state, created on first sight; undefined once `maxStreams` are tracked. */
  stream(exporter: string, version: string, domain: number | string): Stream | undefined {
    // streams are removed only by `forget`, which clears `last`: it can be returned without building its key
    const last = this.last;
    if (last !== undefined && this.lastDomain === domain && last.exporter === exporter && last.version === version) return last;
    const key = `${exporter}|${version}|${domain}`;
    let s = this.streams.get(key);
    if (!s) {
      if (this.streams.size >= this.opts.maxStreams) return undefined;
      s = { exporter, version, domain: String(domain), expected: -1, uptimeMs: -1, received: 0, lost: 0, duplicates: 0, resets: 0 };
      this.streams.set(key, s);
    }
    this.last = s;
    this.lastDomain = domain;
    return s;
  }

  /**
   * The sample stream of an sFlow source under datagram stream `parent` (sFlow v5 §5: samples are
   * numbered per source and kind). Domain `<parent>/<kind>/<type>:<index>`; its text is made once.
   */
  child(parent: Stream, kind: string, type: number, index: number): Stream | undefined {
    // compact sources (8-bit type, 24-bit index) as one int32; expanded samples may exceed that
    if (type < 0 || type > 255 || index < 0 || index > 0xffffff) {
      const s = this.stream(parent.exporter, parent.version, sampleDomain(parent, kind, type, index));
      if (s) s.sample = true;
      return s;
    }
    const byKind = (parent.children ??= new Map());
    let m = byKind.get(kind);
    if (!m) byKind.set(kind, (m = new Map()));
    const id = (type << 24) | index;
    let s = m.get(id);
    if (!s) {
      s = this.stream(parent.exporter, parent.version, sampleDomain(parent, kind, type, index));
      if (s) {
        s.sample = true;
        m.set(id, s);
      }
    }
    return s;
  }

  /** One datagram of stream `s` (see `observe`). */
  advance(s: Stream, seq: number, count: number, uptimeMs = -1, window = 1024): void {
    this.changes++;
    if (count > 0) s.received += count;
    const resumed = s.resumed;
    if (resumed !== undefined) s.resumed = undefined;
    // a late datagram carries a slightly older uptime; only a clear step back is a reboot
    const restarted = uptimeMs >= 0 && s.uptimeMs >= 0 && uptimeMs + UPTIME_SLACK_MS < s.uptimeMs;
    if (uptimeMs >= 0 && (restarted || uptimeMs > s.uptimeMs)) s.uptimeMs = uptimeMs;
    const next = count >= 0 ? (seq + count) >>> 0 : -1;
    if (s.expected < 0) {
      s.expected = next;
      return;
    }
    if (restarted || resumed === 'reset') {
      s.gaps = undefined;
      s.resets++;
      s.expected = next;
      return;
    }
    // signed distance modulo 2^32: positive = ahead of expectation (gap), negative = behind
    const diff = ((seq >>> 0) - s.expected) | 0;
    if (resumed === 'gap') {
      // across our downtime: a step back is the exporter restarting, not a late datagram
      if (diff > 0 && diff <= this.opts.resetGap) {
        s.lost += diff;
        s.lostWhileDown = (s.lostWhileDown ?? 0) + diff;
      } else if (diff !== 0) s.resets++;
      s.expected = next;
      return;
    }
    if (diff === 0) {
      s.expected = next;
    } else if (diff > 0 && diff <= this.opts.resetGap) {
      s.lost += diff;
      openGap(s, s.expected, diff);
      s.expected = next;
    } else if (diff < 0 && -diff <= window) {
      // behind: late if it fills a gap counted as lost (its units are taken back), else a duplicate;
      // the expectation does not move back
      if (fillGap(s, seq >>> 0, count, s.expected, window)) {
        s.reordered = (s.reordered ?? 0) + 1;
        if (count > 0) s.lost -= count;
      } else s.duplicates++;
    } else {
      s.resets++;
      s.expected = next;
    }
  }

  get(exporter: string, version: string, domain: number | string): StreamCounters | undefined {
    const found = this.streams.get(`${exporter}|${version}|${domain}`);
    if (!found) return undefined;
    const s = this.view(found);
    const c: StreamCounters = { received: s.received, lost: s.lost, duplicates: s.duplicates, resets: s.resets };
    if (s.lostWhileDown) c.lostWhileDown = s.lostWhileDown;
    if (s.reordered) c.reordered = s.reordered;
    return c;
  }

  /**
   * Units received and lost per exporter, summed over its export streams (for /metrics). sFlow
   * sample streams are left out: a lost datagram already counts once in its datagram stream.
   */
  exporterTotals(): Map<string, SeqTotals> {
    const datagramUnits = new Set<string>();
    for (const s of this.streams.values()) if (!s.sample && !countsRecords(this.view(s))) datagramUnits.add(s.exporter);
    const out = new Map<string, SeqTotals>();
    for (const [e, t] of this.pathTotals()) out.set(e, datagramUnits.has(e) ? { received: t.received, lost: t.lost } : { received: t.received, lost: t.lost, records: true });
    return out;
  }

  /** `exporterTotals` with the datagrams duplicated and reordered (the data path in numbers). */
  pathTotals(): Map<string, PathTotals> {
    const out = new Map<string, PathTotals>();
    for (const found of this.streams.values()) {
      if (found.sample) continue;
      // a stream still learning its numbering reports what its held messages show
      const s = this.view(found);
      const t = out.get(found.exporter);
      if (t) {
        t.received += s.received;
        t.lost += s.lost;
        t.duplicates += s.duplicates;
        t.reordered += s.reordered ?? 0;
      } else out.set(found.exporter, { received: s.received, lost: s.lost, duplicates: s.duplicates, reordered: s.reordered ?? 0 });
    }
    return out;
  }

  /** Cumulative counters per stream as `flow_loss` health records. */
  records(collector: string, now: number): HealthRecord[] {
    const out: HealthRecord[] = [];
    for (const found of this.streams.values()) {
      const s = this.view(found);
      const f: Fields = { received: BigInt(s.received), lost: BigInt(s.lost), lost_while_down: BigInt(s.lostWhileDown ?? 0), duplicates: BigInt(s.duplicates), reordered: BigInt(s.reordered ?? 0), resets: BigInt(s.resets) };
      if (s.numbering !== undefined) f['numbering'] = NUMBERING_NAMES[s.numbering];
      out.push(makeRecord('health', 'flow_loss', { collector, exporter: s.exporter, domain: s.domain, version: s.version }, f, now));
    }
    return out;
  }

  /** Every stream as it reads now (one still learning settled on what it has seen), for losspersist.ts. */
  *settled(): IterableIterator<Stream> {
    for (const s of this.streams.values()) yield this.view(s);
  }

  /** Forgets every stream of the exporters `which` selects (their bus partition moved to another processor). */
  forget(which: (exporter: string) => boolean): void {
    for (const [k, s] of this.streams) if (which(s.exporter)) this.streams.delete(k);
    this.last = undefined;
  }

  /**
   * A stream of the last run, put back before any datagram arrives: its counters continue, and its
   * next datagram is measured against `expected` as `resumed` says. Up to `maxStreams`.
   */
  restore(saved: Omit<Stream, 'children' | 'held' | 'preferred'>): boolean {
    const key = `${saved.exporter}|${saved.version}|${saved.domain}`;
    if (this.streams.has(key) || this.streams.size >= this.opts.maxStreams) return false;
    this.streams.set(key, { ...saved });
    if (!saved.sample) this.restored.set(key, { exporter: saved.exporter, received: saved.received, lost: saved.lost });
    return true;
  }

  /**
   * Per exporter, the totals its streams were restored with since the last call: counted where
   * they happened (a previous run, a bus partition's previous owner), so not this interval's
   * (loss-ratio.ts).
   */
  takeRestored(): Map<string, { received: number; lost: number }> {
    const out = new Map<string, { received: number; lost: number }>();
    for (const r of this.restored.values()) {
      const t = out.get(r.exporter);
      if (t) {
        t.received += r.received;
        t.lost += r.lost;
      } else out.set(r.exporter, { received: r.received, lost: r.lost });
    }
    this.restored = new Map();
    return out;
  }
}
