/**
 * The "last hour" part of the status page, drawn from the History ring: ingest and loss per
 * exporter, the verdict timeline with its reasons, spool and queue depth, SNMP device health, and
 * the top talkers and interfaces of the newest aggregation interval. Rates are differences of
 * neighbouring snapshots; a counter that went down (a collector restarted by a reload) gives no
 * point for that step rather than a negative rate.
 */
import { bandChart, esc, fmtNum, lineChart, segments, type Series } from './charts.js';
import { SPAN_MS, type HistoryPoint, type HistoryView } from './history.js';

const VERDICTS = ['ok', 'degraded', 'untrusted'] as const;
const TOP = 10;
const MAX_BANDS = 20;

export const LIVE_CSS = `.charts{display:flex;flex-wrap:wrap;gap:10px 18px}.chart{margin:0;background:#fff;border:1px solid #d0d7de;padding:6px 8px}
figcaption{font-weight:600;margin-bottom:2px}svg text{font:10px system-ui,sans-serif;fill:#57606a}.axis{stroke:#8c959f}.grid{stroke:#eaeef2}
.legend{list-style:none;margin:2px 0 0;padding:0;font-size:12px;max-width:520px;display:flex;flex-wrap:wrap;gap:0 12px}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}rect.ok{fill:#1a7f37}rect.degraded{fill:#d4a72c}
rect.untrusted,rect.down{fill:#cf222e}rect.unknown{fill:#d0d7de}.tables{display:flex;flex-wrap:wrap;gap:0 24px}`;

/** Per-step rate of a cumulative value, per second; undefined where the value is missing or fell. */
function rate(points: readonly HistoryPoint[], get: (p: HistoryPoint) => number | undefined): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1] as HistoryPoint;
    const b = points[i] as HistoryPoint;
    const va = get(a);
    const vb = get(b);
    if (va === undefined || vb === undefined || vb < va || b.t <= a.t) continue;
    out.push([b.t, ((vb - va) * 1000) / (b.t - a.t)]);
  }
  return out;
}

function exporterNames(points: readonly HistoryPoint[]): string[] {
  const last = new Map<string, number>();
  for (const p of points) for (const [e, c] of Object.entries(p.exporters)) last.set(e, c.records);
  return [...last.entries()].sort((a, b) => b[1] - a[1]).map(([e]) => e).slice(0, 8);
}

function verdictChanges(points: readonly HistoryPoint[]): string {
  const rows: string[] = [];
  let prev = '';
  for (const p of points) {
    const key = `${p.level}|${p.reasons.join(',')}`;
    if (key === prev) continue;
    prev = key;
    rows.push(`<li><time>${esc(new Date(p.t).toISOString().slice(11, 19))}</time> <strong>${esc(VERDICTS[p.level] ?? 'untrusted')}</strong>${p.reasons.length ? `: ${esc(p.reasons.join(', '))}` : ''}</li>`);
  }
  return `<ul id="verdict-changes" class="legend">${rows.slice(-8).join('')}</ul>`;
}

function talkerTable(h: HistoryView, by: string, title: string): string {
  const rows = (h.talkers?.rows ?? []).filter((r) => r.by === by).slice(0, TOP);
  const total = rows.reduce((a, r) => a + r.bytes, 0);
  const body = rows.map((r) => `<tr><td>${esc(r.talker)}</td><td>${esc(r.bytes)}</td><td>${esc(r.packets)}</td><td>${esc(total ? ((100 * r.bytes) / total).toFixed(1) : '0')} %</td></tr>`).join('');
  return `<div><h3>${esc(title)}</h3>${rows.length ? `<table id="talkers-${esc(by)}"><thead><tr><th>address</th><th>bytes</th><th>packets</th><th>share of rows shown</th></tr></thead><tbody>${body}</tbody></table>` : '<p class="empty">no interval closed yet</p>'}</div>`;
}

