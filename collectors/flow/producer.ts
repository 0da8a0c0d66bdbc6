/**
 * The producer step: each decoder's records filled into the one reusable FlowView (view.ts), one
 * record at a time, for whoever consumes flows (aggregator, raw export, `netvigil decode`).
 *
 * What a record shares with its data set (v9/IPFIX: the template's plan, the domain's sampling
 * rates, the header's export time and uptime; v5: the header) is resolved once when the set or
 * datagram begins, not per record.
 */
import type { CompiledTemplate, DataRecord, MessageHeader, Value } from '../netflow/compile.js';
import type { DomainRates, OptionsState } from '../netflow/options.js';
import { Conv, hex, Pick, planFor, sourceValue, type Plan, type Source } from '../netflow/plan.js';
import type { V5Flow, V5Header } from '../netflow/v5.js';
import type { FlowSample } from '../sflow/types.js';
import { DIMENSIONS, familyOf, resolveRate, timeOf, FlowView, type Key } from './view.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Key of a non-address value, so that keyText(key) === the text the Record field would give. */
function valueKey(v: Value): Key {
  if (v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : String(v);
  if (v instanceof Uint8Array) return hex(v);
  return String(v);
}

function volume(v: Value): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0;
}

/** View property of each DIMENSIONS index from 2 on (0 and 1 come from the header). */
const PROPS = ['', '', 'inIf', 'outIf', 'proto', 'srcAs', 'dstAs', 'srcPort', 'dstPort', 'tos', 'vlan', 'nextHop', 'src', 'dst'] as const;

type Fill = (w: FlowView, v: Value[], exportMs: number, uptimeMs: number) => void;

/**
 * Per template: straight-line code that fills the view's dimensions and volumes from a record's
 * values, one load per field (the template says which value index each comes from), like the
 * record decoder and the Record builder (plan.ts) are compiled. Property names come from PROPS and
 * indexes from the plan: no wire text reaches the source.
 */
function compileFill(plan: Plan, mapped: readonly string[]): Fill {
  const srcs: (Source | undefined)[] = [];
  const ref = (x: Source): string => `s[${srcs.push(x) - 1}]`;
  let code = 'let x;\n';
  for (let d = 2; d < DIMENSIONS.length; d++) {
    const src = plan.sources.get(DIMENSIONS[d] as string);
    const prop = `w.${PROPS[d] as string}`;
    if (!src) code += `${prop} = '';\n`;
    else if (src.pick === Pick.First) code += `x = v[${src.idx[0] as number}];\n${prop} = typeof x === 'number' ? x : k(x);\n`;
    else code += `${prop} = k(pick(${ref(src)}, v));\n`;
  }
  for (const name of ['bytes', 'packets']) {
    const src = plan.sources.get(name);
    if (!src) code += `w.${name} = 0;\n`;
    else if (src.pick === Pick.First) code += `x = v[${src.idx[0] as number}];\nw.${name} = typeof x === 'number' ? x : vol(x);\n`;
    else code += `w.${name} = vol(pick(${ref(src)}, v));\n`;
  }
  // times (timeOf), in template order: a later element of the same end wins, as it always has
  code += 'w.startMs = NaN;\nw.endMs = NaN;\n';
  for (const i of plan.timeIdx) {
    const c = plan.convs[i] as Conv;
    const end = c === Conv.UptimeStart || c === Conv.AbsStart || c === Conv.DeltaStart ? 'startMs' : 'endMs';
    code += `x = v[${i}];\nif (typeof x === 'number') w.${end} = time(${c}, x, e, u);\nelse if (typeof x === 'bigint') w.${end} = time(${c}, Number(x), e, u);\n`;
  }
  mapped.forEach((m, j) => {
    const src = plan.sources.get(m);
    if (!src) {
      code += `w.mapped[${j}] = '';\n`;
      return;
    }
    // a mapped address stays a number or byte key like the built-in ones (its name's entries are
    // all addresses, config.ts): the aggregator makes its text when a series is created
    code += `w.mapped[${j}] = k(pick(${ref(src)}, v));\n`;
  });
  const factory = new Function('k', 'vol', 'pick', 's', 'time', `return function fillView(w, v, e, u) {\n${code}};`) as (...a: unknown[]) => Fill;
  return factory(valueKey, volume, sourceValue, srcs, timeOf);
}

/** Compiled fills by plan, for the mapped-dimension list they were made for (one per collector). */
const FILLS = new WeakMap<Plan, { mapped: readonly string[]; fill: Fill }>();

function fillFor(plan: Plan, mapped: readonly string[]): Fill {
  const f = FILLS.get(plan);
  if (f && (f.mapped === mapped || f.mapped.join('\0') === mapped.join('\0'))) return f.fill;
  const fill = compileFill(plan, mapped);
  FILLS.set(plan, { mapped, fill });
  return fill;
}

export class Producer {
  readonly view: FlowView;
  // the data set being filled (v9/IPFIX), reset by each message
  private hdr: MessageHeader | undefined;
  private exporter = '';
  private tpl: CompiledTemplate | undefined;
  private plan: Plan | undefined;
  private fill: Fill | undefined;
  private rates: DomainRates | undefined;
  /** The set's rate when no record can state its own (RFC 7012 §5.7 elements, sampler, ingress interface); NaN otherwise. */
  private setRate = NaN;
  /** The set's rate is its ingress interface's (softflowd scopes sampling options to one): last one looked up. */
  private byIf = false;
  private lastIf: Key = '';
  private lastIfRate = 1;
  private exportMs = 0;
  private uptimeMs = NaN;

  constructor(
    private readonly options: OptionsState,
    mapped: readonly string[] = [],
  ) {
    this.view = new FlowView(mapped);
  }

