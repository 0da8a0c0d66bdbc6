/**
 * Loss accounting moves with a bus partition (README "Scale-out", src/bus/exporter-state.ts). At
 * each commit a processor saves the loss streams of the exporters each of its partitions carries,
 * as of the partition's last committed message; the processor that takes the partition next is
 * given the messages right after that one, so it continues each stream exactly where the saved
 * state stops: its first datagram is measured against the old owner's expectation (no false gap,
 * a real one is counted) and `received`/`lost` go on from the old owner's totals.
 */
import type { PartitionState } from '../../src/collector.js';
import type { LossTracker, Stream } from './loss.js';
import { lossState, parseLossState, type LossState } from './losspersist.js';

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
