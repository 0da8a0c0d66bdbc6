/**
 * Counter rates on the device's own timeline. Pure: no sockets, no clocks read here.
 *
 * Time between two polls is taken from sysUpTime (RFC 3418; TimeTicks in 1/100 s, 32-bit, wraps
 * after 497 days), because our request/response timing jitters by the walk duration. When the
 * agent's clock is unusable (absent, frozen as in recorded simulations, or far from our elapsed
 * time) we fall back to the local monotonic clock, never to wall time.
 *
 * A device reboot (sysUpTime went back, or is shorter than the time since the last poll) or a
 * counter discontinuity (IF-MIB ifCounterDiscontinuityTime changed, RFC 2863 3.1.5) resets the
 * state: that poll yields no rate (a gap), never a spike.
 */

export interface TimelineSample {
  /** sysUpTime.0 in TimeTicks, when the agent returned it. */
  uptimeTicks?: bigint;
  /** Local monotonic clock (performance.now()) at the same moment. */
  monoMs: number;
}

export type ClockStep =
  | { kind: 'first' }
  | { kind: 'reset'; reason: 'reboot' | 'clock' }
  | { kind: 'delta'; ms: number; source: 'device' | 'local' };

const TICKS_MOD = 1n << 32n;

/** How far the device's elapsed time may stray from ours and still be trusted. */
export function clockTolerance(localMs: number): number {
  return Math.max(1000, localMs * 0.25);
}

export function clockStep(prev: TimelineSample | undefined, cur: TimelineSample): ClockStep {
  if (!prev) return { kind: 'first' };
  const localMs = cur.monoMs - prev.monoMs;
  if (!(localMs > 0)) return { kind: 'reset', reason: 'clock' };
  if (prev.uptimeTicks === undefined || cur.uptimeTicks === undefined) return { kind: 'delta', ms: localMs, source: 'local' };
  const tol = clockTolerance(localMs);
  let d = cur.uptimeTicks - prev.uptimeTicks;
  if (d < 0n) {
    const wrapped = d + TICKS_MOD;
    if (Math.abs(Number(wrapped) * 10 - localMs) <= tol) d = wrapped;
    else return { kind: 'reset', reason: 'reboot' };
  } else if (d === 0n) {
    // A frozen agent clock (recorded simulations) says nothing about time.
    return { kind: 'delta', ms: localMs, source: 'local' };
  } else if (Number(cur.uptimeTicks) * 10 < localMs - tol) {
    // Up for less time than has passed since the last poll: it rebooted in between.
    return { kind: 'reset', reason: 'reboot' };
  }
  const deviceMs = Number(d) * 10;
  if (deviceMs > 0 && Math.abs(deviceMs - localMs) <= tol) return { kind: 'delta', ms: deviceMs, source: 'device' };
  return { kind: 'delta', ms: localMs, source: 'local' };
}

/**
 * Increase of a counter between two readings. A smaller reading is a wrap only if the wrapped
 * increase is plausible (at most `maxDelta`, or half the counter range when no bound is known);
 * otherwise it is a reset and yields undefined (a gap).
 */
export function counterDelta(prev: bigint, cur: bigint, bits: 32 | 64, maxDelta?: bigint): bigint | undefined {
  if (cur >= prev) return cur - prev;
  const wrapped = cur + (1n << BigInt(bits)) - prev;
  const limit = maxDelta ?? 1n << BigInt(bits - 1);
  return wrapped <= limit ? wrapped : undefined;
}

export interface Reading {
  value: bigint;
  bits: 32 | 64;
}

export const RATE_COUNTERS = [
  'in_octets',
  'out_octets',
  'in_ucast_pkts',
  'out_ucast_pkts',
  'in_mcast_pkts',
  'out_mcast_pkts',
  'in_bcast_pkts',
  'out_bcast_pkts',
  'in_errors',
  'out_errors',
  'in_discards',
  'out_discards',
] as const;
export type RateCounter = (typeof RATE_COUNTERS)[number];

export interface InterfaceSample {
  ifIndex: number;
  counters: Partial<Record<RateCounter, Reading>>;
  /** ifCounterDiscontinuityTime (TimeTicks); a change means the counters restarted. */
  discontinuity?: bigint;
  speedBps?: bigint;
}

