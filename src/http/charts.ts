/**
 * Inline SVG charts for the status page, drawn on the server: the page carries a CSP without any
 * script, works offline, and a browser without JavaScript shows the same picture. Every label that
 * may come from the network goes through `esc`; coordinates are numbers computed here.
 */
const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

export const PALETTE = ['#0969da', '#bf3989', '#1a7f37', '#bc4c00', '#8250df', '#0a7ea4', '#9a6700', '#cf222e'] as const;
const W = 520;
const H = 150;
const PAD = { l: 58, r: 8, t: 8, b: 22 };

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  /** Shown after the current value in the legend, e.g. a running total. */
  note?: string;
}

export function fmtNum(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (a >= 100 || Number.isInteger(n)) return String(Math.round(n));
  return n.toFixed(a >= 1 ? 1 : 2);
}

const hhmm = (t: number): string => new Date(t).toISOString().slice(11, 16);

/** Time axis: a tick every 10 minutes (every minute when the window is short), labelled in UTC. */
function timeAxis(t0: number, t1: number, x: (t: number) => number): string {
  const span = t1 - t0;
  const step = span > 20 * 60_000 ? 10 * 60_000 : span > 4 * 60_000 ? 60_000 : 15_000;
  let out = '';
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
    const px = x(t).toFixed(1);
    out += `<line x1="${px}" x2="${px}" y1="${PAD.t}" y2="${H - PAD.b}" class="grid"/><text x="${px}" y="${H - 6}" text-anchor="middle">${step < 60_000 ? new Date(t).toISOString().slice(11, 19) : hhmm(t)}</text>`;
  }
  return out;
}

/** A line chart over [t0, t1] with a zero-based y axis, its maximum labelled. */
export function lineChart(id: string, title: string, unit: string, series: readonly Series[], t0: number, t1: number): string {
  const span = Math.max(1, t1 - t0);
  const x = (t: number): number => PAD.l + ((t - t0) / span) * (W - PAD.l - PAD.r);
  const max = Math.max(0, ...series.flatMap((s) => s.points.map((p) => p[1])));
  const top = max > 0 ? max * 1.1 : 1;
  const y = (v: number): number => H - PAD.b - (v / top) * (H - PAD.t - PAD.b);
  const lines = series
    .map((s, i) => {
      if (s.points.length === 0) return '';
      const d = s.points.map((p, k) => `${k ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join('');
      return `<path d="${d}" stroke="${PALETTE[i % PALETTE.length]}" fill="none" stroke-width="1.6"/>`;
    })
    .join('');
  const legend = series
    .map((s, i) => {
      const last = s.points.at(-1)?.[1];
      return `<li><span class="sw" style="background:${PALETTE[i % PALETTE.length]}"></span>${esc(s.name)}: <strong>${esc(last === undefined ? '-' : fmtNum(last))}</strong> ${esc(unit)} now${s.note ? ` · ${esc(s.note)}` : ''}</li>`;
    })
    .join('');
  return `<figure id="${esc(id)}" class="chart"><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">
<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${H - PAD.b}" y2="${H - PAD.b}" class="axis"/><line x1="${PAD.l}" x2="${PAD.l}" y1="${PAD.t}" y2="${H - PAD.b}" class="axis"/>
${timeAxis(t0, t1, x)}<text x="${PAD.l - 4}" y="${PAD.t + 10}" text-anchor="end">${esc(fmtNum(top))}</text><text x="${PAD.l - 4}" y="${H - PAD.b}" text-anchor="end">0</text>${lines}</svg>
<ul class="legend">${legend || '<li class="empty">no data yet</li>'}</ul></figure>`;
}

export interface Segment {
  t0: number;
  t1: number;
  cls: string;
  title: string;
}

/** Horizontal state bands (one row per name), e.g. the verdict or each device's poll result. */
export function bandChart(id: string, title: string, rows: readonly { name: string; segs: readonly Segment[] }[], t0: number, t1: number): string {
  const rowH = 18;
  const h = PAD.t + rows.length * (rowH + 4) + PAD.b;
  const span = Math.max(1, t1 - t0);
  const x = (t: number): number => PAD.l + ((t - t0) / span) * (W - PAD.l - PAD.r);
  const body = rows
    .map((r, i) => {
      const yy = PAD.t + i * (rowH + 4);
      const segs = r.segs
        .map((s) => `<rect x="${x(s.t0).toFixed(1)}" y="${yy}" width="${Math.max(1, x(s.t1) - x(s.t0)).toFixed(1)}" height="${rowH}" class="${esc(s.cls)}"><title>${esc(s.title)}</title></rect>`)
        .join('');
      return `<text x="${PAD.l - 4}" y="${yy + 13}" text-anchor="end">${esc(r.name.length > 9 ? `${r.name.slice(0, 8)}…` : r.name)}</text>${segs}`;
    })
    .join('');
  const axis = timeAxis(t0, t1, x).replace(/y2="\d+(\.\d+)?"/g, `y2="${h - PAD.b}"`).replace(/y="\d+(\.\d+)?" text-anchor="middle"/g, `y="${h - 6}" text-anchor="middle"`);
  return `<figure id="${esc(id)}" class="chart"><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img" aria-label="${esc(title)}">${axis}${body}</svg></figure>`;
}

/** Consecutive equal states merged into segments; a point covers [t, next t). */
export function segments<T>(points: readonly { t: number; v: T }[], end: number, cls: (v: T) => string, title: (v: T) => string): Segment[] {
  const out: Segment[] = [];
  points.forEach((p, i) => {
    const t1 = points[i + 1]?.t ?? end;
    const c = cls(p.v);
    const prev = out.at(-1);
    if (prev && prev.cls === c && prev.title === title(p.v)) prev.t1 = t1;
    else out.push({ t0: p.t, t1, cls: c, title: title(p.v) });
  });
  return out;
}
