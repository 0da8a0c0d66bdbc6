/**
 * Loss-corrected volumes (issue 16 item 2). Per exporter and interval, two measurements of what
 * never reached the aggregator are combined into one loss ratio:
 *
 * - sequence gaps (loss.ts): units the exporter numbered that we never saw. They include datagrams
 *   lost on the network AND those our own socket dropped, since both were numbered;
 * - our socket drops (sockdrops.ts): datagrams the kernel dropped on our sockets. A dropped
 *   datagram's source is unknown, so an interval's drops are shared out over the exporters in
 *   proportion to the datagrams each had received in that interval (an estimate).
 *
 * The gaps already hold our drops, so the two are not added. What the volumes lose is flow records,
 * and how a lost unit converts to records depends on what the sequence counts:
 *
 * - records (IPFIX, NetFlow v5, and v9/IPFIX exporters learned to number records or flows): the gap
 *   growth in the interval IS the records lost, ours and the network's alike. A gap shows when the
 *   next datagram arrives, mostly in the same interval; one found an interval late moves the
 *   correction, not the run's sum (corrected - measured = bytes per record x records lost);
 * - datagrams (NetFlow v9 export packets, sFlow): a lost unit's records are unknown and are taken
 *   as the exporter's average per received datagram. pmacctd's nfprobe v9 sends bursts of 1 to 8
 *   flows per datagram each second (seen in a tshark capture), and a reader stalled 3.5 s of every
 *   5 s loses more of the small datagrams than of the flows: corrected volumes 1.17-1.42x SNMP's in
 *   test/xcheck-netns.test.ts as it was with a v9 probe (README "Flow vs SNMP cross-check"). Here our drops count at once (in
 *   the interval they happened) plus the growth of the gaps our drops do not explain (network
 *   loss); exporters without sequence numbers have our drops only.
 * Corrected = measured / (1 - ratio), never replacing the measured value; above MAX_RATIO nothing
 * is corrected (the estimate would be mostly guess).
 */
import type { FlowRecord, NetRecord } from '../../src/record/record.js';
import type { SeqTotals } from './loss.js';

export const MAX_RATIO = 0.9;

export interface ExporterLoss {
  /** Combined ratio used for the correction, 0..1. */
  ratio: number;
  /** Sequence units received / lost in the interval (all of the exporter's streams). */
  seqReceived: number;
  seqLost: number;
  /** This exporter's estimated share of our socket drops in the interval (datagrams). */
  socketDrops: number;
  datagrams: number;
}

export function combineLoss(seqReceived: number, seqLost: number, datagrams: number, drops: number): ExporterLoss {
  const seq = seqLost > 0 ? seqLost / (seqLost + seqReceived) : 0;
  const sock = drops > 0 ? drops / (drops + datagrams) : 0;
  return { ratio: Math.max(seq, sock), seqReceived, seqLost, socketDrops: drops, datagrams };
}

/** Measured volume scaled up by the ratio, rounded; the measured value when there is nothing to correct. */
export function corrected(measured: number, ratio: number): number {
  return ratio > 0 && ratio <= MAX_RATIO ? Math.round(measured / (1 - ratio)) : measured;
}

/**
 * Per-interval deltas of the cumulative counters the collector keeps (sequence totals and datagrams
 * per exporter, our sockets' drops), turned into one ExporterLoss per exporter.
 */
export class LossWindow {
  private prevSeq = new Map<string, { received: number; lost: number }>();
  private prevDgrams = new Map<string, number>();
  private prevDrops: number | undefined;
  /** Per exporter: our drops so far in sequence units, and the network loss already counted. */
  private ours = new Map<string, { drops: number; net: number }>();