export interface InterfaceRates {
  in_bps?: number;
  out_bps?: number;
  in_pps?: number;
  out_pps?: number;
  in_errors_ps?: number;
  out_errors_ps?: number;
  in_discards_ps?: number;
  out_discards_ps?: number;
}

export interface IfState {
  counters: Partial<Record<RateCounter, Reading>>;
  discontinuity?: bigint;
}

/** Upper bound on a plausible increase for a wrap check: line rate x elapsed time x 1.5. */
function bound(name: RateCounter, speedBps: bigint | undefined, ms: number): bigint | undefined {
  if (!speedBps || speedBps <= 0n) return undefined;
  const bytes = (Number(speedBps) / 8) * (ms / 1000) * 1.5;
  // Minimum Ethernet frame is 64 octets: packets can never outnumber octets / 64.
  const v = name.endsWith('_octets') ? bytes : name.endsWith('_pkts') ? bytes / 64 : Number.POSITIVE_INFINITY;
  return Number.isFinite(v) ? BigInt(Math.ceil(v)) + 1n : undefined;
}

/** Per-device rate state. One instance per polled device; forget it when the device goes away. */
export class RateTracker {
  private timeline: TimelineSample | undefined;
  private readonly ifs = new Map<number, IfState>();
  lastStep: ClockStep | undefined;

  update(t: TimelineSample, samples: readonly InterfaceSample[]): Map<number, InterfaceRates> {
    const step = clockStep(this.timeline, t);
    this.timeline = t;
    this.lastStep = step;
    if (step.kind === 'reset') this.ifs.clear();
    const out = new Map<number, InterfaceRates>();
    const seen = new Set<number>();
    for (const s of samples) {
      seen.add(s.ifIndex);
      const prev = this.ifs.get(s.ifIndex);
      this.ifs.set(s.ifIndex, { counters: s.counters, discontinuity: s.discontinuity });
      if (step.kind !== 'delta' || !prev) continue;
      if (s.discontinuity !== undefined && prev.discontinuity !== undefined && s.discontinuity !== prev.discontinuity) continue;
      out.set(s.ifIndex, rates(prev, s, step.ms));
    }
    for (const k of this.ifs.keys()) if (!seen.has(k)) this.ifs.delete(k);
    return out;
  }

  /** The last sample, for a poller that takes the device over (ratestate.ts). */
  last(): { timeline: TimelineSample; ifs: ReadonlyMap<number, IfState> } | undefined {
    return this.timeline && { timeline: this.timeline, ifs: this.ifs };
  }

  /** Goes on from another poller's last sample: the next update yields rates as if we had taken it. */
  resume(timeline: TimelineSample, ifs: ReadonlyMap<number, IfState>): void {
    this.timeline = timeline;
    this.ifs.clear();
    for (const [k, v] of ifs) this.ifs.set(k, v);
  }
}

function rates(prev: IfState, s: InterfaceSample, ms: number): InterfaceRates {
  const d = (name: RateCounter): bigint | undefined => {
    const a = prev.counters[name];
    const b = s.counters[name];
    if (!a || !b || a.bits !== b.bits) return undefined;
    return counterDelta(a.value, b.value, b.bits, bound(name, s.speedBps, ms));
  };
  const sec = ms / 1000;
  const per = (v: bigint | undefined, mult = 1): number | undefined => (v === undefined ? undefined : (Number(v) * mult) / sec);
  const pkts = (dir: 'in' | 'out'): number | undefined => {
    let total = 0n;
    let any = false;
    for (const k of ['ucast', 'mcast', 'bcast'] as const) {
      const name = `${dir}_${k}_pkts` as RateCounter;
      if (!s.counters[name]) continue;
      const v = d(name);
      if (v === undefined) return undefined;
      total += v;
      any = true;
    }
    return any ? per(total) : undefined;
  };
  const r: InterfaceRates = {};
  const set = (k: keyof InterfaceRates, v: number | undefined) => {
    if (v !== undefined) r[k] = v;
  };
  set('in_bps', per(d('in_octets'), 8));
  set('out_bps', per(d('out_octets'), 8));
  set('in_pps', pkts('in'));
  set('out_pps', pkts('out'));
  set('in_errors_ps', per(d('in_errors')));
  set('out_errors_ps', per(d('out_errors')));
  set('in_discards_ps', per(d('in_discards')));
  set('out_discards_ps', per(d('out_discards')));
  return r;
}