function interfaceTable(h: HistoryView): string {
  const rows = h.interfaces.slice(0, TOP);
  if (rows.length === 0) return '<div><h3>Top interfaces (SNMP)</h3><p class="empty">no interface rates yet (two polls make a rate)</p></div>';
  const body = rows
    .map((r) => `<tr><td>${esc(r.device)}</td><td>${esc(r.ifName)}</td><td>${esc(fmtNum(r.inBps))}</td><td>${esc(fmtNum(r.outBps))}</td><td>${esc(r.utilisation === undefined ? '-' : `${(100 * r.utilisation).toFixed(2)} %`)}</td></tr>`)
    .join('');
  return `<div><h3>Top interfaces (SNMP)</h3><table id="top-interfaces"><thead><tr><th>device</th><th>interface</th><th>in bit/s</th><th>out bit/s</th><th>utilisation</th></tr></thead><tbody>${body}</tbody></table></div>`;
}

export function renderLive(h: HistoryView, now = Date.now()): string {
  const pts = h.points;
  const first = pts[0]?.t ?? now;
  // a collector started minutes ago gets its minutes spread over the width, not squeezed to the right
  const t0 = Math.max(now - SPAN_MS, Math.min(first - h.stepMs, now - 60_000));
  const names = exporterNames(pts);
  const newest = pts.at(-1);
  const ingest: Series[] = names.map((e) => ({ name: e, points: rate(pts, (p) => p.exporters[e]?.records), note: `${newest?.exporters[e]?.records ?? 0} records since start` }));
  const loss: Series[] = [
    ...names.map((e) => ({ name: `${e} lost + decode errors`, points: rate(pts, (p) => (p.exporters[e] ? p.exporters[e].lost + p.exporters[e].errors : undefined)) })),
    { name: 'pipeline drops + sink lost', points: rate(pts, (p) => p.dropped) },
  ];
  const verdict = bandChart('verdict-timeline', 'VM trust verdict', [{ name: 'verdict', segs: segments(pts.map((p) => ({ t: p.t, v: p })), now, (p) => VERDICTS[p.level] ?? 'untrusted', (p) => `${VERDICTS[p.level] ?? '?'}${p.reasons.length ? `: ${p.reasons.join(', ')}` : ''}`) }], t0, now);
  const devNames = [...new Set(pts.flatMap((p) => Object.keys(p.devices)))].slice(0, MAX_BANDS);
  const devices = devNames.length
    ? bandChart('device-health', 'SNMP device health (last poll result)', devNames.map((d) => ({ name: d, segs: segments(pts.map((p) => ({ t: p.t, v: p.devices[d] })), now, (v) => (v === undefined ? 'unknown' : v ? 'ok' : 'down'), (v) => `${d}: ${v === undefined ? 'not polled yet' : v ? 'ok' : 'failed'}`) })), t0, now)
    : '';
  return `<h2>Last hour <span class="meta">(a point every ${esc(h.stepMs / 1000)} s, ${esc(pts.length)} points; the page reloads itself)</span></h2>
<div class="charts">
${lineChart('ingest', 'Flow records per second, by exporter', 'rec/s', ingest, t0, now)}
${lineChart('drops', 'Loss per second: sequence gaps and decode errors per exporter, pipeline and sink drops', '/s', loss, t0, now)}
<div>${verdict}${verdictChanges(pts)}</div>
${lineChart('spool', 'Spool on disk (all sinks)', 'bytes', [{ name: 'spool', points: pts.map((p) => [p.t, p.spoolBytes] as const) }], t0, now)}
${lineChart('queue', 'Pipeline queue depth', 'records', [{ name: 'queue', points: pts.map((p) => [p.t, p.queueDepth] as const) }], t0, now)}
${devices}
</div>
<div class="tables">${talkerTable(h, 'src_addr', 'Top source talkers')}${talkerTable(h, 'dst_addr', 'Top destination talkers')}${interfaceTable(h)}</div>
${h.talkers ? `<p class="meta" id="talkers-at">talkers of the interval starting ${esc(new Date(h.talkers.at).toISOString())}</p>` : ''}`;
}