  /** A v9/IPFIX message begins: its header's fields and its domain's options, once per message. */
  message(hdr: MessageHeader, exporter: string): void {
    const w = this.view;
    w.exporter = exporter;
    w.version = hdr.version === 9 ? '9' : '10';
    w.domain = hdr.domain;
    this.hdr = hdr;
    this.exporter = exporter;
    this.tpl = undefined;
    this.rates = this.options.domainRates(exporter, hdr.domain);
    this.exportMs = hdr.exportTimeSec * 1000;
    // IPFIX has no uptime in its header (RFC 7011 §B.2): export time - systemInitTimeMilliseconds
    const init = hdr.version === 10 ? this.options.sysInit.get(`${exporter}|${hdr.domain}`) : undefined;
    this.uptimeMs = hdr.version === 9 ? hdr.sysUptimeMs : init !== undefined ? this.exportMs - init : NaN;
  }

  private set(tpl: CompiledTemplate): void {
    const plan = planFor(tpl);
    this.tpl = tpl;
    this.plan = plan;
    this.fill = fillFor(plan, this.view.mappedNames);
    const r = this.rates as DomainRates;
    const own = plan.hasRate || (plan.samplerIdx >= 0 && r.bySampler.size > 0);
    const byIf = plan.inIfIdx >= 0 && r.byIf.size > 0;
    this.setRate = own || byIf ? NaN : r.all;
    // the view's in_if is that element (plan.ts: the first IE 10), already read by the fill
    this.byIf = !own && byIf;
    this.lastIf = '';
  }

  /** The announced rate of a record whose set has no single one (OptionsState.rateFor's order). */
  private recordRate(w: FlowView, plan: Plan, v: Value[]): number {
    const i = w.inIf;
    if (!this.byIf || typeof i !== 'number') return this.options.rateFor(plan, v, this.rates as DomainRates);
    if (i !== this.lastIf) {
      this.lastIf = i;
      this.lastIfRate = (this.rates as DomainRates).byIf.get(i) ?? (this.rates as DomainRates).all;
    }
    return this.lastIfRate;
  }

  /** Fills the view from a v9/IPFIX data record of the current message. */
  data(rec: DataRecord): FlowView {
    // a set parked until its template came (RFC 7011 §8) keeps the header of the message it came in
    if (rec.hdr !== this.hdr) this.message(rec.hdr, this.exporter);
    if (rec.tpl !== this.tpl) this.set(rec.tpl);
    const plan = this.plan as Plan;
    const v = rec.values;
    const w = this.view;
    (this.fill as Fill)(w, v, this.exportMs, this.uptimeMs);
    w.family = familyOf(w.src);
    const set = this.setRate;
    w.rate = resolveRate(w, set === set ? set : this.recordRate(w, plan, v));
    return w;
  }

  /** Fills the view from one v5 flow; `h` is its datagram's header. */
  v5(h: V5Header, f: V5Flow, exporter: string): FlowView {
    const w = this.view;
    w.exporter = exporter;
    w.version = '5';
    w.domain = (h.engineType << 8) | h.engineId;
    w.inIf = f.input;
    w.outIf = f.output;
    w.proto = f.proto;
    w.srcAs = f.srcAs;
    w.dstAs = f.dstAs;
    w.srcPort = f.srcPort;
    w.dstPort = f.dstPort;
    w.tos = f.tos;
    w.vlan = '';
    w.nextHop = f.nextHop;
    w.src = f.srcAddr;
    w.dst = f.dstAddr;
    w.family = 4;
    for (let j = 0; j < w.mapped.length; j++) w.mapped[j] = '';
    w.bytes = f.bytes;
    w.packets = f.packets;
    // the header's interval (the low 14 bits of its sampling word) applies to every flow; 0 = 1
    w.rate = resolveRate(w, h.samplingInterval);
    const exportMs = h.unixSecs * 1000 + Math.floor(h.unixNsecs / 1e6);
    w.startMs = timeOf(Conv.UptimeStart, f.first, exportMs, h.sysUptimeMs);
    w.endMs = timeOf(Conv.UptimeEnd, f.last, exportMs, h.sysUptimeMs);
    return w;
  }

  /** Fills the view from an sFlow flow sample; sFlow has no flow times, only the receive time. */
  sflow(s: FlowSample, exporter: string, subAgentId: number, now: number): FlowView {
    const p = s.packet;
    const w = this.view;
    w.exporter = exporter;
    w.version = 'sflow5';
    w.domain = subAgentId;
    // memo §5 "interface": format 0 is an ifIndex; 1 (discard reason) and 2 (count) are not
    w.inIf = s.input.format === 0 ? s.input.value : '';
    w.outIf = s.output.format === 0 ? s.output.value : '';
    w.proto = p.proto ?? '';
    w.srcAs = p.srcAs ?? '';
    w.dstAs = p.dstAs ?? '';
    w.srcPort = p.srcPort ?? '';
    w.dstPort = p.dstPort ?? '';
    w.tos = p.tos ?? '';
    w.vlan = p.srcVlan ?? p.vlan ?? '';
    w.nextHop = p.nextHop ? (p.nextHopKey ?? '') : p.bgpNextHop ? (p.bgpNextHopKey ?? '') : '';
    w.src = p.srcKey ?? '';
    w.dst = p.dstKey ?? '';
    w.family = familyOf(w.src);
    for (let j = 0; j < w.mapped.length; j++) w.mapped[j] = ''; // sFlow samples carry no mapped elements
    w.bytes = p.frameLength ?? p.ipLength ?? 0;
    w.packets = 1;
    w.rate = resolveRate(w, s.samplingRate);
    w.startMs = now;
    w.endMs = now;
    return w;
  }
}
