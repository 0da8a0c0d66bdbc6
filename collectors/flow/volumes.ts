/**
 * Per-interval volumes per exporter (`flow_volume`) and per exporter interface (`flow_if`), whatever
 * the configured dimensions: what the flow-vs-SNMP cross-check (src/xcheck/) compares with
 * ifHCIn/OutOctets, and where the loss correction (loss-ratio.ts) and the flows without a known
 * sampling rate (sampling.ts) are written next to the measured, sampling-scaled volumes.
 *
 * A flow counts toward its `in_if` as input and its `out_if` as output (RFC 3954 §8 INPUT_SNMP /
 * OUTPUT_SNMP); an ifIndex of 0 (unknown, or a probe that knows one direction only) is not an
 * interface and is left out of `flow_if`, though the flow counts in `flow_volume`.
 */
import { makeRecord, type Fields, type HealthRecord } from '../../src/record/record.js';
import type { FlowView } from './view.js';
import { corrected, MAX_RATIO, type ExporterLoss } from './loss-ratio.js';
import { RateSource } from './sampling.js';

interface IfSum {
  inBytes: number;
  inPackets: number;
  inFlows: number;
  outBytes: number;
  outPackets: number;
  outFlows: number;
  /** Unscaled and scaled bytes of the flows that touched the interface (once per flow): scaled / raw is the byte-weighted rate used. */
  raw: number;
  scaled: number;
  unknown: number;
}

interface ExporterSum {
  bytes: number;
  packets: number;
  flows: number;
  raw: number;
  bySource: [number, number, number, number, number];
  ifs: Map<number, IfSum>;
}

/** One worker's tallies since its last drain (workers.ts): structured-cloneable, added with `merge`. */
export type VolumeSums = [string, Omit<ExporterSum, 'ifs'>, [number, IfSum][]][];

const newIf = (): IfSum => ({ inBytes: 0, inPackets: 0, inFlows: 0, outBytes: 0, outPackets: 0, outFlows: 0, raw: 0, scaled: 0, unknown: 0 });
const int = (n: number): bigint => BigInt(Math.round(n));

export class IntervalVolumes {
  private exporters = new Map<string, ExporterSum>();
  private ifCount = 0;
  /** Interfaces refused by `maxInterfaces` (their flows still count in `flow_volume`), cumulative. */
  overflowed = 0;

  constructor(private readonly maxInterfaces = 50_000) {}

  private ifSum(e: ExporterSum, ifIndex: unknown): IfSum | undefined {
    if (typeof ifIndex !== 'number' || ifIndex <= 0) return undefined;
    let s = e.ifs.get(ifIndex);
    if (s) return s;
    if (this.ifCount >= this.maxInterfaces) {
      this.overflowed++;
      return undefined;
    }
    this.ifCount++;
    e.ifs.set(ifIndex, (s = newIf()));
    return s;
  }

  /** One flow, after sampling.ts set its rate. */
  add(k: FlowView, src: RateSource): void {
    const exporter = k.exporter;
    let e = this.exporters.get(exporter);
    if (!e) this.exporters.set(exporter, (e = { bytes: 0, packets: 0, flows: 0, raw: 0, bySource: [0, 0, 0, 0, 0], ifs: new Map() }));
    const bytes = k.bytes * k.rate;
    const packets = k.packets * k.rate;
    e.bytes += bytes;
    e.packets += packets;
    e.flows++;
    e.raw += k.bytes;
    e.bySource[src]++;
    const unknown = src === RateSource.Unknown ? 1 : 0;
    const i = this.ifSum(e, k.inIf);
    if (i) {
      i.inBytes += bytes;
      i.inPackets += packets;
      i.inFlows++;
      i.raw += k.bytes;
      i.scaled += bytes;
      i.unknown += unknown;
    }
    const o = this.ifSum(e, k.outIf);
    if (o) {
      o.outBytes += bytes;
      o.outPackets += packets;
      o.outFlows++;
      if (o !== i) {
        o.raw += k.bytes;
        o.scaled += bytes;
        o.unknown += unknown;
      }
    }
  }

  /** The tallies so far, for the main thread (a worker's part of the interval); they are reset. */
  take(): VolumeSums {
    const out: VolumeSums = [];
    for (const [exporter, { ifs, ...e }] of this.exporters) out.push([exporter, e, [...ifs]]);
    this.exporters = new Map();
    this.ifCount = 0;
    return out;
  }

