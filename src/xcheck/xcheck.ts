/**
 * Flow-vs-SNMP cross-check (issue 16 item 1). For every interface that both the flow collector
 * (`flow_if`: sampling-scaled bytes per exporter interface and interval, collectors/flow/volumes.ts)
 * and SNMP polling (`interface` records: ifHCIn/OutOctets) cover, each flow interval's bytes are
 * compared with the octets SNMP counted over the same window (counters.ts interpolates the counters
 * at the window's edges). An exporter maps to a device by the inventory: the exporter address is the
 * device's polled address or one of its `flow_addresses` (the interface directory).
 *
 * Every judged window is an `xcheck` record; a direction out of [low, high] for `intervals` windows
 * in a row raises an `xcheck_finding` with its likeliest cause (cause.ts), logged, counted in
 * /metrics and listed on the status page; as many windows back in band clear it. An exporter that
 * went silent while SNMP still counts traffic on interfaces it used to cover raises
 * `exporter_missing`. The stage only reads records passing the enrichment step and never changes them.
 * On a bus the SNMP side comes from pollers elsewhere (`counters()`, fed by src/bus/ifcounters.ts).
 */
import type { InterfaceDirectory } from '../collector.js';
import type { Logger } from '../log.js';
import { makeRecord, type Fields, type HealthRecord, type NetRecord } from '../record/record.js';
import { likelyCause, type Cause, type Judged } from './cause.js';
import type { XcheckConfig } from './config.js';
import { CounterHistory } from './counters.js';

type Direction = 'in' | 'out';

interface FlowWindow {
  start: number;
  end: number;
  exporter: string;
  in: number;
  out: number;
  samplingRate: number;
  lossRatio: number;
  socketDrops: number;
  unknownFlows: number;
}

export interface Finding {
  device: string;
  exporter: string;
  if_index: string;
  direction: Direction | 'both';
  cause: Cause;
  ratio: number;
  since: string;
  message: string;
}

interface DirState {
  out: Judged[];
  back: number;
  finding: Finding | undefined;
}

interface Iface {
  device: string;
  ifIndex: string;
  snmp: CounterHistory;
  pending: FlowWindow[];
  /** Last flow window seen for the interface (covered = it has one). */
  lastFlow: FlowWindow | undefined;
  dirs: Record<Direction, DirState>;
  missing: Finding | undefined;
  last: { at: number; ratio_in: number; ratio_out: number } | undefined;
  /** Monotonic ms of the last SNMP poll or flow window for it: an interface gone quiet is forgotten. */
  seen: number;
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0);
const MAX_INTERFACES = 100_000;
/**
 * An interface neither polled nor covered by a flow window for this long is forgotten, so the table
 * follows the network (removed line cards, renumbered ifIndex after a reboot) instead of filling up
 * to MAX_INTERFACES and then ignoring new interfaces until a restart.
 */
const FORGET_AFTER_MS = 3_600_000;
const SWEEP_EVERY_MS = 60_000;

export class CrossCheck {
  private readonly ifaces = new Map<string, Iface>();
  private readonly queue: HealthRecord[] = [];
  private scheduled = false;
  /** Judged windows, flow windows from exporters no polled device has, windows dropped unjudged. */
  windows = 0;
  unmapped = 0;
  expired = 0;
  findingsRaised = 0;
  /** Interfaces forgotten after FORGET_AFTER_MS quiet; interfaces not tracked because the table was full. */
  forgotten = 0;
  untracked = 0;
  /** Interfaces no longer covered here because their exporter moved to another processor (bus). */
  released = 0;
  private sweptAt: number;
  private owns: (exporter: string) => boolean = () => true;

  constructor(
    private cfg: XcheckConfig,
    private readonly dir: InterfaceDirectory,
    private readonly emit: (r: HealthRecord) => void,
    private readonly log: Logger,
    /** Monotonic ms; a parameter so the forgetting can be tested without waiting an hour. */
    private readonly mono: () => number = () => performance.now(),
  ) {
    this.sweptAt = mono();
  }

  configure(cfg: XcheckConfig): void {
    this.cfg = cfg;
  }

  private iface(device: string, ifIndex: string): Iface | undefined {
    const key = `${device}|${ifIndex}`;
    let f = this.ifaces.get(key);
    const now = this.mono();
    if (now - this.sweptAt >= SWEEP_EVERY_MS) this.sweep(now);
    if (!f && this.ifaces.size >= MAX_INTERFACES) this.untracked++;
    else if (!f) {
      const dir = (): DirState => ({ out: [], back: 0, finding: undefined });
      f = { device, ifIndex, snmp: new CounterHistory(), pending: [], lastFlow: undefined, dirs: { in: dir(), out: dir() }, missing: undefined, last: undefined, seen: now };
      this.ifaces.set(key, f);
    }
    if (f) f.seen = now;
    return f;
  }

