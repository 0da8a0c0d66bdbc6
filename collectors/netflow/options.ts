/**
 * What options data taught us (RFC 7011 §3.4.2.2, RFC 3954 §6), per exporter address and domain:
 * sampling rates, exporter boot time and interface names. Persisted next to the templates so that
 * after a restart flows are scaled right before the exporter resends its options (Cisco: every few
 * minutes), and so interface names survive too.
 */
import type { InterfaceInfo } from '../../src/collector.js';
import type { DataRecord, Value } from './compile.js';
import { num, ownRate, planFor, type Plan } from './plan.js';

export interface OptionsFile {
  format: 'netvigil-flow-options-1';
  sampling: [string, number][];
  sysInit: [string, number][];
  interfaces: [string, InterfaceInfo[]][];
}

/** Bound on each OptionsState map: noisy or spoofed options data must not grow memory without limit. */
const MAX_ENTRIES = 65_536;

/** The interface an options record is scoped to: v9 interface scope, or an IPFIX scope IE 10/14/252. */
function scopedInterface(rec: DataRecord): number | undefined {
  const tpl = rec.tpl;
  for (let i = 0; i < tpl.def.scopeCount; i++) {
    const id = tpl.ianaIds[i];
    if (id === 10 || id === 14 || id === 252 || (id === -1 && tpl.names[i] === 'scope_interface')) return num(rec.values[i]);
  }
  return undefined;
}

/** Sets k unless the map is full; true when the stored value changed. */
function boundedSet<K, V>(m: Map<K, V>, k: K, v: V): boolean {
  if (m.get(k) === v || (m.size >= MAX_ENTRIES && !m.has(k))) return false;
  m.set(k, v);
  return true;
}

/**
 * One exporter domain's sampling rates, numbers-keyed, fetched once per message (the flow
 * producer, collectors/flow/producer.ts) so that a flow record costs at most one Map lookup by a
 * number, not a string key built per record. The object is updated in place.
 */
export interface DomainRates {
  /** The domain-wide rate (options without a sampler id or interface scope), 0 when none: unknown, not "unsampled" (collectors/flow/sampling.ts decides). */
  all: number;
  /** By sampler / selector id (IE 48 / 302, RFC 3954 §8 FLOW_SAMPLER_ID). */
  bySampler: Map<number, number>;
  /** By ingress ifIndex, from options scoped to an interface (v9 scope 2, IPFIX IE 10/14/252). */
  byIf: Map<number, number>;
}

const NO_RATES: DomainRates = Object.freeze({ all: 0, bySampler: new Map<number, number>(), byIf: new Map<number, number>() });

/** What options data taught us, per exporter address and domain. Owned by one collector instance. */
export class OptionsState {
  /** `${exporter}|${domain}|${samplerId or *}` or `...|if<ifIndex>` -> rate: the persisted form. */
  readonly sampling = new Map<string, number>();
  /** `${exporter}|${domain}` -> the same rates, numbers-keyed, for the per-record path. */
  private readonly rates = new Map<string, DomainRates>();
  /** `${exporter}|${domain}` -> exporter boot time, epoch ms (IE 160). */
  readonly sysInit = new Map<string, number>();
  /** exporter -> ifIndex -> info (IE 82/83 keyed by IE 10/14/252 or the v9 interface scope). */
  readonly interfaces = new Map<string, Map<number, InterfaceInfo>>();
  /** Set when anything changed since the last `serialize()` (the collector persists it). */
  dirty = false;

  /** Learns from one options data record; returns true when interface names changed. */
  apply(rec: DataRecord, exporter: string): boolean {
    const plan = planFor(rec.tpl);
    const v = rec.values;
    const dom = rec.hdr.domain;
    const rate = ownRate(plan, v);
    const tpl = rec.tpl;
    if (rate !== undefined) {
      const id = plan.samplerIdx >= 0 ? num(v[plan.samplerIdx]) : undefined;
      if (this.setRate(`${exporter}|${dom}`, id ?? '*', rate)) this.dirty = true;
      // scoped to one interface (v9 scope 2, or an IPFIX scope ingressInterface): that interface's
      // flows get this rate; the domain-wide rate above is the fallback for the others
      const ifScope = id === undefined ? scopedInterface(rec) : undefined;
      if (ifScope !== undefined && this.setRate(`${exporter}|${dom}`, `if${ifScope}`, rate)) this.dirty = true;
    }
    let name: string | undefined;
    let descr: string | undefined;
    let ifIndex: number | undefined;
    for (let i = 0; i < tpl.ianaIds.length; i++) {
      const id = tpl.ianaIds[i];
      const val = v[i];
      if (id === 160 && typeof val === 'number') {
        if (boundedSet(this.sysInit, `${exporter}|${dom}`, val)) this.dirty = true;
      }
      else if (id === 82 && typeof val === 'string') name = val.replace(/\0+$/, '');
      else if (id === 83 && typeof val === 'string') descr = val.replace(/\0+$/, '');
      else if ((id === 10 || id === 14 || id === 252) && ifIndex === undefined) ifIndex = num(val);
      else if (id === -1 && tpl.names[i] === 'scope_interface') ifIndex = num(val);
    }
    if (ifIndex === undefined || (name === undefined && descr === undefined)) return false;
    let m = this.interfaces.get(exporter);
    if (!m) {
      if (this.interfaces.size >= MAX_ENTRIES) return false;
      this.interfaces.set(exporter, (m = new Map()));
    }
    const old = m.get(ifIndex);
    if (old && old.name === name && old.descr === descr) return false;
    if (!old && m.size >= MAX_ENTRIES) return false;
    const info: InterfaceInfo = { ifIndex };
    if (name !== undefined) info.name = name;
    if (descr !== undefined) info.descr = descr;
    m.set(ifIndex, info);
    this.dirty = true;
    return true;
  }

