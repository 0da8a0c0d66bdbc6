/**
 * prom-client's default metrics (process_*, nodejs_*) for /metrics. They describe the process, not
 * one App, and their collectors (a GC observer, an event-loop delay histogram) cannot be stopped: one
 * Registry per process, made on first use.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

let processRegistry: Registry | undefined;

/**
 * The nodejs_active_*_total gauges break the `_total`-is-a-counter rule (prometheus/client_js#283)
 * and are `sum without (type) (nodejs_active_handles)` and the like: left out.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) processRegistry.removeSingleMetric(name);
  }
  return processRegistry;
}

/**
 * prom-client's event-loop delay window is reset by every scrape; a window that holds no 10 ms
 * sample yet (scrapes close together, or the first one) reads min 9.2e9 s, max 0 and mean NaN.
 * Those gauges are left out of such a scrape: absent, like any value not known yet.
 */
function withoutEmptyLagWindow(text: string): string {
  if (!/^nodejs_eventloop_lag_mean_seconds(?:\{[^}\n]*\})? nan$/im.test(text)) return text;
  return text.replace(/^nodejs_eventloop_lag_(?:min|max|mean|stddev|p50|p90|p99)_seconds(?:\{[^}\n]*\})? \S+\n/gm, '');
}

/** The process's metrics in text format 0.0.4, to follow an App's own. */
export async function processMetricsText(): Promise<string> {
  return withoutEmptyLagWindow(await processMetrics().metrics());
}
