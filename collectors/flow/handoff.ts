/**
 * Per-exporter state moves with a bus partition (README "Scale-out", src/bus/exporter-state.ts). At
 * each commit a processor saves, for the exporters each of its partitions carries and as of the
 * partition's last committed message, the loss streams and the cumulative `flow_stats` counters;
 * the processor that takes the partition next is given the messages right after that one, so it
 * continues exactly where the saved state stops: its first datagram is measured against the old
 * owner's expectation (no false gap, a real one is counted), `received`/`lost` go on from the old
 * owner's totals, and `datagrams`, `records` and the decode errors by reason from its counters.
 *
 * With raw export, the raw points' `seq` counts go too (rawseq.ts), and what decides a raw flow's
 * time (the exporter's clock, timestamps.ts), so messages decoded again by the taker give the same
 * points.
 *
 * One document per partition: the loss state (losspersist.ts) plus `stats` and `raw`, keys older
 * processors ignore (and without which a newer one starts those counters at 0, as before).
 */
import { z } from 'zod';
import type { PartitionState } from '../../src/collector.js';
import type { LossTracker, Stream } from './loss.js';
import { lossState, parseLossState, type LossState } from './losspersist.js';
import type { FlowProcessor } from './processor.js';
import type { RawSeq } from './rawseq.js';

const count = z.number().int().nonnegative();
const clockSchema = z.object({ bootMs: z.number().nullable(), source: z.enum(['exporter', 'receive']), delays: z.array(z.number()) });
const statsSchema = z.array(z.object({ exporter: z.string(), datagrams: count, records: count, errors: z.record(z.string(), count), lastSeen: z.number(), clock: clockSchema.optional() }));
const rawSchema = z.array(z.object({ key: z.string(), newest: z.number(), floor: z.number().optional(), tag: z.string().optional(), ends: z.array(count), counts: z.array(count) }));
type Doc = LossState & { stats?: z.output<typeof statsSchema>; raw?: z.output<typeof rawSchema> };

/** Loss streams, `flow_stats` counters, raw `seq` counts: everything per exporter that moves with a partition. */
export function flowHandoff(processor: FlowProcessor, raw?: RawSeq): PartitionState {
  const loss = lossHandoff(processor.loss);
  raw?.onBus();
  return {
    save(partitionOf) {
      const now = Date.now();
      const out = loss.save(partitionOf) as Map<number, Doc>;
      const doc = (p: number): Doc => {
        let d = out.get(p);
        if (!d) out.set(p, (d = { v: 1, savedAt: now, streams: [] }));
        return d;
      };
      for (const exporter of processor.exporterNames()) {
        const p = partitionOf(exporter);
        const c = processor.counters(exporter);
        if (p !== undefined && c) (doc(p).stats ??= []).push({ exporter, ...c });
      }
      for (const [p, streams] of raw?.save(partitionOf, now) ?? []) doc(p).raw = streams;
      return out;
    },
    load(saved) {
      const exporters = new Set(loss.load(saved));
      const doc = saved as { stats?: unknown; raw?: unknown };
      const stats = statsSchema.safeParse(doc.stats ?? []);
      // what we counted for these exporters (we held them before) is older than the saved counters
      for (const { exporter, ...c } of stats.success ? stats.data : []) {
        processor.restoreCounters(exporter, c);
        exporters.add(exporter);
      }
      const streams = rawSchema.safeParse(doc.raw ?? []);
      for (const st of streams.success ? streams.data : []) {
        raw?.restore(st);
        exporters.add(st.key.slice(0, st.key.indexOf('|')));
      }
      return [...exporters];
    },
    forget(which) {
      loss.forget(which);
      processor.forgetCounters(which);
      raw?.forget(which);
    },
  };
}

/** The loss streams alone (the loss tracker's side of flowHandoff). */
export function lossHandoff(loss: LossTracker): PartitionState {
  return {
    save(partitionOf) {
      const now = Date.now();
      const out = new Map<number, LossState>();
      for (const s of lossState(loss, now).streams) {
        const p = partitionOf(s.exporter);
        if (p === undefined) continue;
        let st = out.get(p);
        if (!st) out.set(p, (st = { v: 1, savedAt: now, streams: [] }));
        st.streams.push(s);
      }
      return out;
    },
    load(saved) {
      const st = parseLossState(saved);
      const exporters = new Set(st.streams.map((s) => s.exporter));
      // what we knew of these exporters is older than the saved state (we held them before, or a
      // restart of ours read them from loss.json): the saved one replaces it
      loss.forget((e) => exporters.has(e));
      for (const s of st.streams) {
        const restored: Omit<Stream, 'children' | 'held' | 'preferred'> = { ...s };
        // zod's optional keys are `T | undefined`; the stream's are absent when unset
        for (const k of ['lostWhileDown', 'reordered', 'sample', 'numbering'] as const) if (restored[k] === undefined) delete restored[k];
        loss.restore(restored);
      }
      return [...exporters];
    },
    forget: (which) => loss.forget(which),
  };
}
