/**
 * The read-only status page: one self-contained HTML document (inline CSS and SVG, no script, no
 * external asset), refreshed by a meta tag; the last hour's charts come from live.ts. Exporter names, device names and SNMP errors come from the network
 * or the inventory, so every value goes through `esc` — the template literals below never interpolate
 * anything else.
 */
import { esc } from './charts.js';
import type { HistoryView } from './history.js';
import { renderLive, LIVE_CSS } from './live.js';
import type { StatusView } from './view.js';
import { renderXcheck } from '../xcheck/view.js';

export { esc };

/** Rows beyond this are summarized: a page with 10,000 exporters would help nobody. */
const MAX_ROWS = 500;

function table(headers: readonly string[], rows: readonly (readonly unknown[])[], empty: string): string {
  if (rows.length === 0) return `<p class="empty">${esc(empty)}</p>`;
  const shown = rows.slice(0, MAX_ROWS);
  const more = rows.length > MAX_ROWS ? `<p class="empty">${esc(rows.length - MAX_ROWS)} more not shown; see /status.json</p>` : '';
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${shown
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>${more}`;
}

function bytes(n: number | undefined): string {
  if (n === undefined) return '-';
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** Lost of expected sequence units (flows, packets, records or datagrams: per protocol). */
function loss(l: { received: number; lost: number } | undefined): string {
  if (!l) return '-';
  const all = l.received + l.lost;
  return all === 0 ? '0' : `${l.lost} of ${all} (${((100 * l.lost) / all).toFixed(2)} %)`;
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d2329;background:#fafbfc}
h1{font-size:20px;margin:0 0 .3em}h2{font-size:16px;margin:1.4em 0 .4em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.2em 0}th,td{padding:3px 10px;border:1px solid #d0d7de;text-align:left}
th{background:#eef1f4}td{font-variant-numeric:tabular-nums}.empty{color:#57606a;font-style:italic}
.v{display:inline-block;padding:2px 10px;border-radius:4px;font-weight:600;color:#fff}
.ok{background:#1a7f37}.degraded{background:#bf8700}.untrusted{background:#cf222e}
.meta{color:#57606a}dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:.3em 0}dt{color:#57606a}dd{margin:0}`;

export function renderPage(v: StatusView, refreshSeconds = 10, history?: HistoryView): string {
  const verdictClass = ['ok', 'degraded', 'untrusted'][v.verdict.level] ?? 'untrusted';
  const p = v.pipeline;
  const flow = v.flow;
  const snmp = v.snmp;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="${esc(refreshSeconds)}">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>netvigil status</title><style>${CSS}
${LIVE_CSS}</style></head>
<body>
<h1>netvigil</h1>
<p class="meta">as of ${esc(v.time)} · ${v.ready ? 'ready' : 'NOT READY'} · collectors: ${esc(v.collectors.join(', ') || 'none')} · <a href="/status.json">status.json</a> · <a href="/metrics">metrics</a></p>

${history ? renderLive(history) : ''}

<h2>VM trust verdict</h2>
<p id="verdict"><span class="v ${verdictClass}">${esc(v.verdict.verdict)}</span> since ${esc(v.verdict.since)}${
    v.verdict.reasons.length ? ` · reasons: ${esc(v.verdict.reasons.join(', '))}` : ''
  }</p>
<dl>${['steal_pct', 'loop_stall_ms', 'clock_drift_ms', 'socket_drops', 'proc_cpu_pct']
    .filter((k) => v.signals[k] !== undefined)
    .map((k) => `<dt>${esc(k)}</dt><dd>${esc(Math.round((v.signals[k] ?? 0) * 100) / 100)}</dd>`)
    .join('')}</dl>

<h2>Pipeline</h2>
<dl id="pipeline"><dt>queue depth</dt><dd>${esc(p.queueDepth)} of ${esc(p.queueCapacity)} (high water ${esc(p.queueHighWater)})</dd>
<dt>dropped (queue full)</dt><dd>${esc(p.droppedQueueFull)}</dd><dt>records out</dt><dd>${esc(p.recordsOut)} in ${esc(p.batches)} batches</dd></dl>

<h2>Sinks</h2>
<div id="sinks">${table(
    ['sink', 'ready', 'points', 'retries', 'rejected', 'lost', 'spool', 'spool batches', 'spool evicted points'],
    v.sinks.map((s) => [s.name, s.ready ? 'yes' : 'NO', s.stats.points, s.stats.retries, s.stats.rejectedPoints, s.stats.lostPoints, bytes(s.stats.spoolBytes), s.stats.spoolBatches ?? '-', s.stats.spoolDroppedPoints ?? '-']),
    'no sink is enabled',
  )}</div>

<h2>Flow exporters</h2>
<div id="exporters">${
    flow
      ? `<p class="meta">templates held: <span id="templates">${esc(flow.templates?.templates ?? 0)}</span> · listening on ${esc(flow.listeners.map((l) => `${l.address}:${l.port}`).join(', '))}</p>` +
        table(
          ['exporter', 'last seen', 'datagrams', 'records', 'sequence loss', 'decode errors'],
          flow.exporters.map((e) => [
            e.exporter,
            e.last_seen_ms ? new Date(e.last_seen_ms).toISOString() : '-',
            e.datagrams,
            e.records,
            loss(e.loss),
            Object.entries(e.errors).map(([r, n]) => `${r}: ${n}`).join(', ') || '0',
          ]),
          'no datagrams received yet',
        )
      : '<p class="empty">the flow collector is not running</p>'
  }</div>

<h2>SNMP devices</h2>
<div id="devices">${
    snmp
      ? table(
          ['device', 'address', 'last poll', 'result', 'duration', 'values', 'failures in a row'],
          snmp.devices.map((d) => [
            d.name,
            d.address,
            d.last_poll?.at ?? 'not yet',
            d.last_poll ? (d.last_poll.ok ? 'ok' : `failed: ${d.last_poll.error ?? `${d.last_poll.timeouts} timeouts, ${d.last_poll.errors} errors`}`) : '-',
            d.last_poll ? `${d.last_poll.duration_ms} ms` : '-',
            d.last_poll?.values ?? '-',
            d.consecutive_failures,
          ]),
          'the inventory lists no device for this shard',
        )
      : '<p class="empty">the snmp collector is not running</p>'
  }</div>

${renderXcheck(v.xcheck)}
<h2>Interface names learned</h2>
<div id="interfaces">${table(
    ['device', 'from SNMP', 'from flow options'],
    v.interfaces.map((i) => [i.device, i.snmp, i.flow]),
    'none yet',
  )}</div>
</body></html>
`;
}
