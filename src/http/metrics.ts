/**
 * /metrics: one prom-client Registry per App (never the global default registry, so two Apps in one
 * process do not share series), followed by the process's own metrics (process-metrics.ts). Values
 * are read on scrape from the same snapshot as the status page; nothing runs between scrapes.
 *
 * Label sets stay bounded: exporters past MAX_EXPORTER_LABELS (first come, kept for the process's
 * life) are summed under exporter="other"; reasons and devices are capped the same way.
 * Collector counters restart from zero when a collector is restarted by a reload; `Monotonic` carries
 * the old total forward so every counter we expose only grows.
 * Units follow the Prometheus naming guide: seconds, bytes, ratios 0..1, Unix time as
 * `_timestamp_seconds`, counters end in `_total` (`promtool check metrics` passes on the output).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { SinkState } from '../sinks/sink.js';
import { packageVersion } from '../version.js';
import { busReceiverMetrics } from './bus-metrics.js';
import { exporterClockMetrics } from './exporter-metrics.js';
import { processMetricsText } from './process-metrics.js';
import { buildView, type OpsSource, type StatusView } from './view.js';
import { xcheckSamples } from '../xcheck/view.js';

export const MAX_EXPORTER_LABELS = 200;
export const MAX_REASON_LABELS = 32;
export const MAX_DEVICE_LABELS = 2000;
const OTHER = 'other';
const SINK_STATES: readonly SinkState[] = ['ok', 'unavailable', 'unauthorized', 'not_found'];

/**
 * Key monitor signals: last-sample field -> metric name, help, and the factor to base units (the
 * monitor's records keep % and ms for InfluxDB). Fixed, so the set is bounded. Our own CPU and memory
 * are prom-client's process_cpu_seconds_total and process_resident_memory_bytes.
 */
const SIGNALS: readonly [field: string, metric: string, help: string, scale: number][] = [
  ['steal_pct', 'netvigil_vm_steal_ratio', 'CPU steal over the last monitor interval, share of all CPU time', 0.01],
  ['loop_stall_ms', 'netvigil_vm_loop_stall_seconds', 'worst event-loop or sampling-timer lateness in the last interval', 0.001],
  ['clock_drift_ms', 'netvigil_vm_clock_drift_seconds', 'wall clock minus monotonic clock movement over the last interval', 0.001],
  ['socket_drops', 'netvigil_vm_socket_drops', 'kernel drops on our UDP sockets in the last interval', 1],
  ['psi_memory_pct', 'netvigil_vm_memory_pressure_ratio', 'PSI memory some, share of the last interval', 0.01],
  ['psi_io_pct', 'netvigil_vm_io_pressure_ratio', 'PSI io some, share of the last interval', 0.01],
  ['exporter_offset_ms', 'netvigil_vm_exporter_clock_offset_seconds', 'median exporter clock offset', 0.001],
];

/** Keeps a counter monotonic across resets of its source (collector restarts). */
class Monotonic {
  private readonly last = new Map<string, { raw: number; base: number }>();
  value(key: string, raw: number): number {
    const e = this.last.get(key);
    if (!e) {
      this.last.set(key, { raw, base: 0 });
      return raw;
    }
    if (raw < e.raw) e.base += e.raw;
    e.raw = raw;
    return e.base + raw;
  }
}

/** First-come admission of label values up to a cap; the rest share `other`. */
class LabelCap {
  private readonly admitted = new Set<string>();
  constructor(private readonly cap: number) {}
  label(v: string): string {
    if (this.admitted.has(v)) return v;
    if (this.admitted.size >= this.cap) return OTHER;
    this.admitted.add(v);
    return v;
  }
  seen(): IterableIterator<string> {
    return this.admitted.values();
  }
}

type Labels = Record<string, string>;
type Sample = [labels: Labels, value: number];