  /** `restored`: totals restored since the last call (FlowProcessor.takeRestored), the baseline of their exporters. */
  next(seq: ReadonlyMap<string, SeqTotals>, datagrams: Map<string, number>, drops: number | undefined, restored?: Map<string, { received?: number; lost?: number; datagrams?: number }>): Map<string, ExporterLoss> {
    for (const [e, r] of restored ?? []) {
      // counted where they arrived (a bus partition's previous owner): not this interval's datagrams
      if (r.datagrams !== undefined) this.prevDgrams.set(e, r.datagrams);
      if (r.received === undefined || r.lost === undefined) continue;
      // what they lost before was counted where it happened: network loss already accounted for
      this.prevSeq.set(e, { received: r.received, lost: r.lost });
      this.ours.set(e, { drops: 0, net: r.lost });
    }
    const dDrops = drops !== undefined && this.prevDrops !== undefined ? Math.max(0, drops - this.prevDrops) : 0;
    if (drops !== undefined) this.prevDrops = drops;
    const dDgram = new Map<string, number>();
    let all = 0;
    for (const [e, n] of datagrams) {
      const d = Math.max(0, n - (this.prevDgrams.get(e) ?? 0));
      dDgram.set(e, d);
      all += d;
    }
    this.prevDgrams = new Map(datagrams);
    const out = new Map<string, ExporterLoss>();
    for (const [e, d] of dDgram) {
      const s = seq.get(e);
      const p = this.prevSeq.get(e);
      const rec = s ? Math.max(0, s.received - (p?.received ?? 0)) : 0;
      const lost = s ? Math.max(0, s.lost - (p?.lost ?? 0)) : 0;
      const share = all > 0 ? (dDrops * d) / all : 0;
      if (!s || s.received === 0) {
        out.set(e, combineLoss(0, 0, d, share));
        continue;
      }
      if (s.records) {
        const ratio = lost > 0 ? lost / (lost + rec) : 0;
        out.set(e, { ratio, seqReceived: rec, seqLost: lost, socketDrops: share, datagrams: d });
        continue;
      }
      // our drops in sequence units; what the gaps hold beyond them is network loss
      const perDgram = s.received / Math.max(1, datagrams.get(e) ?? 0);
      const o = this.ours.get(e) ?? { drops: 0, net: 0 };
      o.drops += share * perDgram;
      const net = Math.max(o.net, s.lost - o.drops);
      const dNet = net - o.net;
      o.net = net;
      this.ours.set(e, o);
      const units = share * perDgram + dNet;
      const ratio = units > 0 ? units / (units + rec) : 0;
      out.set(e, { ratio, seqReceived: rec, seqLost: lost, socketDrops: share, datagrams: d });
    }
    this.prevSeq = new Map([...seq].map(([e, s]) => [e, { ...s }]));
    // an exporter the collector no longer counts (evicted, forgotten) leaves this table too
    for (const e of this.ours.keys()) if (!datagrams.has(e)) this.ours.delete(e);
    return out;
  }
}

/**
 * Adds `loss_ratio`, `bytes_corrected` and `packets_corrected` to a `flow_agg` row whose exporter
 * lost something in the interval; rows without an exporter tag (not a dimension, "other") are left
 * as they are, since their exporters' ratios differ.
 */
export function correctAggregate<R extends NetRecord>(r: R, loss: ReadonlyMap<string, ExporterLoss>): R {
  if (r.kind !== 'flow' || r.measurement !== 'flow_agg') return r;
  const e = r.tags.exporter;
  const l = e === undefined ? undefined : loss.get(e);
  if (l && l.ratio > 0) addCorrected(r, l.ratio);
  return r;
}

function addCorrected(r: FlowRecord, ratio: number): void {
  const f = r.fields;
  f.loss_ratio = ratio;
  if (ratio > MAX_RATIO) return;
  if (typeof f.bytes === 'bigint') f.bytes_corrected = BigInt(corrected(Number(f.bytes), ratio));
  if (typeof f.packets === 'bigint') f.packets_corrected = BigInt(corrected(Number(f.packets), ratio));
}
