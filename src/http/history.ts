/**
 * The status page's memory of the last hour: a ring of snapshots taken at a fixed step from the same
 * StatusView /status.json shows, plus the talkers and interfaces of the last few aggregation
 * intervals, seen as their records pass enrichment. Everything is bounded: the ring holds
 * ceil(1 h / step) points, each with at most MAX_EXPORTERS exporters and MAX_DEVICES devices, and
 * the record tables keep the newest KEEP_INTERVALS intervals with at most MAX_ROWS rows each.
 */
import type { NetRecord } from '../record/record.js';
import type { StatusView } from './view.js';

export const SPAN_MS = 3_600_000;
const MAX_EXPORTERS = 16;
const MAX_DEVICES = 64;
const KEEP_INTERVALS = 3;
const MAX_ROWS = 256;

/** Cumulative counters of one exporter at one point (rates are differences of neighbours). */
export interface ExporterPoint {
  datagrams: number;
  records: number;
  errors: number;
  lost: number;
}

export interface HistoryPoint {
  t: number;
  level: number;
  reasons: string[];
  exporters: Record<string, ExporterPoint>;
  /** Records the pipeline dropped plus points sinks lost, cumulative. */
  dropped: number;
  queueDepth: number;
  spoolBytes: number;
  /** Last poll result per device: true ok, false failed, absent not polled yet. */
  devices: Record<string, boolean>;
}

export interface TalkerRow {
  by: string;
  talker: string;
  bytes: number;
  packets: number;
}

export interface InterfaceRow {
  device: string;
  ifName: string;
  inBps: number;
  outBps: number;
  /** Highest of in and out as a share of ifSpeed (0..1); undefined when the speed is unknown. */
  utilisation: number | undefined;
}

export interface HistoryView {
  stepMs: number;
  points: HistoryPoint[];
  /** Interval start (Unix ms) of the newest complete talker table, and its rows by bytes. */
  talkers: { at: number; rows: TalkerRow[] } | null;
  interfaces: InterfaceRow[];
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0);

export class History {
  readonly capacity: number;
  private readonly ring: (HistoryPoint | undefined)[];
  private next = 0;
  private size = 0;
  /** interval start -> rows, oldest first (Map keeps insertion order). */
  private readonly talkers = new Map<number, TalkerRow[]>();
  private readonly ifaces = new Map<string, InterfaceRow>();

  constructor(readonly stepMs: number) {
    this.capacity = Math.ceil(SPAN_MS / stepMs);
    this.ring = new Array<HistoryPoint | undefined>(this.capacity);
  }

  /** Called for every enriched record: only flow_top and SNMP interface rates are kept. */
  observe(r: NetRecord): void {
    if (r.measurement === 'flow_top') {
      const talker = r.tags.talker;
      if (talker === undefined || talker === 'other') return;
      let rows = this.talkers.get(r.time);
      if (!rows) {
        rows = [];
        this.talkers.set(r.time, rows);
        for (const k of this.talkers.keys()) if (this.talkers.size > KEEP_INTERVALS) this.talkers.delete(k);
      }
      if (rows.length < MAX_ROWS) rows.push({ by: r.tags.by ?? '', talker, bytes: num(r.fields.bytes), packets: num(r.fields.packets) });
    } else if (r.measurement === 'interface' && r.tags.source === 'snmp' && r.fields.in_bps !== undefined) {
      const device = r.tags.device ?? r.tags.agent ?? '';
      const ifName = r.tags.if_name ?? `ifIndex ${r.tags.if_index ?? '?'}`;
      const key = `${device}\u0000${ifName}`;
      if (!this.ifaces.has(key) && this.ifaces.size >= MAX_ROWS * 8) return;
      const inBps = num(r.fields.in_bps);
      const outBps = num(r.fields.out_bps);
      const speed = num(r.fields.speed);
      this.ifaces.set(key, { device, ifName, inBps, outBps, utilisation: speed > 0 ? Math.max(inBps, outBps) / speed : undefined });
    }
  }

  sample(v: StatusView, now = Date.now()): void {
    const exporters: Record<string, ExporterPoint> = {};
    const busiest = [...(v.flow?.exporters ?? [])].sort((a, b) => b.records - a.records).slice(0, MAX_EXPORTERS);
    for (const e of busiest) {
      exporters[e.exporter] = { datagrams: e.datagrams, records: e.records, errors: Object.values(e.errors).reduce((a, b) => a + b, 0), lost: e.loss?.lost ?? 0 };
    }
    const devices: Record<string, boolean> = {};
    for (const d of (v.snmp?.devices ?? []).slice(0, MAX_DEVICES)) if (d.last_poll) devices[d.name] = d.last_poll.ok;
    this.ring[this.next] = {
      t: now,
      level: v.verdict.level,
      reasons: v.verdict.reasons,
      exporters,
      dropped: v.pipeline.droppedQueueFull + v.sinks.reduce((a, s) => a + s.stats.lostPoints, 0),
      queueDepth: v.pipeline.queueDepth,
      spoolBytes: v.sinks.reduce((a, s) => a + (s.stats.spoolBytes ?? 0), 0),
      devices,
    };
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  view(now = Date.now()): HistoryView {
    const points: HistoryPoint[] = [];
    for (let i = 0; i < this.size; i++) {
      const p = this.ring[(this.next - this.size + i + this.capacity) % this.capacity];
      if (p && now - p.t <= SPAN_MS) points.push(p);
    }
    // records of one flush pass enrichment batch by batch: a table may grow while it is shown
    const newest = [...this.talkers.entries()].at(-1);
    return {
      stepMs: this.stepMs,
      points,
      talkers: newest ? { at: newest[0], rows: [...newest[1]].sort((a, b) => b.bytes - a.bytes) } : null,
      interfaces: [...this.ifaces.values()].sort((a, b) => b.inBps + b.outBps - (a.inBps + a.outBps)),
    };
  }
}