export class Metrics {
  readonly registry = new Registry();
  /** Name, type and label names of every registered metric (the README's table is checked against it). */
  readonly catalog: { name: string; type: 'gauge' | 'counter'; labels: readonly string[] }[] = [];
  private readonly mono = new Monotonic();
  private readonly exporters = new LabelCap(MAX_EXPORTER_LABELS);
  private readonly reasons = new LabelCap(MAX_REASON_LABELS);
  private readonly decodeReasons = new LabelCap(MAX_REASON_LABELS);
  private readonly devices = new LabelCap(MAX_DEVICE_LABELS);
  /** Filled at the start of each scrape; every metric's collect() reads it. */
  private view: StatusView | undefined;

  constructor(private readonly src: OpsSource) {
    const p = (): StatusView['pipeline'] => this.snapshot().pipeline;
    const version = packageVersion();
    this.gauge('netvigil_build_info', 'always 1; the running version as a label', ['version'], () => [[{ version }, 1]]);
    this.gauge('netvigil_ready', 'every sink is reachable or spooling within its bounds (1) or not (0)', [], () => [[{}, this.snapshot().ready ? 1 : 0]]);
    this.gauge('netvigil_queue_depth', 'records waiting in the pipeline queue', [], () => [[{}, p().queueDepth]]);
    this.gauge('netvigil_queue_capacity', 'pipeline queue size', [], () => [[{}, p().queueCapacity]]);
    this.gauge('netvigil_queue_high_water', 'deepest the queue has been since start', [], () => [[{}, p().queueHighWater]]);
    this.counter('netvigil_records_dropped_total', 'records dropped by the pipeline, by reason', ['reason'], () => [
      [{ reason: 'queue_full' }, p().droppedQueueFull],
      [{ reason: 'after_stop' }, p().droppedAfterStop],
      [{ reason: 'at_stop' }, p().droppedAtStop],
    ]);
    this.counter('netvigil_records_in_total', 'records received from each collector', ['collector'], () => Object.entries(p().collectors).map(([c, v]) => [{ collector: c }, v.records]));
    this.counter('netvigil_collector_errors_total', 'errors reported by each collector', ['collector'], () => Object.entries(p().collectors).map(([c, v]) => [{ collector: c }, v.errors]));
    this.counter('netvigil_records_out_total', 'records handed to the sinks', [], () => [[{}, p().recordsOut]]);
    this.counter('netvigil_batches_total', 'batches handed to the sinks', [], () => [[{}, p().batches]]);
    this.counter('netvigil_sink_failed_batches_total', 'batches a sink failed to accept', [], () => [[{}, p().sinkFailures]]);
    this.sinkMetrics();
    this.verdictMetrics();
    this.collectorMetrics();
    busReceiverMetrics(this.counter.bind(this), this.gauge.bind(this), () => this.snapshot().bus);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async render(): Promise<string> {
    this.view = buildView(this.src);
    try {
      const [own, proc] = await Promise.all([this.registry.metrics(), processMetricsText()]);
      return own + proc;
    } finally {
      this.view = undefined;
    }
  }

  private snapshot(): StatusView {
    this.view ??= buildView(this.src);
    return this.view;
  }

  private gauge(name: string, help: string, labelNames: string[], read: () => Sample[]): void {
    this.catalog.push({ name, type: 'gauge', labels: labelNames });
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [l, v] of read()) this.set(l, v);
      },
    });
  }

  private counter(name: string, help: string, labelNames: string[], read: () => Sample[]): void {
    this.catalog.push({ name, type: 'counter', labels: labelNames });
    const mono = this.mono;
    new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        // `other` sums several sources: add them up before making the total monotonic
        const sums = new Map<string, [Labels, number]>();
        for (const [l, v] of read()) {
          const key = JSON.stringify(l);
          const cur = sums.get(key);
          sums.set(key, [l, (cur?.[1] ?? 0) + v]);
        }
        for (const [key, [l, v]] of sums) this.inc(l, mono.value(`${name}${key}`, v));
      },
    });
  }

  private sinkMetrics(): void {
    const sinks = (): StatusView['sinks'] => this.snapshot().sinks;
    const each = (f: (s: StatusView['sinks'][number]) => number | undefined) => (): Sample[] =>
      sinks().flatMap((s) => {
        const v = f(s);
        return v === undefined ? [] : [[{ sink: s.name }, v] as Sample];
      });
    this.gauge('netvigil_sink_ready', 'sink reachable or spooling within its bounds', ['sink'], each((s) => (s.ready ? 1 : 0)));
    this.counter('netvigil_sink_points_total', 'points written', ['sink'], each((s) => s.stats.points));
    this.counter('netvigil_sink_batches_total', 'batches written', ['sink'], each((s) => s.stats.batches));
    this.counter('netvigil_sink_retries_total', 'failed attempts that are retried', ['sink'], each((s) => s.stats.retries));
    this.counter('netvigil_sink_write_errors_total', 'failed writes', ['sink'], each((s) => s.stats.writeErrors));
    this.counter('netvigil_sink_rejected_points_total', 'points the destination refused as bad data', ['sink'], each((s) => s.stats.rejectedPoints));
    this.counter('netvigil_sink_lost_points_total', 'points that could not be written at all', ['sink'], each((s) => s.stats.lostPoints));
    this.counter('netvigil_sink_spool_dropped_points_total', 'points evicted from the spool by its bounds', ['sink'], each((s) => s.stats.spoolDroppedPoints));
    this.gauge('netvigil_sink_spool_bytes', 'bytes in the disk spool', ['sink'], each((s) => s.stats.spoolBytes));
    this.gauge('netvigil_sink_spool_batches', 'batches in the disk spool', ['sink'], each((s) => s.stats.spoolBatches));
    this.counter('netvigil_sink_spool_corrupt_points_total', 'points of spooled batches found truncated or corrupt at replay', ['sink'], each((s) => s.stats.spoolCorruptPoints));
    this.gauge('netvigil_sink_spool_disk_full', "the spool's disk refused the last write for lack of space (1) or not (0)", ['sink'], each((s) => (s.stats.spoolDiskFull === undefined ? undefined : s.stats.spoolDiskFull ? 1 : 0)));
    // a mean latency is rate(seconds_total) / rate(writes_total); a summary type cannot be fed totals
    this.counter('netvigil_sink_write_seconds_total', 'time spent in successful writes', ['sink'], each((s) => s.stats.latencySumMs / 1000));
    this.counter('netvigil_sink_writes_total', 'successful writes timed', ['sink'], each((s) => s.stats.latencyCount));
    this.gauge('netvigil_sink_write_latency_max_seconds', 'slowest write in the current telemetry window', ['sink'], each((s) => s.stats.windowMaxLatencyMs / 1000));
    this.counter('netvigil_sink_clamped_values_total', 'integer values outside the written type, written as its bound', ['sink'], each((s) => s.stats.clampedValues));
    this.counter('netvigil_sink_admin_denied_total', 'CREATE DATABASE / RETENTION POLICY refused for lack of permission', ['sink'], each((s) => s.stats.adminDenied));
    // every state is a series (1 for the one in force) so an alert on state="unauthorized" sees it clear
    this.gauge('netvigil_sink_state', 'delivery state of the sink (1 for the state in force)', ['sink', 'state'], () =>
      sinks().flatMap((s) => (s.stats.state === undefined ? [] : SINK_STATES.map((st): Sample => [{ sink: s.name, state: st }, s.stats.state === st ? 1 : 0]))),
    );
    this.counter('netvigil_sink_write_failures_total', 'failed write attempts by kind (a retried spooled batch counts again)', ['sink', 'kind'], () =>
      sinks().flatMap((s) => Object.entries(s.stats.failures ?? {}).map(([kind, n]): Sample => [{ sink: s.name, kind }, n])),
    );
    this.counter('netvigil_sink_rejected_points_by_cause_total', 'points the destination refused, by measurement, field and reason', ['sink', 'measurement', 'field', 'reason'], () =>
      sinks().flatMap((s) => (s.stats.rejected ?? []).map((r): Sample => [{ sink: s.name, measurement: r.measurement, field: r.field, reason: r.reason }, r.points])),
    );
  }

  private verdictMetrics(): void {
    const v = (): StatusView['verdict'] => this.snapshot().verdict;
    this.gauge('netvigil_vm_verdict', 'VM trust verdict: 0 ok, 1 degraded, 2 untrusted', [], () => [[{}, v().level]]);
    this.gauge('netvigil_vm_verdict_since_timestamp_seconds', 'when the current verdict began (Unix time)', [], () => [[{}, Date.parse(v().since) / 1000]]);
    // every reason seen stays as a series (0 when not in force), so a dashboard sees it clear
    this.gauge('netvigil_vm_verdict_reason', 'reason of the current verdict (1) or a past one (0)', ['reason'], () => {
      const now = new Set(v().reasons.map((r) => this.reasons.label(r)));
      return [...this.reasons.seen(), ...(now.has(OTHER) ? [OTHER] : [])].map((r) => [{ reason: r }, now.has(r) ? 1 : 0]);
    });
    this.counter('netvigil_vm_monitor_samples_total', 'monitor samples taken', [], () => [[{}, this.snapshot().monitor.ticks]]);
    for (const [field, name, help, scale] of SIGNALS) {
      this.gauge(name, help, [], () => {
        const x = this.snapshot().signals[field];
        return x === undefined ? [] : [[{}, x * scale]];
      });
    }
  }

  private collectorMetrics(): void {
    const flow = (): NonNullable<StatusView['flow']>['exporters'] => this.snapshot().flow?.exporters ?? [];
    this.counter('netvigil_flow_datagrams_total', 'datagrams received per exporter', ['exporter'], () => flow().map((e) => [{ exporter: this.exporters.label(e.exporter) }, e.datagrams]));
    this.counter('netvigil_flow_records_total', 'flow records decoded per exporter', ['exporter'], () => flow().map((e) => [{ exporter: this.exporters.label(e.exporter) }, e.records]));
    this.counter('netvigil_flow_decode_errors_total', 'datagrams that failed to decode, per exporter and reason', ['exporter', 'reason'], () =>
      flow().flatMap((e) => Object.entries(e.errors).map(([r, n]): Sample => [{ exporter: this.exporters.label(e.exporter), reason: this.decodeReasons.label(r) }, n])),
    );
    // present (0) from an exporter's first datagram, so increase() sees its first error; the
    // per-reason series above only appear with one
    this.counter('netvigil_flow_exporter_errors_total', 'decode errors of any reason, per exporter', ['exporter'], () =>
      flow().map((e): Sample => [{ exporter: this.exporters.label(e.exporter) }, Object.values(e.errors).reduce((a, n) => a + n, 0)]),
    );
    this.counter('netvigil_flow_sequence_received_total', 'units the sequence numbers account for: v5 flows, v9 packets, IPFIX records, sFlow datagrams', ['exporter'], () =>
      flow().flatMap((e) => (e.loss ? [[{ exporter: this.exporters.label(e.exporter) }, e.loss.received] as Sample] : [])),
    );
    this.counter('netvigil_flow_sequence_lost_total', 'units the sequence numbers say never arrived (same units)', ['exporter'], () =>
      flow().flatMap((e) => (e.loss ? [[{ exporter: this.exporters.label(e.exporter) }, e.loss.lost] as Sample] : [])),
    );
    this.counter('netvigil_flow_sequence_reordered_total', 'datagrams that arrived after a later one and filled a gap (not lost)', ['exporter'], () =>
      flow().flatMap((e) => (e.loss?.reordered === undefined ? [] : [[{ exporter: this.exporters.label(e.exporter) }, e.loss.reordered] as Sample])),
    );
    this.counter('netvigil_flow_sequence_duplicated_total', 'datagrams whose units had already arrived', ['exporter'], () =>
      flow().flatMap((e) => (e.loss?.duplicates === undefined ? [] : [[{ exporter: this.exporters.label(e.exporter) }, e.loss.duplicates] as Sample])),
    );
    exporterClockMetrics(this.gauge.bind(this), flow, (e) => this.exporters.label(e));
    this.gauge('netvigil_flow_loss_ratio', 'lost / (received + lost) over the saved loss state (continues across restarts)', ['exporter'], () => {
      // from sums, so `other` is the loss of all the exporters it holds together
      const sums = new Map<string, { received: number; lost: number }>();
      for (const e of flow()) {
        if (!e.loss) continue;
        const l = this.exporters.label(e.exporter);
        const t = sums.get(l) ?? { received: 0, lost: 0 };
        sums.set(l, { received: t.received + e.loss.received, lost: t.lost + e.loss.lost });
      }
      return [...sums].map(([l, t]): Sample => [{ exporter: l }, t.received + t.lost > 0 ? t.lost / (t.received + t.lost) : 0]);
    });
    this.counter('netvigil_flow_sampling_unknown_total', 'flows that came with no sampling rate and matched no configured one: scaled by 1', ['exporter'], () =>
      flow().flatMap((e) => (e.sampling ? [[{ exporter: this.exporters.label(e.exporter) }, e.sampling.unknown] as Sample] : [])),
    );
    this.counter('netvigil_flow_sampling_defaulted_total', 'flows that came with no sampling rate and got collectors.flow.sampling.default', ['exporter'], () =>
      flow().flatMap((e) => (e.sampling ? [[{ exporter: this.exporters.label(e.exporter) }, e.sampling.default] as Sample] : [])),
    );
    this.gauge('netvigil_flow_last_seen_timestamp_seconds', 'when the last datagram arrived (Unix time)', ['exporter'], () => {
      const last = new Map<string, number>();
      for (const e of flow()) {
        if (!e.last_seen_ms) continue;
        const l = this.exporters.label(e.exporter);
        last.set(l, Math.max(last.get(l) ?? 0, e.last_seen_ms / 1000));
      }
      return [...last].map(([l, t]): Sample => [{ exporter: l }, t]);
    });
    this.gauge('netvigil_flow_exporters', 'exporters seen since the flow collector started', [], () => (this.snapshot().flow ? [[{}, flow().length]] : []));
    this.gauge('netvigil_flow_templates', 'NetFlow v9/IPFIX templates held', [], () => {
      const t = this.snapshot().flow?.templates;
      return t ? [[{}, t.templates]] : [];
    });
    const xc = () => xcheckSamples(this.snapshot().xcheck, (d) => this.devices.label(d));
    this.gauge('netvigil_xcheck_findings', 'flow-vs-SNMP findings in force, by likeliest cause', ['cause'], () => xc().findings);
    this.gauge('netvigil_xcheck_ratio', 'flow bytes / SNMP octets of the last judged window, per interface and direction', ['device', 'if_index', 'direction'], () => xc().ratios);
    this.counter('netvigil_xcheck_windows_total', 'flow windows judged against SNMP', [], () => xc().windows);
    const devs = (): NonNullable<StatusView['snmp']>['devices'] => this.snapshot().snmp?.devices ?? [];
    const perDevice = (f: (d: ReturnType<typeof devs>[number]) => number | undefined) => (): Sample[] =>
      devs().flatMap((d) => {
        const x = f(d);
        return x === undefined ? [] : [[{ device: this.devices.label(d.name) }, x] as Sample];
      });
    this.gauge('netvigil_snmp_last_poll_timestamp_seconds', 'start of the last finished poll (Unix time)', ['device'], perDevice((d) => (d.last_poll ? Date.parse(d.last_poll.at) / 1000 : undefined)));
    this.gauge('netvigil_snmp_last_poll_duration_seconds', 'duration of the last poll', ['device'], perDevice((d) => (d.last_poll ? d.last_poll.duration_ms / 1000 : undefined)));
    this.gauge('netvigil_snmp_last_poll_success', 'last poll answered without error (1) or not (0)', ['device'], perDevice((d) => (d.last_poll ? (d.last_poll.ok ? 1 : 0) : undefined)));
    this.gauge('netvigil_snmp_consecutive_failures', 'polls failed in a row', ['device'], perDevice((d) => d.consecutive_failures));
    this.counter('netvigil_snmptrap_received_total', 'traps and informs received', [], () => {
      const t = this.snapshot().snmptrap;
      return t ? [[{}, t.received]] : [];
    });
    this.counter('netvigil_snmptrap_rejected_total', 'notifications refused, by reason (not_allowed, unknown_community, malformed, ...)', ['reason'], () =>
      Object.entries(this.snapshot().snmptrap?.rejected ?? {}).map(([reason, n]) => [{ reason }, n] as Sample),
    );
  }
}
