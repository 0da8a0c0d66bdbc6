/**
 * Per-exporter clock: how far the exporter's clock is from ours, how much that moves (the data
 * path's queuing), and which clock a flow's start/end times are read on.
 *
 * Every NetFlow v5/v9 and IPFIX header carries the exporter's wall clock at export (RFC 3954 §5.1
 * `UNIX Secs`, RFC 7011 §3.1 `Export Time`); flow times are read against it (v5/v9 through
 * `sysUptime`, IPFIX absolute times directly). An exporter whose clock is off moves every flow by
 * that much. The `timestamps` policy says per exporter which clock wins:
 *   exporter  flow times as the exporter wrote them (`time_source=exporter`)
 *   receive   re-anchored on our receive time: shifted by (receive time - export time) of the
 *             datagram that carried them, so durations and ages stay the exporter's
 *   auto      exporter until at least half of the last DECIDE datagrams are off by more than
 *             `max_offset`; then receive until fewer than half are off by half of it or more
 *             (kept as counts of recent datagrams beyond each bound: no sort per datagram)
 * sFlow carries no wall clock: its samples are already stamped on receive.
 *
 * The delay (receive time - export time) of the last RING datagrams gives the offset (-p50) and
 * the jitter (p99 - p50). IPFIX and v9 export times are whole seconds: v9's `sysUptime` (ms)
 * recovers the fraction (the boot instant in exporter time is the largest `secs*1000 - uptime`
 * seen); IPFIX times are taken at the middle of their second, so its delays carry +-500 ms.
 */
import type { FlowRecord } from '../../src/record/record.js';

export type TimestampMode = 'exporter' | 'receive' | 'auto';
export type TimeSource = 'exporter' | 'receive';

export interface TimestampConfig {
  default: TimestampMode;
  /** Milliseconds of |offset| beyond which `auto` re-anchors on receive time. */
  max_offset: number;
  /** Per exporter address: overrides `default`. */
  exporters: Record<string, TimestampMode>;
}

export interface ClockStats {
  /** Exporter clock minus ours: -p50 of the delays. */
  offsetMs: number;
  /** Receive time - export time, median and 99th percentile over the last RING datagrams. */
  delayP50Ms: number;
  delayP99Ms: number;
  jitterMs: number;
  samples: number;
  source: TimeSource;
}

/**
 * Datagrams the delay quantiles are taken over. Float32 (1 KB per exporter, 10 MB at the default
 * `max_exporters`): 0.25 ms steps at an hour of offset, finer than any export time.
 */
/** An exporter's clock as a bus partition carries it (ExporterClocks.save). */
export interface ClockState {
  bootMs: number | null;
  source: TimeSource;
  delays: number[];
}

const RING = 256;
/** Datagrams the `auto` decision reads: recent enough to follow a step, enough to outvote one late datagram. */
const DECIDE = 16;

interface ExporterClock {
  delays: Float32Array;
  n: number;
  /** v9: the exporter's boot instant on its own clock, ms; NaN until seen. */
  bootMs: number;
  /** Receive time - export time of the datagram being processed. */
  shift: number;
  source: TimeSource;
  /** Of the last DECIDE delays: how many are beyond `max_offset`, and at or beyond half of it. */
  over: number;
  near: number;
}

export class ExporterClocks {
  private readonly clocks = new Map<string, ExporterClock>();
  private readonly recent = new Float32Array(DECIDE);

  constructor(
    private cfg: TimestampConfig,
    private readonly maxExporters: number,
    /** A change of an `auto` exporter's time source. */
    private readonly onSwitch: (exporter: string, source: TimeSource, offsetMs: number) => void,
  ) {}

  configure(cfg: TimestampConfig): void {
    this.cfg = cfg;
    for (const [e, c] of this.clocks) {
      if (this.mode(e) !== 'auto') c.source = this.mode(e) === 'receive' ? 'receive' : 'exporter';
      c.over = c.near = 0;
      for (let i = Math.max(0, c.n - DECIDE); i < c.n; i++) this.count(c, c.delays[i % RING] as number, 1);
    }
  }

  private count(c: ExporterClock, d: number, by: 1 | -1): void {
    const a = Math.abs(d);
    if (a > this.cfg.max_offset) c.over += by;
    if (a >= this.cfg.max_offset / 2) c.near += by;
  }

  private mode(exporter: string): TimestampMode {
    return this.cfg.exporters[exporter] ?? this.cfg.default;
  }

  /** v9 export time in ms from the header's whole seconds and its uptime (see above). */
  v9ExportMs(exporter: string, unixSecs: number, uptimeMs: number): number {
    const c = this.clock(exporter);
    const secMs = unixSecs * 1000;
    if (!c) return secMs;
    const boot = secMs - uptimeMs;
    // a lower value by more than the truncation is the exporter's clock stepped back (or a reboot)
    if (Number.isNaN(c.bootMs) || boot > c.bootMs || boot < c.bootMs - 1000) c.bootMs = boot;
    return c.bootMs + uptimeMs;
  }

