/**
 * Datagram -> records, without sockets: protocol detection by version word (any port takes any
 * protocol), decoding, normalization, options learning, loss accounting and per-exporter counters.
 * `handle` never throws: a malformed datagram is counted by reason and exporter and dropped.
 */
import type { InterfaceInfo } from '../../src/collector.js';
import { DecodeError } from '../../src/errors.js';
import { makeRecord, type Fields, type HealthRecord, type NetRecord } from '../../src/record/record.js';
import type { DataRecord, FlowMessage } from '../netflow/compile.js';
import { decodeIpfix } from '../netflow/ipfix.js';
import { OptionsState, recordOfData, recordOfV5 } from '../netflow/normalize.js';
import type { TemplateStore } from '../netflow/templates.js';
import { decodeV5 } from '../netflow/v5.js';
import { decodeV9 } from '../netflow/v9.js';
import { decodeSflow, recordOfSflow, sampleRecords } from '../sflow/index.js';
import type { Allowlist } from './cidr.js';
import { Producer } from './producer.js';
import { Sources, type Source } from './sources.js';
import type { FlowView } from './view.js';
import { LossTracker } from './loss.js';
import { Numbering } from './numbering.js';
import { pathFields } from './path.js';
import { ExporterClocks, type ClockState, type TimeSource, type TimestampConfig } from './timestamps.js';

export interface ProcessorHooks {
  /** Flow records (raw export), interface counters from sFlow. */
  emit(r: NetRecord): void;
  /** Every flow, for the aggregator (`view` is reused: read it before returning). */
  aggregate(view: FlowView): void;
  interfaces(exporter: string, list: InterfaceInfo[]): void;
  clockOffset(exporter: string, offsetMs: number): void;
  /** An `auto` exporter's flow times switched clock (timestamps.ts). */
  timeSource?(exporter: string, source: TimeSource, offsetMs: number): void;
  /** Anything but a DecodeError escaping a decoder is a bug: counted as `internal` and reported. */
  internalError(err: unknown, exporter: string): void;
}

export interface ProcessorOptions {
  collector: string;
  store: TemplateStore;
  allow?: Allowlist;
  /** Emit every flow record as well as aggregating it (off by default: see README). */
  raw: boolean;
  maxExporters: number;
  /** User-mapped dimension names (FlowView.mapped). */
  mapped?: readonly string[];
  /** Which clock flow times are read on, per exporter (timestamps.ts); exporter's when absent. */
  timestamps?: TimestampConfig;
}

/** An exporter's cumulative `flow_stats` counters (decode errors by reason), and its clock (timestamps.ts). */
export interface ExporterCounters {
  datagrams: number;
  records: number;
  errors: Record<string, number>;
  lastSeen: number;
  clock?: ClockState | undefined;
}

const EXPORTER_CLOCK: TimestampConfig = { default: 'exporter', max_offset: Infinity, exporters: {} };

interface ExporterStats {
  datagrams: number;
  records: number;
  errors: Map<string, number>;
  /** Receive time of the last datagram (Unix ms): an exporter gone quiet is what operators alert on. */
  lastSeen: number;
  lastOffsetAt: number;
  /** Last exporter clock offset (export time - receive time), ms; NaN until known. */
  offsetMs: number;
}

/** Exporter clock offset is reported at most this often per exporter (it moves slowly). */
const OFFSET_EVERY_MS = 1000;

/** Protocol of a datagram from its first word(s); undefined when no supported version matches. */
export function detect(buf: Uint8Array): '5' | '9' | '10' | 'sflow5' | undefined {
  if (buf.byteLength < 4) return undefined;
  const w = ((buf[0] as number) << 8) | (buf[1] as number);
  if (w === 5) return '5';
  if (w === 9) return '9';
  if (w === 10) return '10';
  // sFlow: 32-bit version 5 (sFlow v5 spec §5.4 datagram header)
  if (w === 0 && buf[2] === 0 && buf[3] === 5) return 'sflow5';
  return undefined;
}

