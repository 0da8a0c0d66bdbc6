/**
 * Sampling rates you can set: `collectors.flow.sampling`, like pmacct's `sampling_map` (a rate per
 * exporter and optionally per input interface) and Akvorado's `override-sampling-rate` /
 * `default-sampling-rate`. Which rate wins is explicit per entry:
 *
 *   entry with `override: true`  -> the configured rate, whatever the exporter sent
 *   exporter sent a rate         -> the exporter's rate
 *   entry (no override)          -> the configured rate (it fills in a missing rate only)
 *   `default` set                -> the default rate
 *   nothing                      -> 1, and the flow is counted as `sampling_unknown`
 *
 * A flow that arrives without a rate is never silently scaled by 1: it is counted per exporter
 * (`flow_volume.sampling_unknown_flows`, `netvigil_flow_sampling_unknown_total`), and flows given
 * the default are counted apart (`sampling_defaulted_flows`). An interface entry (`in_if`) is more
 * specific than an exporter entry; among exporter entries the longest prefix wins.
 */
import { z } from 'zod';
import { Allowlist, isCidr } from './cidr.js';
import type { FlowView } from './view.js';

const entry = z.strictObject({
  /** Exporter address or CIDR (the source address of its datagrams). */
  exporter: z.string().refine(isCidr, { message: 'expected an IP address or CIDR' }),
  /** Input ifIndex the entry is limited to (softflowd and routers scope sampling per interface). */
  in_if: z.number().int().min(0).max(0xffffffff).optional(),
  rate: z.number().int().min(1).max(0xffffffff),
  override: z.boolean().default(false),
});

export const samplingSchema = z
  .strictObject({
    /** Rate for flows that arrive with none and match no entry; absent: 1, counted as unknown. */
    default: z.number().int().min(1).max(0xffffffff).optional(),
    map: z.array(entry).default([]),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, number>();
    cfg.map.forEach((e, i) => {
      const key = `${e.exporter}|${e.in_if ?? '*'}`;
      const first = seen.get(key);
      // two entries for one exporter (and interface) would make the winner depend on file order
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['map', i, 'exporter'], message: `duplicate entry: map[${first}] already sets ${e.exporter}${e.in_if !== undefined ? ` in_if ${e.in_if}` : ''}` });
      else seen.set(key, i);
    });
  });

export type SamplingConfig = z.output<typeof samplingSchema>;
export type SamplingEntry = z.output<typeof entry>;

/** Where a flow's rate came from (counted per exporter). */
export const enum RateSource {
  Exporter = 0,
  Override = 1,
  Configured = 2,
  Default = 3,
  Unknown = 4,
}

export interface SamplingCounts {
  /** Flows by RateSource, cumulative. */
  bySource: [number, number, number, number, number];
}

/** One exporter's matching entries, found once per exporter (not per flow). */
interface ExporterRule {
  all: SamplingEntry | undefined;
  byIf: Map<number, SamplingEntry>;
  counts: SamplingCounts;
}

const prefixLen = (cidr: string): number => {
  const slash = cidr.indexOf('/');
  return slash < 0 ? 256 : Number(cidr.slice(slash + 1));
};

export class SamplingRates {
  private readonly cfg: SamplingConfig;
  private readonly rules = new Map<string, ExporterRule>();
  private readonly maxExporters: number;
  /** Last flow's exporter and its rule: flows of one datagram share both. */
  private lastExporter: unknown = undefined;
  private lastRule: ExporterRule | undefined;
  /** Flows of exporters beyond `maxExporters`, by source (their rates are still resolved). */
  readonly untracked: SamplingCounts = { bySource: [0, 0, 0, 0, 0] };

  constructor(cfg: SamplingConfig = { map: [] }, maxExporters = 10_000) {
    this.cfg = cfg;
    this.maxExporters = maxExporters;
  }

  private ruleFor(exporter: string): ExporterRule {
    let r = this.rules.get(exporter);
    if (r) return r;
    const byIf = new Map<number, SamplingEntry>();
    let all: SamplingEntry | undefined;
    const bestIf = new Map<number, number>();
    let best = -1;
    for (const e of this.cfg.map) {
      if (!new Allowlist([e.exporter]).allows(exporter)) continue;
      const len = prefixLen(e.exporter);
      if (e.in_if === undefined) {
        if (len > best) [all, best] = [e, len];
      } else if (len > (bestIf.get(e.in_if) ?? -1)) {
        byIf.set(e.in_if, e);
        bestIf.set(e.in_if, len);
      }
    }
    r = { all, byIf, counts: { bySource: [0, 0, 0, 0, 0] } };
    if (this.rules.size < this.maxExporters) this.rules.set(exporter, r);
    else r.counts = this.untracked;
    return r;
  }

  /** Sets `k.rate` by the rules above; called once per flow before aggregation. */
  apply(k: FlowView): RateSource {
    const exporter = k.exporter;
    let rule = this.lastRule;
    if (exporter !== this.lastExporter || !rule) {
      rule = this.ruleFor(exporter);
      this.lastExporter = exporter;
      this.lastRule = rule;
    }
    let e = rule.all;
    if (rule.byIf.size > 0) {
      const inIf = k.inIf;
      if (typeof inIf === 'number') e = rule.byIf.get(inIf) ?? e;
    }
    let src: RateSource;
    if (e?.override) {
      k.rate = e.rate;
      src = RateSource.Override;
    } else if (k.rateKnown) src = RateSource.Exporter;
    else if (e) {
      k.rate = e.rate;
      src = RateSource.Configured;
    } else if (this.cfg.default !== undefined) {
      k.rate = this.cfg.default;
      src = RateSource.Default;
    } else {
      k.rate = 1;
      src = RateSource.Unknown;
    }
    rule.counts.bySource[src]++;
    return src;
  }

  /** Cumulative flows per exporter by where their rate came from. */
  counts(): Map<string, SamplingCounts> {
    const out = new Map<string, SamplingCounts>();
    for (const [exporter, r] of this.rules) out.set(exporter, r.counts);
    return out;
  }

  /** Per exporter, flows by rate source (named), for the status snapshot and /metrics. */
  summary(): Map<string, Record<(typeof SOURCE_NAMES)[number], number>> {
    const out = new Map<string, Record<(typeof SOURCE_NAMES)[number], number>>();
    for (const [exporter, c] of this.counts()) {
      out.set(exporter, { exporter: c.bySource[0], override: c.bySource[1], configured: c.bySource[2], default: c.bySource[3], unknown: c.bySource[4] });
    }
    return out;
  }

  /** Continues an exporter's counts from a `summary` row (a restarted worker thread, workers.ts). */
  carry(exporter: string, c: Record<(typeof SOURCE_NAMES)[number], number>): void {
    const b = this.ruleFor(exporter).counts.bySource;
    SOURCE_NAMES.forEach((n, i) => (b[i] = c[n]));
  }

  /** Carries the counts over to a reloaded config (rules are found again under the new map). */
  inherit(prev: SamplingRates): void {
    for (const [exporter, c] of prev.counts()) this.ruleFor(exporter).counts.bySource.splice(0, 5, ...c.bySource);
  }
}

export const SOURCE_NAMES = ['exporter', 'override', 'configured', 'default', 'unknown'] as const;
