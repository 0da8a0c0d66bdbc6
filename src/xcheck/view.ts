/**
 * The cross-check's part of the status snapshot (parsed like the collectors' snapshots in
 * src/http/view.ts, so a shape that drifts drops the section instead of a scrape), its status page
 * section and its /metrics samples.
 */
import { z } from 'zod';
import { esc } from '../http/charts.js';

const finding = z.object({
  device: z.string(),
  exporter: z.string(),
  if_index: z.string(),
  direction: z.string(),
  cause: z.string(),
  ratio: z.number(),
  since: z.string(),
  message: z.string(),
});

export const xcheckStatus = z.object({
  windows: z.number(),
  unmapped: z.number(),
  expired: z.number(),
  raised: z.number(),
  interfaces: z.number(),
  findings: z.array(finding).catch([]),
  last: z.array(z.object({ device: z.string(), if_index: z.string(), at: z.number(), ratio_in: z.number().nullable().catch(null), ratio_out: z.number().nullable().catch(null) })).catch([]),
});
export type XcheckStatus = z.output<typeof xcheckStatus>;

export function parseXcheck(v: unknown): XcheckStatus | null {
  const r = xcheckStatus.safeParse(v);
  return r.success ? r.data : null;
}

const ratio = (x: number | null): string => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(3));

/** The status page section (every value through `esc`). */
export function renderXcheck(x: XcheckStatus | null | undefined): string {
  if (!x) return '';
  const rows = (cells: readonly unknown[][]): string => cells.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('');
  const head = (h: readonly string[]): string => `<thead><tr>${h.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>`;
  const findings = x.findings.length
    ? `<table>${head(['device', 'ifIndex', 'direction', 'cause', 'ratio', 'since', 'why'])}<tbody>${rows(x.findings.slice(0, 500).map((f) => [f.device, f.if_index, f.direction, f.cause, ratio(f.ratio), f.since, f.message]))}</tbody></table>`
    : '<p class="empty">no finding: every judged interface is within the band</p>';
  const last = x.last.length
    ? `<table>${head(['device', 'ifIndex', 'window end', 'flow/SNMP in', 'flow/SNMP out'])}<tbody>${rows(x.last.map((l) => [l.device, l.if_index, new Date(l.at).toISOString(), ratio(l.ratio_in), ratio(l.ratio_out)]))}</tbody></table>`
    : '<p class="empty">no interface judged yet (it needs flows from an exporter that is a polled device, and two SNMP polls around a flow interval)</p>';
  return `<h2>Flow vs SNMP</h2>
<div id="xcheck"><p class="meta">windows judged: ${esc(x.windows)} · interfaces: ${esc(x.interfaces)} · flow windows of unpolled exporters: ${esc(x.unmapped)} · dropped unjudged: ${esc(x.expired)}</p>
${findings}
${last}</div>
`;
}

type Sample = [labels: Record<string, string>, value: number];

/** /metrics samples: findings in force by cause, and the last ratio per interface and direction. */
export function xcheckSamples(x: XcheckStatus | null | undefined, device: (d: string) => string): { findings: Sample[]; ratios: Sample[]; windows: Sample[] } {
  if (!x) return { findings: [], ratios: [], windows: [] };
  const byCause = new Map<string, number>();
  for (const f of x.findings) byCause.set(f.cause, (byCause.get(f.cause) ?? 0) + 1);
  const ratios: Sample[] = [];
  for (const l of x.last) {
    if (l.ratio_in !== null && Number.isFinite(l.ratio_in)) ratios.push([{ device: device(l.device), if_index: l.if_index, direction: 'in' }, l.ratio_in]);
    if (l.ratio_out !== null && Number.isFinite(l.ratio_out)) ratios.push([{ device: device(l.device), if_index: l.if_index, direction: 'out' }, l.ratio_out]);
  }
  return { findings: [...byCause].map(([cause, n]) => [{ cause }, n]), ratios, windows: [[{}, x.windows]] };
}
