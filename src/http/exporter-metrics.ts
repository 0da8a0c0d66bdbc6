/**
 * Per-exporter clock gauges for /metrics (collectors/flow/timestamps.ts): offset, delay quantiles
 * (receive time - export time: the exporter's clock and the data path's queuing), jitter and the
 * clock flow times are read on. Exporters past the label cap share `other`, which has no single
 * clock: they are left out here.
 */
import type { StatusView } from './view.js';

type Sample = [labels: Record<string, string>, value: number];
type Gauge = (name: string, help: string, labelNames: string[], read: () => Sample[]) => void;
type Exporters = NonNullable<StatusView['flow']>['exporters'];

export function exporterClockMetrics(gauge: Gauge, flow: () => Exporters, label: (exporter: string) => string): void {
  const each = (f: (c: NonNullable<Exporters[number]['clock']>, l: string) => Sample[]) => (): Sample[] =>
    flow().flatMap((e) => {
      const l = label(e.exporter);
      return e.clock && l !== 'other' ? f(e.clock, l) : [];
    });
  gauge('netvigil_flow_exporter_clock_offset_seconds', 'exporter clock minus ours: -median(receive time - export time) over its last 256 datagrams', ['exporter'], each((c, l) => [[{ exporter: l }, c.offsetMs / 1000]]));
  // two gauges, not a `quantile` label: that label belongs to summaries (promtool refuses it elsewhere);
  // the tail is the 99th percentile
  gauge('netvigil_flow_exporter_delay_median_seconds', 'median receive time - export time over the exporter\'s last 256 datagrams (IPFIX: +-0.5 s, whole-second export times)', ['exporter'], each((c, l) => [[{ exporter: l }, c.delayP50Ms / 1000]]));
  gauge('netvigil_flow_exporter_delay_tail_seconds', '99th percentile of receive time - export time over the exporter\'s last 256 datagrams', ['exporter'], each((c, l) => [[{ exporter: l }, c.delayP99Ms / 1000]]));
  gauge('netvigil_flow_exporter_jitter_seconds', 'p99 - p50 of receive time - export time', ['exporter'], each((c, l) => [[{ exporter: l }, c.jitterMs / 1000]]));
  gauge('netvigil_flow_exporter_time_source', 'clock the exporter\'s flow times are read on (1) per timestamps policy', ['exporter', 'source'], each((c, l) => [
    [{ exporter: l, source: 'exporter' }, c.source === 'exporter' ? 1 : 0],
    [{ exporter: l, source: 'receive' }, c.source === 'receive' ? 1 : 0],
  ]));
}
