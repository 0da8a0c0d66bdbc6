/**
 * A device's last counter sample as JSON, so a poller that takes the device over from another
 * (scale-out, README "Scale-out") computes its first rate from it, with the same wrap and reboot
 * rules (rates.ts), instead of waiting one more poll for a first sample.
 *
 * The local monotonic clock means nothing in another process, so the sample's time travels as wall
 * time (`at`) and is turned back into this process's monotonic clock on load. Wall clocks of two
 * machines differ a little; the device's sysUpTime, when usable, decides the elapsed time anyway,
 * and the wall time only has to fall within clockTolerance (rates.ts) of it.
 */
import type { IfState, RateCounter, Reading, RateTracker } from './rates.js';
import { RATE_COUNTERS } from './rates.js';

export interface RateStateDoc {
  v: 1;
  /** Wall time (epoch ms) of the sample. */
  at: number;
  /** sysUpTime.0 in TimeTicks, as a decimal string. */
  uptime?: string;
  /** ifIndex, counters as "value/bits", ifCounterDiscontinuityTime. */
  ifs: [number, Partial<Record<RateCounter, string>>, string?][];
}

/** The tracker's last sample, or undefined before the first poll. `wallNow` and `monoNow` are read together. */
export function saveRateState(t: RateTracker, wallNow: number, monoNow: number): RateStateDoc | undefined {
  const last = t.last();
  if (!last) return undefined;
  const ifs: RateStateDoc['ifs'] = [];
  for (const [i, s] of last.ifs) {
    const c: Partial<Record<RateCounter, string>> = {};
    for (const [k, r] of Object.entries(s.counters) as [RateCounter, Reading][]) c[k] = `${r.value}/${r.bits}`;
    ifs.push(s.discontinuity === undefined ? [i, c] : [i, c, String(s.discontinuity)]);
  }
  return {
    v: 1,
    at: Math.round(wallNow - (monoNow - last.timeline.monoMs)),
    ...(last.timeline.uptimeTicks !== undefined ? { uptime: String(last.timeline.uptimeTicks) } : {}),
    ifs,
  };
}

const COUNTERS = new Set<string>(RATE_COUNTERS);
const DIGITS = /^\d{1,20}$/;

/**
 * Loads another poller's sample into `t`; returns its wall time. Throws on anything malformed (the
 * caller starts without it: one poll without rates, as before scale-out).
 */
export function loadRateState(t: RateTracker, doc: unknown, wallNow: number, monoNow: number): number {
  const d = doc as Partial<RateStateDoc> | null;
  if (!d || d.v !== 1 || typeof d.at !== 'number' || !Number.isFinite(d.at) || !Array.isArray(d.ifs)) throw new Error('rate state: not a version 1 document');
  if (d.uptime !== undefined && (typeof d.uptime !== 'string' || !DIGITS.test(d.uptime))) throw new Error('rate state: uptime is not a number');
  const ifs = new Map<number, IfState>();
  for (const row of d.ifs as unknown[]) {
    if (!Array.isArray(row) || !Number.isInteger(row[0]) || typeof row[1] !== 'object' || row[1] === null) throw new Error('rate state: bad interface row');
    const counters: Partial<Record<RateCounter, Reading>> = {};
    for (const [k, v] of Object.entries(row[1] as Record<string, unknown>)) {
      const m = typeof v === 'string' ? /^(\d{1,20})\/(32|64)$/.exec(v) : null;
      if (!COUNTERS.has(k) || !m) throw new Error(`rate state: bad counter ${k}`);
      counters[k as RateCounter] = { value: BigInt(m[1] as string), bits: Number(m[2]) as 32 | 64 };
    }
    const disc: unknown = row[2];
    if (disc !== undefined && (typeof disc !== 'string' || !DIGITS.test(disc))) throw new Error('rate state: bad discontinuity time');
    ifs.set(row[0] as number, disc === undefined ? { counters } : { counters, discontinuity: BigInt(disc) });
  }
  t.resume({ monoMs: monoNow - (wallNow - d.at), ...(d.uptime !== undefined ? { uptimeTicks: BigInt(d.uptime) } : {}) }, ifs);
  return d.at;
}
