/**
 * The producer step: each decoder's records filled into the one reusable FlowView (view.ts), one
 * record at a time, for whoever consumes flows (aggregator, raw export, `netvigil decode`).
 *
 * What a record shares with its data set (v9/IPFIX: the template's plan, the domain's sampling
 * rates, the header's export time and uptime; v5: the header) is resolved once when the set or
 * datagram begins, not per record.
 */
import { ip6KeyText } from '../../src/wire/ip6key.js';
import { ipv4ToString } from '../../src/wire/reader.js';
import type { CompiledTemplate, DataRecord, MessageHeader, Value } from '../netflow/compile.js';
import type { DomainRates, OptionsState } from '../netflow/options.js';
import { Conv, hex, Pick, planFor, sourceValue, type Plan, type Source } from '../netflow/plan.js';
import type { V5Flow, V5Header } from '../netflow/v5.js';
import type { FlowSample } from '../sflow/types.js';
import { DIMENSIONS, familyOf, flowTimes, resolveRate, uptimeToMs, FlowView, type Key } from './view.js';

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

/** Per template: where each view field comes from (value index, or a Source for dual-stack/sums). */
interface ViewPlan {
  /** Per DIMENSIONS index: value index of a single-element field, -1 absent, -2 picked per record. */
  idx: Int16Array;
  src: (Source | undefined)[];
  bytes: Source | undefined;
  packets: Source | undefined;
  mapped: (Source | undefined)[];
  /** Conv of each mapped source's first element: a mapped address keys by its text, as the Record prints it. */
  mappedConv: Conv[];
}

function viewPlan(plan: Plan, mapped: readonly string[]): ViewPlan {
  const idx = new Int16Array(DIMENSIONS.length).fill(-1);
  const src = DIMENSIONS.map((d) => plan.sources.get(d));
  for (let d = 2; d < DIMENSIONS.length; d++) {
    const s = src[d];
    if (s) idx[d] = s.pick === Pick.First ? (s.idx[0] as number) : -2;
  }
  const m = mapped.map((n) => plan.sources.get(n));
  return { idx, src, bytes: plan.sources.get('bytes'), packets: plan.sources.get('packets'), mapped: m, mappedConv: m.map((s) => (s ? (plan.convs[s.idx[0] as number] as Conv) : Conv.Skip)) };
}

function pickKey(p: ViewPlan, d: number, v: Value[]): Key {
  const i = p.idx[d] as number;
  const x = i >= 0 ? v[i] : i === -1 ? undefined : sourceValue(p.src[d], v);
  return valueKey(x);
}

export class Producer {
  readonly view: FlowView;
  private readonly plans = new WeakMap<Plan, ViewPlan>();
  // the data set being filled (v9/IPFIX), reset by each message
  private hdr: MessageHeader | undefined;
  private exporter = '';
  private tpl: CompiledTemplate | undefined;
  private plan: Plan | undefined;
  private vp: ViewPlan | undefined;
  private rates: DomainRates | undefined;
  /** The set's rate when no record can state its own (RFC 7012 §5.7 elements, sampler, ingress interface); NaN otherwise. */
  private setRate = NaN;
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
    let vp = this.plans.get(plan);
    if (!vp) {
      vp = viewPlan(plan, this.view.mappedNames);
      this.plans.set(plan, vp);
    }
    this.tpl = tpl;
    this.plan = plan;
    this.vp = vp;
    const r = this.rates as DomainRates;
    const perRecord = plan.hasRate || (plan.samplerIdx >= 0 && r.bySampler.size > 0) || (plan.inIfIdx >= 0 && r.byIf.size > 0);
    this.setRate = perRecord ? NaN : r.all;
  }

  /** Fills the view from a v9/IPFIX data record of the current message. */
  data(rec: DataRecord): FlowView {
    // a set parked until its template came (RFC 7011 §8) keeps the header of the message it came in
    if (rec.hdr !== this.hdr) this.message(rec.hdr, this.exporter);
    if (rec.tpl !== this.tpl) this.set(rec.tpl);
    const plan = this.plan as Plan;
    const p = this.vp as ViewPlan;
    const v = rec.values;
    const w = this.view;
    w.inIf = pickKey(p, 2, v);
    w.outIf = pickKey(p, 3, v);
    w.proto = pickKey(p, 4, v);
    w.srcAs = pickKey(p, 5, v);
    w.dstAs = pickKey(p, 6, v);
    w.srcPort = pickKey(p, 7, v);
    w.dstPort = pickKey(p, 8, v);
    w.tos = pickKey(p, 9, v);
    w.vlan = pickKey(p, 10, v);
    w.nextHop = pickKey(p, 11, v);
    w.src = pickKey(p, 12, v);
    w.dst = pickKey(p, 13, v);
    w.family = familyOf(w.src);
    for (let j = 0; j < p.mapped.length; j++) {
      const x = sourceValue(p.mapped[j], v);
      const c = p.mappedConv[j];
      // the Record prints a mapped address as text, and so must its key
      w.mapped[j] = c === Conv.Ipv4 && typeof x === 'number' ? ipv4ToString(x) : c === Conv.Ipv6 && typeof x === 'string' ? ip6KeyText(x) : valueKey(x);
    }
    w.bytes = volume(sourceValue(p.bytes, v));
    w.packets = volume(sourceValue(p.packets, v));
    const set = this.setRate;
    w.rate = resolveRate(w, set === set ? set : this.options.rateFor(plan, v, this.rates as DomainRates));
    flowTimes(w, plan, v, this.exportMs, this.uptimeMs);
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
    w.startMs = uptimeToMs(exportMs, h.sysUptimeMs, f.first);
    w.endMs = uptimeToMs(exportMs, h.sysUptimeMs, f.last);
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