  /** One datagram: its export time on the exporter's clock and our receive time (Unix ms). */
  observe(exporter: string, exportMs: number, recvMs: number): void {
    const c = this.clock(exporter);
    if (!c) return;
    c.shift = recvMs - exportMs;
    if (c.n >= DECIDE) this.count(c, c.delays[(c.n - DECIDE) % RING] as number, -1);
    c.delays[c.n % RING] = c.shift;
    this.count(c, c.delays[c.n % RING] as number, 1); // as stored (float32), so it leaves as it came
    c.n++;
    this.decide(exporter, c);
  }

  private decide(exporter: string, c: ExporterClock): void {
    const mode = this.mode(exporter);
    if (mode !== 'auto') {
      c.source = mode;
      return;
    }
    // evidence: at least half of the last k delays beyond the bound (an upper median)
    const k = Math.min(c.n, DECIDE);
    const next: TimeSource = (c.source === 'exporter' ? c.over : c.near) * 2 >= k ? 'receive' : 'exporter';
    if (next === c.source) return;
    c.source = next;
    for (let i = 0; i < k; i++) this.recent[i] = c.delays[(c.n - 1 - i) % RING] as number;
    this.onSwitch(exporter, next, -quantile(this.recent.subarray(0, k).sort(), 0.5));
  }

  private clock(exporter: string): ExporterClock | undefined {
    let c = this.clocks.get(exporter);
    if (!c) {
      if (this.clocks.size >= this.maxExporters) return undefined;
      const mode = this.mode(exporter);
      c = { delays: new Float32Array(RING), n: 0, bootMs: NaN, shift: 0, source: mode === 'receive' ? 'receive' : 'exporter', over: 0, near: 0 };
      this.clocks.set(exporter, c);
    }
    return c;
  }

  /**
   * The hook where a flow's start/end are fixed: re-anchors a flow Record of the datagram being
   * processed on receive time when its exporter's source says so, and names the source. In place.
   */
  stamp(r: FlowRecord, exporter: string): FlowRecord {
    const c = this.clocks.get(exporter);
    if (!c || c.source === 'exporter') {
      r.fields['time_source'] = 'exporter';
      return r;
    }
    const shift = Math.round(c.shift);
    const f = r.fields;
    if (typeof f['start_ms'] === 'bigint') f['start_ms'] += BigInt(shift);
    if (typeof f['end_ms'] === 'bigint') f['end_ms'] += BigInt(shift);
    if (r.timeSource === 'exporter') {
      r.time += shift;
      r.timeSource = 'collector'; // now on our clock: the verdict window may start at it
    }
    f['time_source'] = 'receive';
    return r;
  }

  /**
   * What decides an exporter's raw flow times, for a bus partition's next owner (handoff.ts): the
   * v9 boot instant, the source and the last DECIDE delays, so the same datagram is stamped alike
   * by either (older delays only feed the reported quantiles, which start again from these).
   */
  save(exporter: string): ClockState | undefined {
    const c = this.clocks.get(exporter);
    if (!c) return undefined;
    const delays: number[] = [];
    for (let i = Math.max(0, c.n - DECIDE); i < c.n; i++) delays.push(c.delays[i % RING] as number);
    return { bootMs: Number.isNaN(c.bootMs) ? null : c.bootMs, source: c.source, delays };
  }

  restore(exporter: string, st: ClockState): void {
    this.clocks.delete(exporter);
    const c = this.clock(exporter);
    if (!c) return;
    c.bootMs = st.bootMs ?? NaN;
    c.source = st.source;
    for (const d of st.delays.slice(-DECIDE)) {
      c.delays[c.n++] = d;
      this.count(c, c.delays[c.n - 1] as number, 1);
    }
  }

  forget(which: (exporter: string) => boolean): void {
    for (const e of [...this.clocks.keys()]) if (which(e)) this.clocks.delete(e);
  }

  stats(exporter: string): ClockStats | undefined {
    const c = this.clocks.get(exporter);
    if (!c || c.n === 0) return undefined;
    const d = c.delays.slice(0, Math.min(c.n, RING)).sort();
    const p50 = quantile(d, 0.5);
    const p99 = quantile(d, 0.99);
    return { offsetMs: -p50, delayP50Ms: p50, delayP99Ms: p99, jitterMs: p99 - p50, samples: c.n, source: c.source };
  }
}

/** Nearest-rank quantile of sorted values (interpolation would invent delays no datagram had). */
function quantile(sorted: Float32Array | Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}
