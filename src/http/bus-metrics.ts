/**
 * A bus receiver's delivery counters for /metrics (src/bus/receiver.ts): what it dropped, what it
 * spooled at a stop because the bus had not acknowledged it, and what it published from the spool
 * at start. Present only on an instance with the receiver role on a bus. The trap queue's
 * (src/bus/traps.ts): what a receiver dropped of it, what a processor decoded from it.
 */
import type { ReceiverStats } from '../bus/receiver.js';
import type { TrapConsumerStats } from '../bus/traps.js';

type Sample = [labels: Record<string, string>, value: number];
type Metric = (name: string, help: string, labelNames: string[], read: () => Sample[]) => void;

export function busReceiverMetrics(counter: Metric, gauge: Metric, bus: () => unknown): void {
  const rx = (f: (s: ReceiverStats) => number) => (): Sample[] => {
    const s = (bus() as { receiver?: ReceiverStats } | undefined)?.receiver;
    return s ? [[{}, f(s)]] : [];
  };
  counter('netvigil_bus_receiver_dropped_datagrams_total', 'datagrams a bus receiver dropped: over its buffer, or neither acknowledged nor spooled at a stop', [], rx((s) => s.droppedDatagrams));
  counter('netvigil_bus_receiver_spooled_datagrams_total', 'datagrams written to the bus spool at a stop deadline (seen in the stopping process\'s last telemetry)', [], rx((s) => s.spooledDatagrams));
  counter('netvigil_bus_receiver_replayed_datagrams_total', 'spooled datagrams of an earlier stop the bus acknowledged since start', [], rx((s) => s.replayedDatagrams));
  gauge('netvigil_bus_receiver_spool_pending_batches', 'batches in the bus spool not yet acknowledged (published before new batches)', [], rx((s) => s.spoolPending));
  counter('netvigil_bus_receiver_past_dup_window_total', 'batches acknowledged past the stream\'s duplicate window after an attempt that may have been stored: possibly on the stream twice', [], rx((s) => s.pastDupWindow));
  const traps = (): { receiver?: ReceiverStats; processor?: TrapConsumerStats } | undefined => (bus() as { traps?: { receiver?: ReceiverStats; processor?: TrapConsumerStats } } | undefined)?.traps;
  const trx = (): Sample[] => {
    const s = traps()?.receiver;
    return s ? [[{}, s.droppedDatagrams]] : [];
  };
  const tpx = (): Sample[] => {
    const s = traps()?.processor;
    return s ? [[{}, s.datagrams]] : [];
  };
  counter('netvigil_bus_trap_receiver_dropped_datagrams_total', 'trap datagrams a bus receiver dropped: over its trap buffer, or neither acknowledged nor spooled at a stop', [], trx);
  counter('netvigil_bus_trap_processor_datagrams_total', 'trap datagrams a processor took off the bus and decoded (its netvigil_snmptrap_received_total counts only its own socket)', [], tpx);
}