  /** Adds a worker's tallies (`take`); an exporter's state is in one worker, so its sums are added as they are. */
  merge(sums: VolumeSums): void {
    for (const [exporter, m, ifs] of sums) {
      let e = this.exporters.get(exporter);
      if (!e) this.exporters.set(exporter, (e = { bytes: 0, packets: 0, flows: 0, raw: 0, bySource: [0, 0, 0, 0, 0], ifs: new Map() }));
      e.bytes += m.bytes;
      e.packets += m.packets;
      e.flows += m.flows;
      e.raw += m.raw;
      for (let i = 0; i < 5; i++) e.bySource[i] = (e.bySource[i] as number) + (m.bySource[i] as number);
      for (const [ifIndex, v] of ifs) {
        const s = this.ifSum(e, ifIndex);
        if (!s) continue;
        for (const k of Object.keys(v) as (keyof IfSum)[]) s[k] += v[k];
      }
    }
  }

  /**
   * The interval's records, stamped with its label; the flows are those that arrived from
   * `since` (the previous flush, Unix ms) to `until` (now): timers fire late under load, so the
   * window is what the tallies really covered, not the nominal interval. `loss` (per exporter,
   * loss-ratio.ts) adds the ratio and the corrected volumes. The tallies are reset.
   */
  flush(start: number, since: number, until: number, collector: string, loss: ReadonlyMap<string, ExporterLoss>): HealthRecord[] {
    const windowMs = Math.max(0, until - since);
    const out: HealthRecord[] = [];
    // exporters that lost datagrams but delivered no flow at all still get their row
    for (const [exporter, l] of loss) {
      if (!this.exporters.has(exporter) && (l.seqLost > 0 || l.socketDrops > 0)) this.exporters.set(exporter, { bytes: 0, packets: 0, flows: 0, raw: 0, bySource: [0, 0, 0, 0, 0], ifs: new Map() });
    }
    for (const [exporter, e] of this.exporters) {
      const l = loss.get(exporter);
      const ratio = l?.ratio ?? 0;
      const f: Fields = {
        bytes: int(e.bytes),
        packets: int(e.packets),
        flows: int(e.flows),
        window_ms: int(windowMs),
        window_start_ms: int(since),
        sampling_unknown_flows: int(e.bySource[RateSource.Unknown]),
        sampling_defaulted_flows: int(e.bySource[RateSource.Default]),
        sampling_overridden_flows: int(e.bySource[RateSource.Override] + e.bySource[RateSource.Configured]),
        loss_ratio: ratio,
      };
      if (e.raw > 0) f.sampling_rate = e.bytes / e.raw;
      if (l) {
        f.seq_lost = int(l.seqLost);
        f.seq_received = int(l.seqReceived);
        f.socket_drops = l.socketDrops;
      }
      if (ratio <= MAX_RATIO) {
        f.bytes_corrected = int(corrected(e.bytes, ratio));
        f.packets_corrected = int(corrected(e.packets, ratio));
      }
      out.push(makeRecord('health', 'flow_volume', { collector, exporter }, f, start, 'collector'));
      for (const [ifIndex, s] of e.ifs) {
        const g: Fields = {
          in_bytes: int(s.inBytes),
          out_bytes: int(s.outBytes),
          in_packets: int(s.inPackets),
          out_packets: int(s.outPackets),
          in_flows: int(s.inFlows),
          out_flows: int(s.outFlows),
          window_ms: int(windowMs),
          window_start_ms: int(since),
          sampling_unknown_flows: int(s.unknown),
          loss_ratio: ratio,
        };
        if (s.raw > 0) g.sampling_rate = s.scaled / s.raw;
        if (l) g.socket_drops = l.socketDrops;
        if (ratio > 0 && ratio <= MAX_RATIO) {
          g.in_bytes_corrected = int(corrected(s.inBytes, ratio));
          g.out_bytes_corrected = int(corrected(s.outBytes, ratio));
        }
        out.push(makeRecord('health', 'flow_if', { collector, exporter, if_index: String(ifIndex) }, g, start, 'collector'));
      }
    }
    this.exporters = new Map();
    this.ifCount = 0;
    return out;
  }
}
