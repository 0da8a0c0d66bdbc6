/**
 * The likeliest cause of a direction's flow/SNMP ratio staying out of band, from the windows that
 * raised it. Checked in this order, first match wins:
 *
 * - one_direction: this direction ~0 (< 5 % of SNMP) while the other direction is not: the exporter
 *   exports one direction only (ingress-only NetFlow is the common default on routers);
 * - collector_drops: our sockets dropped datagrams in most of the windows and the ratio is low;
 * - sampling_missing: flows came with no sampling rate (scaled by 1, sampling.ts) and the ratio is low;
 * - sampling_rate: a steady ratio (max/min <= 1.6: flows are counted when exported, so a
 *   window's flow bytes jitter by the export timeouts) near a power of ten (x10, x0.01, ...), near
 *   1/rate (flows not scaled) or near the rate used (scaled twice): a wrong or missing rate;
 * - unexplained: none of these; the finding still carries the ratio.
 */

export type Cause = 'one_direction' | 'collector_drops' | 'sampling_missing' | 'sampling_rate' | 'exporter_missing' | 'unexplained';

export interface Judged {
  ratio: number;
  /** The other direction's ratio in the same window (NaN when not judged). */
  other: number;
  socketDrops: number;
  unknownFlows: number;
  samplingRate: number;
}

const near = (x: number, target: number, tol: number): boolean => target > 0 && Math.abs(x / target - 1) <= tol;

export function likelyCause(w: readonly Judged[], low: number, high: number): { cause: Cause; why: string } {
  const n = w.length;
  const ratios = w.map((j) => j.ratio);
  const mean = ratios.reduce((a, b) => a + b, 0) / n;
  const fmt = (x: number): string => (x >= 0.01 ? x.toPrecision(3) : x.toExponential(2));
  if (w.every((j) => j.ratio < 0.05 && Number.isFinite(j.other) && j.other >= 0.2)) {
    return { cause: 'one_direction', why: `flows carry ~nothing in this direction (ratio ${fmt(mean)}) while the other direction is exported (${fmt(w[n - 1]?.other ?? NaN)})` };
  }
  const dropped = w.filter((j) => j.socketDrops > 0).length;
  if (mean < low && dropped * 2 >= n) {
    return { cause: 'collector_drops', why: `our sockets dropped datagrams in ${dropped} of ${n} windows (ratio ${fmt(mean)})` };
  }
  if (mean < low && w.some((j) => j.unknownFlows > 0)) {
    return { cause: 'sampling_missing', why: `flows came with no sampling rate and were scaled by 1 (ratio ${fmt(mean)}); set collectors.flow.sampling` };
  }
  const min = Math.min(...ratios);
  const max = Math.max(...ratios);
  if (min > 0 && max / min <= 1.6) {
    const l = Math.log10(mean);
    const p = Math.round(l);
    const rate = w[n - 1]?.samplingRate ?? 1;
    if (p !== 0 && Math.abs(l - p) <= 0.1) return { cause: 'sampling_rate', why: `steady ratio ${fmt(mean)}, near 10^${p}: the sampling rate used is likely off by that factor` };
    if (rate > 1 && near(mean, 1 / rate, 0.2)) return { cause: 'sampling_rate', why: `steady ratio ${fmt(mean)} ~ 1/${Math.round(rate)}: volumes look unscaled, or the rate is applied twice the other way` };
    if (rate > 1 && near(mean, rate, 0.2)) return { cause: 'sampling_rate', why: `steady ratio ${fmt(mean)} ~ the rate ${Math.round(rate)}: the exporter likely scales already (rate applied twice)` };
  }
  return { cause: 'unexplained', why: `ratio ${fmt(mean)} outside [${low}, ${high}] for ${n} windows` };
}