/** `::ffff:a.b.c.d` from a dual-stack socket is the IPv4 exporter a.b.c.d. */
export function exporterAddress(addr: string): string {
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

export class FlowProcessor {
  readonly loss = new LossTracker();
  readonly options = new OptionsState();
  private readonly exporters = new Map<string, ExporterStats>();
  private readonly sources: Sources<ExporterStats>;
  private readonly producer: Producer;
  readonly clocks: ExporterClocks;
  /** Data record objects reused from one message to the next: nothing here keeps a record (compile.ts). */
  private readonly spare: DataRecord[] = [];
  /** sampleRecords' output, straight to the emit hook. */
  private readonly emitter: { push(r: NetRecord): void };
  private notAllowed = 0;
  private untracked = 0;
  /** Datagram counts restored since `takeRestored` (restoreCounters). */
  private restored = new Map<string, number>();

  constructor(
    private readonly opts: ProcessorOptions,
    private readonly hooks: ProcessorHooks,
  ) {
    this.producer = new Producer(this.options, opts.mapped);
    this.emitter = { push: (r) => hooks.emit(r) };
    this.sources = new Sources(2 * opts.maxExporters);
    this.clocks = new ExporterClocks(opts.timestamps ?? EXPORTER_CLOCK, opts.maxExporters, (e, src, off) => hooks.timeSource?.(e, src, off));
  }

  /** Settings a config reload may change in place. */
  configure(raw: boolean, allow: Allowlist | undefined, timestamps?: TimestampConfig): void {
    this.opts.raw = raw;
    if (timestamps) this.clocks.configure(timestamps);
    if (allow) this.opts.allow = allow;
    else delete this.opts.allow;
    this.sources.clear(); // they hold the old allowlist's verdicts
  }

  handle(buf: Uint8Array, srcAddr: string, srcPort: number, now: number): void {
    const src = this.admit(srcAddr, now);
    if (src === undefined) return;
    const { exporter, st } = src;
    const version = detect(buf);
    try {
      let n: number;
      switch (version) {
        case '5':
          n = this.v5(buf, exporter, now);
          break;
        case '9':
        case '10':
          n = this.templated(buf, version, exporter, this.sources.session(src, srcPort), now);
          break;
        case 'sflow5':
          n = this.sflow(buf, exporter, now);
          break;
        default:
          this.count(st, 'unsupported');
          return;
      }
      if (st) st.records += n;
    } catch (e) {
      if (e instanceof DecodeError) this.count(st, `${e.protocol}_${e.reason}`);
      else {
        this.count(st, 'internal');
        this.hooks.internalError(e, exporter);
      }
    }
  }

  /**
   * What every datagram costs before decoding: its source (sources.ts: cached by the socket's
   * address text), the allowlist, and the exporter's counters. Undefined: not allowed (counted).
   */
  admit(srcAddr: string, now: number): Source<ExporterStats> | undefined {
    let src = this.sources.get(srcAddr);
    if (src === undefined) {
      const exporter = exporterAddress(srcAddr);
      src = this.sources.add(srcAddr, exporter, !this.opts.allow || this.opts.allow.allows(exporter));
    }
    if (!src.allowed) {
      this.notAllowed++;
      return undefined;
    }
    // entries are never removed: once found, an exporter's counters stay where they are
    let st = src.st;
    if (st === undefined && (st = this.statsFor(src.exporter)) !== undefined) src.st = st;
    if (st) {
      st.datagrams++;
      st.lastSeen = now;
    }
    return src;
  }

  private count(st: ExporterStats | undefined, reason: string): void {
    if (!st) return;
    st.errors.set(reason, (st.errors.get(reason) ?? 0) + 1);
  }

  private statsFor(exporter: string): ExporterStats | undefined {
    let st = this.exporters.get(exporter);
    if (!st) {
      if (this.exporters.size >= this.opts.maxExporters) {
        this.untracked++;
        return undefined;
      }
      st = { datagrams: 0, records: 0, errors: new Map(), lastSeen: 0, lastOffsetAt: -Infinity, offsetMs: NaN };
      this.exporters.set(exporter, st);
    }
    return st;
  }

  private offset(exporter: string, exportMs: number, now: number): void {
    const st = this.exporters.get(exporter);
    if (!st || now - st.lastOffsetAt < OFFSET_EVERY_MS) return;
    st.lastOffsetAt = now;
    st.offsetMs = exportMs - now;
    this.hooks.clockOffset(exporter, st.offsetMs);
  }

  private v5(buf: Uint8Array, exporter: string, now: number): number {
    const p = decodeV5(buf);
    const h = p.header;
    // windows: ~100 datagrams of reordering, in each protocol's unit (v5 flows, v9 packets, IPFIX records)
    this.loss.observe(exporter, '5', (h.engineType << 8) | h.engineId, h.flowSequence, h.count, h.sysUptimeMs, 3000);
    this.offset(exporter, h.unixSecs * 1000 + Math.floor(h.unixNsecs / 1e6), now);
    this.clocks.observe(exporter, h.unixSecs * 1000 + h.unixNsecs / 1e6, now);
    const raw = this.opts.raw;
    for (let i = 0; i < p.flows.length; i++) {
      const f = p.flows[i] as (typeof p.flows)[number];
      const view = this.producer.v5(h, f, exporter);
      this.aggregate(view);
      if (!raw) continue;
      this.hooks.emit(this.clocks.stamp(recordOfV5(view, f), exporter));
    }
    return p.flows.length;
  }

  private templated(buf: Uint8Array, version: '9' | '10', exporter: string, session: string, now: number): number {
    const m: FlowMessage = version === '9' ? decodeV9(buf, session, this.opts.store, now, this.spare) : decodeIpfix(buf, session, this.opts.store, now, this.spare);
    const h = m.hdr;
    const units = { seq: h.sequence, records: m.dataRecords, flows: m.dataRecords < 0 ? -1 : m.dataRecords - m.optionRecords, uptimeMs: version === '9' ? h.sysUptimeMs : -1 };
    this.loss.observeMessage(exporter, version, h.domain, units, version === '9' ? Numbering.Messages : Numbering.Records);
    this.offset(exporter, h.exportTimeSec * 1000, now);
    // IPFIX export time: the middle of its whole second (timestamps.ts)
    this.clocks.observe(exporter, version === '9' ? this.clocks.v9ExportMs(exporter, h.exportTimeSec, h.sysUptimeMs) : h.exportTimeSec * 1000 + 500, now);
    let ifChanged = false;
    // options first: a sampler or boot-time record applies to flows of the same message
    for (const r of m.records) if (r.tpl.def.options && this.options.apply(r, exporter)) ifChanged = true;
    let n = 0;
    const raw = this.opts.raw;
    const prod = this.producer;
    prod.message(h, exporter);
    for (const r of m.records) {
      if (r.tpl.def.options) continue;
      // aggregation reads the view; a Record is made only when raw export wants it
      const view = prod.data(r);
      this.aggregate(view);
      n++;
      if (!raw) continue;
      this.hooks.emit(this.clocks.stamp(recordOfData(view, r, now), exporter));
    }
    if (ifChanged) this.hooks.interfaces(exporter, [...(this.options.interfaces.get(exporter)?.values() ?? [])]);
    if (m.parkDropped) this.countN(exporter, 'pending_full', m.parkDropped);
    // a bad set is counted like a bad datagram; the records of the message's other sets were kept
    for (const e of m.errors) this.countN(exporter, `${e.protocol}_${e.reason}`, 1);
    return n;
  }

  private countN(exporter: string, reason: string, n: number): void {
    const st = this.exporters.get(exporter);
    if (st) st.errors.set(reason, (st.errors.get(reason) ?? 0) + n);
  }

  private sflow(buf: Uint8Array, exporter: string, now: number): number {
    const d = decodeSflow(buf);
    // sFlow v5 §5: datagrams are numbered per agent/sub-agent, samples per source and kind; a relay
    // may forward several agents from one address, so the agent is part of the stream when it differs
    const dom = d.agent && d.agent !== exporter ? `${d.agent}/${d.subAgentId}` : String(d.subAgentId);
    const stream = this.loss.stream(exporter, 'sflow5', dom);
    if (stream) {
      this.loss.advance(stream, d.sequence, 1, d.uptimeMs, 100);
      for (const s of d.samples) {
        if (s.kind === 'unknown') continue;
        const sub = this.loss.child(stream, s.kind, s.source.type, s.source.index);
        if (sub) this.loss.advance(sub, s.sequence, 1, d.uptimeMs, 100);
      }
    }
    let n = 0;
    const raw = this.opts.raw;
    // flows are aggregated from the samples' views; Records for counters, discards and raw export
    for (const s of d.samples) {
      if (s.kind !== 'flow') {
        sampleRecords(d, s, exporter, now, this.emitter);
        continue;
      }
      const view = this.producer.sflow(s, exporter, d.subAgentId, now);
      this.aggregate(view);
      n++;
      if (!raw) continue;
      this.hooks.emit(recordOfSflow(view, s, d));
    }
    return n;
  }

  /** Per-exporter counters and decode errors by reason (cumulative), plus collector-wide ones. */
  statsRecords(now: number, extra: Record<string, number>): HealthRecord[] {
    const c = this.opts.collector;
    const out: HealthRecord[] = [];
    const path = this.loss.pathTotals();
    for (const [exporter, st] of this.exporters) {
      let errors = 0;
      for (const [reason, n] of st.errors) {
        errors += n;
        out.push(makeRecord('health', 'flow_stats', { collector: c, exporter, reason }, { decode_errors: BigInt(n) }, now));
      }
      const f: Fields = { datagrams: BigInt(st.datagrams), records: BigInt(st.records), decode_errors: BigInt(errors) };
      // float field; NaN (sFlow carries no wall clock) is left out by the line-protocol writer
      if (!Number.isNaN(st.offsetMs)) f['clock_offset_ms'] = st.offsetMs;
      pathFields(f, path.get(exporter), this.clocks.stats(exporter));
      out.push(makeRecord('health', 'flow_stats', { collector: c, exporter }, f, now));
    }
    const fields: Record<string, bigint> = { not_allowed: BigInt(this.notAllowed), untracked_exporters: BigInt(this.untracked) };
    for (const k in extra) fields[k] = BigInt(Math.round(extra[k] ?? 0));
    out.push(makeRecord('health', 'flow_stats', { collector: c }, fields, now));
    return out;
  }

  /** Snapshot for /status and tests. */
  exporterStats(exporter: string): { datagrams: number; records: number; errors: Record<string, number> } | undefined {
    const st = this.exporters.get(exporter);
    return st ? { datagrams: st.datagrams, records: st.records, errors: Object.fromEntries(st.errors) } : undefined;
  }

  /** Receive time (Unix ms) of the exporter's last datagram; undefined for an untracked exporter. */
  lastSeen(exporter: string): number | undefined {
    return this.exporters.get(exporter)?.lastSeen;
  }

  exporterNames(): string[] {
    return [...this.exporters.keys()];
  }

  /**
   * Hands the view to aggregation. The aggregate hook may set a configured sampling rate on it
   * (sampling.ts); the exporter's own rate is put back for the raw Record made from the same view.
   */
  private aggregate(view: FlowView): void {
    const rate = view.rate;
    this.hooks.aggregate(view);
    view.rate = rate;
  }

  /** The exporter's cumulative counters, as a bus partition carries them (handoff.ts). */
  counters(exporter: string): ExporterCounters | undefined {
    const st = this.exporters.get(exporter);
    const clock = this.clocks.save(exporter);
    return st && { datagrams: st.datagrams, records: st.records, errors: Object.fromEntries(st.errors), lastSeen: st.lastSeen, ...(clock ? { clock } : {}) };
  }

  /** Counters another processor kept for the exporter replace ours; false past `max_exporters`. */
  restoreCounters(exporter: string, c: ExporterCounters): boolean {
    this.exporters.delete(exporter);
    const st = this.statsFor(exporter);
    if (!st) return false;
    Object.assign(st, { datagrams: c.datagrams, records: c.records, errors: new Map(Object.entries(c.errors)), lastSeen: c.lastSeen });
    if (c.clock) this.clocks.restore(exporter, c.clock);
    this.restored.set(exporter, c.datagrams);
    this.sources.clear(); // sources hold the counters object they found
    return true;
  }

  /** The exporters' counters go (another processor has them now): no stale `flow_stats` rows. */
  forgetCounters(which: (exporter: string) => boolean): void {
    for (const e of [...this.exporters.keys()]) if (which(e)) this.exporters.delete(e);
    this.clocks.forget(which);
    this.sources.clear();
  }

  /** LossTracker.takeRestored plus the datagram counts restored since the last call (loss-ratio.ts baselines). */
  takeRestored(): Map<string, { received?: number; lost?: number; datagrams?: number }> {
    const out: Map<string, { received?: number; lost?: number; datagrams?: number }> = this.loss.takeRestored();
    for (const [e, datagrams] of this.restored) out.set(e, { ...out.get(e), datagrams });
    this.restored = new Map();
    return out;
  }
}