  /** Stores a rate under `${exporter}|${domain}` and `which` (`*`, a sampler id, `if<ifIndex>`). */
  private setRate(ed: string, which: number | string, rate: number): boolean {
    if (!boundedSet(this.sampling, `${ed}|${which}`, rate)) return false;
    let r = this.rates.get(ed);
    if (!r) this.rates.set(ed, (r = { all: 0, bySampler: new Map(), byIf: new Map() }));
    if (which === '*') r.all = rate;
    else if (typeof which === 'number') r.bySampler.set(which, rate);
    else r.byIf.set(Number(which.slice(2)), rate);
    return true;
  }

  /** The domain's rates (shared, updated in place; a frozen empty set when options taught none). */
  domainRates(exporter: string, domain: number): DomainRates {
    return this.rates.get(`${exporter}|${domain}`) ?? this.noRates(exporter, domain);
  }

  /** No rates yet: a live entry, so a message memo made before the options still sees them later. */
  private noRates(exporter: string, domain: number): DomainRates {
    if (this.rates.size >= MAX_ENTRIES) return NO_RATES;
    const r: DomainRates = { all: 0, bySampler: new Map(), byIf: new Map() };
    this.rates.set(`${exporter}|${domain}`, r);
    return r;
  }

  /** Sampling rate of one flow record: its own, its sampler's, its ingress interface's, the domain's. */
  rateFor(plan: Plan, v: Value[], rates: DomainRates): number {
    const own = ownRate(plan, v);
    if (own !== undefined) return own;
    if (plan.samplerIdx >= 0 && rates.bySampler.size) {
      const id = num(v[plan.samplerIdx]);
      const r = id === undefined ? undefined : rates.bySampler.get(id);
      if (r !== undefined) return r;
    }
    if (plan.inIfIdx >= 0 && rates.byIf.size) {
      const i = num(v[plan.inIfIdx]);
      const r = i === undefined ? undefined : rates.byIf.get(i);
      if (r !== undefined) return r;
    }
    return rates.all;
  }

  serialize(): OptionsFile {
    this.dirty = false;
    return {
      format: 'netvigil-flow-options-1',
      sampling: [...this.sampling],
      sysInit: [...this.sysInit],
      interfaces: [...this.interfaces].map(([e, m]) => [e, [...m.values()]]),
    };
  }

  /** Loads what `serialize()` wrote; malformed entries are skipped. Returns entries loaded. */
  load(file: unknown): number {
    if (typeof file !== 'object' || file === null) return 0;
    const f = file as Partial<Record<keyof OptionsFile, unknown>>;
    if (f.format !== 'netvigil-flow-options-1') return 0;
    let n = 0;
    const pairs = (v: unknown): [string, number][] =>
      Array.isArray(v) ? v.filter((p): p is [string, number] => Array.isArray(p) && typeof p[0] === 'string' && typeof p[1] === 'number' && Number.isFinite(p[1])) : [];
    for (const [k, r] of pairs(f.sampling)) {
      // `${exporter}|${domain}|${which}`: which is '*', a sampler id or if<ifIndex>
      const m = /^(.*\|\d+)\|(\*|\d+|if\d+)$/.exec(k);
      if (r < 1 || !m?.[1] || !m[2]) continue;
      const which = m[2] === '*' || m[2].startsWith('if') ? m[2] : Number(m[2]);
      if (this.setRate(m[1], which, r)) n++;
    }
    for (const [k, t] of pairs(f.sysInit)) if (boundedSet(this.sysInit, k, t)) n++;
    for (const e of Array.isArray(f.interfaces) ? (f.interfaces as unknown[]) : []) {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || !Array.isArray(e[1])) continue;
      const m = new Map<number, InterfaceInfo>();
      for (const i of e[1] as unknown[]) {
        const x = i as Partial<InterfaceInfo>;
        if (typeof x !== 'object' || x === null || !Number.isInteger(x.ifIndex)) continue;
        const info: InterfaceInfo = { ifIndex: x.ifIndex as number };
        if (typeof x.name === 'string') info.name = x.name;
        if (typeof x.descr === 'string') info.descr = x.descr;
        if (m.size < MAX_ENTRIES) m.set(info.ifIndex, info);
      }
      if (m.size && this.interfaces.size < MAX_ENTRIES) {
        this.interfaces.set(e[0], m);
        n += m.size;
      }
    }
    this.dirty = false;
    return n;
  }
}