  /** Forgets quiet interfaces; their open findings are cleared (with a record), not left active forever. */
  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [key, f] of this.ifaces) {
      if (now - f.seen < FORGET_AFTER_MS) continue;
      for (const which of ['in', 'out', 'missing'] as const) this.clear(f, which, 'forgotten: no poll or flow window for an hour');
      this.ifaces.delete(key);
      this.forgotten++;
    }
  }

  /**
   * On a bus (src/bus/ifcounters.ts): which exporters' flows this process decodes. An interface
   * whose exporter's partition moved to another processor stops being judged here once its pending
   * windows are, and its findings are cleared (the new owner raises them again if they persist);
   * without this, the SNMP samples that keep coming would raise `exporter_missing` for it.
   */
  restrict(owns: (exporter: string) => boolean): void {
    this.owns = owns;
  }

  /** Every record after enrichment; only `interface` (SNMP) and `flow_if` are read. */
  observe(r: NetRecord): void {
    if (r.kind === 'interface' && r.tags.source === 'snmp') {
      const device = r.tags.device;
      const ifIndex = r.tags.if_index;
      const i = r.fields.in_octets;
      const o = r.fields.out_octets;
      if (device === undefined || ifIndex === undefined || typeof i !== 'bigint' || typeof o !== 'bigint') return;
      this.counters(device, ifIndex, r.time, Number(i), Number(o));
    } else if (r.kind === 'health' && r.measurement === 'flow_if') {
      const exporter = r.tags.exporter;
      const ifIndex = r.tags.if_index;
      if (exporter === undefined || ifIndex === undefined) return;
      const device = this.dir.deviceName(exporter);
      if (device === undefined) {
        this.unmapped++;
        return;
      }
      const f = this.iface(device, ifIndex);
      if (!f) return;
      const w: FlowWindow = {
        // the window the flows really arrived in (flow_if window_start_ms), else the nominal one
        start: r.fields.window_start_ms !== undefined ? num(r.fields.window_start_ms) : r.time,
        end: (r.fields.window_start_ms !== undefined ? num(r.fields.window_start_ms) : r.time) + num(r.fields.window_ms),
        exporter,
        in: num(r.fields.in_bytes),
        out: num(r.fields.out_bytes),
        samplingRate: num(r.fields.sampling_rate) || 1,
        lossRatio: num(r.fields.loss_ratio),
        socketDrops: num(r.fields.socket_drops),
        unknownFlows: num(r.fields.sampling_unknown_flows),
      };
      f.pending.push(w);
      f.lastFlow = w;
      if (f.missing) this.clear(f, 'missing');
      this.judge(f);
    }
  }

  /** One interface's octet counters at a poll (`t`: poll time, Unix ms): this process's SNMP records, or a poller's on the bus. */
  counters(device: string, ifIndex: string, t: number, inOctets: number, outOctets: number): void {
    const f = this.iface(device, ifIndex);
    if (!f) return;
    f.snmp.add({ t, in: inOctets, out: outOctets });
    // an interface no flow covered (yet) keeps only what its first flow window could need
    if (!f.lastFlow) f.snmp.trim(32);
    this.judge(f);
    if (f.lastFlow && !f.pending.length && !this.owns(f.lastFlow.exporter)) this.release(f);
    else this.checkMissing(f);
  }

  /** Its exporter is another processor's now: covered no more, findings cleared (with a record). */
  private release(f: Iface): void {
    for (const which of ['in', 'out', 'missing'] as const) this.clear(f, which, `moved: ${f.lastFlow?.exporter ?? ''} is decoded by another processor now`);
    f.dirs = { in: { out: [], back: 0, finding: undefined }, out: { out: [], back: 0, finding: undefined } };
    f.lastFlow = undefined;
    f.last = undefined;
    this.released++;
  }

  private judge(f: Iface): void {
    const newest = f.snmp.newest();
    const keep: FlowWindow[] = [];
    for (const w of f.pending) {
      if (w.end > newest) {
        if (Date.now() - w.end > this.cfg.max_wait) this.expired++;
        else keep.push(w);
        continue;
      }
      const d = f.snmp.delta(w.start, w.end);
      if (!d) {
        this.expired++; // SNMP started (or restarted) after the window began
        continue;
      }
      this.windows++;
      this.record(f, w, d);
    }
    f.pending = keep;
  }

  private record(f: Iface, w: FlowWindow, d: { in: number; out: number }): void {
    const min = this.cfg.min_octets;
    const rin = d.in > 0 ? w.in / d.in : NaN;
    const rout = d.out > 0 ? w.out / d.out : NaN;
    const fields: Fields = {
      flow_in_bytes: BigInt(Math.round(w.in)),
      flow_out_bytes: BigInt(Math.round(w.out)),
      snmp_in_octets: BigInt(Math.round(d.in)),
      snmp_out_octets: BigInt(Math.round(d.out)),
      window_s: (w.end - w.start) / 1000,
      sampling_rate: w.samplingRate,
      loss_ratio: w.lossRatio,
      socket_drops: w.socketDrops,
      sampling_unknown_flows: BigInt(w.unknownFlows),
    };
    if (!Number.isNaN(rin)) fields.ratio_in = rin;
    if (!Number.isNaN(rout)) fields.ratio_out = rout;
    this.push(makeRecord('health', 'xcheck', { device: f.device, exporter: w.exporter, if_index: f.ifIndex }, fields, w.start, 'collector'));
    f.last = { at: w.end, ratio_in: rin, ratio_out: rout };
    const judged = (ratio: number, other: number): Judged => ({ ratio, other, socketDrops: w.socketDrops, unknownFlows: w.unknownFlows, samplingRate: w.samplingRate });
    if (d.in >= min) this.track(f, 'in', judged(rin, d.out >= min ? rout : NaN), w);
    if (d.out >= min) this.track(f, 'out', judged(rout, d.in >= min ? rin : NaN), w);
  }

  private track(f: Iface, dir: Direction, j: Judged, w: FlowWindow): void {
    const s = f.dirs[dir];
    const n = this.cfg.intervals;
    if (j.ratio >= this.cfg.low && j.ratio <= this.cfg.high) {
      s.out = [];
      if (s.finding && ++s.back >= n) this.clear(f, dir);
      return;
    }
    s.back = 0;
    s.out.push(j);
    if (s.out.length > n) s.out.shift();
    if (s.out.length < n) return;
    const { cause, why } = likelyCause(s.out, this.cfg.low, this.cfg.high);
    // "unexplained" is provisional (the first windows of a traffic change are noisy): a later
    // run of windows that shows a cause replaces it
    if (s.finding && (s.finding.cause !== 'unexplained' || cause === 'unexplained')) return;
    if (s.finding) this.clear(f, dir);
    const ratio = s.out.reduce((a, x) => a + x.ratio, 0) / s.out.length;
    const st = f.dirs[dir];
    st.out = s.out;
    st.finding = { device: f.device, exporter: w.exporter, if_index: f.ifIndex, direction: dir, cause, ratio, since: new Date(w.end).toISOString(), message: why };
    this.raise(st.finding, w.end);
  }

  /** An exporter silent for `intervals` windows + 1 while SNMP still counts on an interface it covered. */
  private checkMissing(f: Iface): void {
    const last = f.lastFlow;
    if (!last || f.missing) return;
    const newest = f.snmp.newest();
    const span = Math.max(1000, last.end - last.start);
    if (newest - last.end < (this.cfg.intervals + 1) * span) return;
    const d = f.snmp.delta(last.end, newest);
    if (!d || Math.max(d.in, d.out) < this.cfg.min_octets) return;
    f.missing = {
      device: f.device, exporter: last.exporter, if_index: f.ifIndex, direction: 'both', cause: 'exporter_missing', ratio: 0,
      since: new Date(last.end).toISOString(),
      message: `no flows from ${last.exporter} for ${Math.round((newest - last.end) / 1000)} s while SNMP counted ${Math.round(d.in + d.out)} octets`,
    };
    this.raise(f.missing, newest);
  }

  private raise(x: Finding, at: number): void {
    this.findingsRaised++;
    this.log.warn({ ...x }, `flow/SNMP cross-check: ${x.device} ifIndex ${x.if_index} ${x.direction}: ${x.cause}: ${x.message}`);
    this.push(this.findingRecord(x, true, at));
  }

  private clear(f: Iface, which: Direction | 'missing', why = 'cleared'): void {
    const x = which === 'missing' ? f.missing : f.dirs[which].finding;
    if (!x) return;
    if (which === 'missing') f.missing = undefined;
    else f.dirs[which] = { out: [], back: 0, finding: undefined };
    this.log.info({ ...x }, `flow/SNMP cross-check: ${x.device} ifIndex ${x.if_index} ${x.direction}: ${x.cause} ${why}`);
    this.push(this.findingRecord(x, false, Date.now()));
  }

  private findingRecord(x: Finding, active: boolean, at: number): HealthRecord {
    const tags = { device: x.device, exporter: x.exporter, if_index: x.if_index, direction: x.direction, cause: x.cause };
    return makeRecord('health', 'xcheck_finding', tags, { active, level: BigInt(active ? 1 : 0), ratio: x.ratio, message: x.message }, at, 'collector');
  }

  /** Records are emitted after the enrichment step that delivered the input has returned. */
  private push(r: HealthRecord): void {
    this.queue.push(r);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      for (const q of this.queue.splice(0)) this.emit(q);
    });
  }

  findings(): Finding[] {
    const out: Finding[] = [];
    for (const f of this.ifaces.values()) {
      for (const x of [f.dirs.in.finding, f.dirs.out.finding, f.missing]) if (x) out.push(x);
    }
    return out;
  }

  status(): unknown {
    const last = [...this.ifaces.values()].filter((f) => f.last).slice(0, 100).map((f) => ({ device: f.device, if_index: f.ifIndex, ...f.last }));
    return { windows: this.windows, unmapped: this.unmapped, expired: this.expired, raised: this.findingsRaised, interfaces: this.ifaces.size, forgotten: this.forgotten, untracked: this.untracked, released: this.released, findings: this.findings(), last };
  }
}
