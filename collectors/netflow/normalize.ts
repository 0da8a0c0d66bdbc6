/**
 * Decoded v5/v9/IPFIX structures -> flow Records of the agreed schema (README.md). Pure: the only
 * state is the OptionsState the caller owns, fed by options data (sampling rates, exporter boot time,
 * interface names) so normalization uses it instead of merely passing it on.
 */
import { makeRecord, type Fields, type FlowRecord } from '../../src/record/record.js';
import { ipv4ToString } from '../../src/wire/reader.js';
import { ip6KeyText } from '../../src/wire/ip6key.js';
import type { DataRecord } from './compile.js';
import { Kind } from './elements.js';
import { OptionsState } from './options.js';
import { Producer } from '../flow/producer.js';
import type { FlowView } from '../flow/view.js';
import { big } from '../../src/record/bigint.js';
import { Conv, hex, planFor, tagText } from './plan.js';
import type { V5Flow, V5Packet } from './v5.js';

export { OptionsState } from './options.js';

/**
 * The flow Record of a v9/IPFIX data record whose view (collectors/flow/producer.ts) was just
 * filled: sampling rate, times and tags come from the view, the other fields from the template's
 * compiled builder. Timestamped with the flow's end, else the receive time.
 */
export function recordOfData(view: FlowView, rec: DataRecord, receivedAtMs: number): FlowRecord {
  const plan = planFor(rec.tpl);
  const v = rec.values;
  const fields = plan.build(v);
  fields['sampling_rate'] = big(view.rate);
  const start = view.startMs;
  const end = view.endMs;
  if (start === start) fields['start_ms'] = BigInt(Math.round(start));
  if (end === end) fields['end_ms'] = BigInt(Math.round(end));
  const tags: Record<string, string> = { exporter: view.exporter, version: view.version, domain: String(view.domain) };
  for (const t of plan.tags) {
    const x = tagText(plan.convs[t.idx] as Conv, v[t.idx]);
    if (x !== undefined && x !== '') tags[t.name] = x;
  }
  return end === end ? makeRecord('flow', 'flow', tags, fields, end, 'exporter') : makeRecord('flow', 'flow', tags, fields, receivedAtMs, 'collector');
}

/** One flow Record per v9/IPFIX data record (a producer per call: for tools and tests, not the collector). */
export function normalizeData(rec: DataRecord, exporter: string, state: OptionsState, receivedAtMs: number): FlowRecord {
  const p = new Producer(state);
  p.message(rec.hdr, exporter);
  return recordOfData(p.data(rec), rec, receivedAtMs);
}

/** The flow Record of a v5 flow whose view was just filled. */
export function recordOfV5(view: FlowView, f: V5Flow): FlowRecord {
  const fields: Fields = {
    src_addr: ipv4ToString(f.srcAddr), dst_addr: ipv4ToString(f.dstAddr), next_hop: ipv4ToString(f.nextHop),
    src_port: big(f.srcPort), dst_port: big(f.dstPort), proto: big(f.proto),
    tcp_flags: big(f.tcpFlags), tos: big(f.tos), bytes: big(f.bytes), packets: big(f.packets),
    sampling_rate: big(view.rate), in_if: big(f.input), out_if: big(f.output),
    src_as: big(f.srcAs), dst_as: big(f.dstAs),
    source_ipv4_prefix_length: big(f.srcMask), destination_ipv4_prefix_length: big(f.dstMask),
    start_ms: BigInt(view.startMs), end_ms: BigInt(view.endMs),
  };
  return makeRecord('flow', 'flow', { exporter: view.exporter, version: '5', domain: String(view.domain) }, fields, view.endMs, 'exporter');
}

/** One flow Record per v5 flow; the header's sampling interval applies to all of them. */
export function normalizeV5(p: V5Packet, exporter: string): FlowRecord[] {
  const prod = new Producer(new OptionsState());
  return p.flows.map((f) => recordOfV5(prod.v5(p.header, f, exporter), f));
}

/** An options data record's values under their element names (for `netvigil decode`). */
export function optionsFields(rec: DataRecord): Fields {
  const tpl = rec.tpl;
  const f: Fields = {};
  for (let i = 0; i < tpl.names.length; i++) {
    const v = rec.values[i];
    const name = tpl.names[i] as string;
    if (v === undefined) continue;
    if (v instanceof Uint8Array) f[name] = hex(v);
    else if (tpl.kinds[i] === Kind.Ipv4) f[name] = ipv4ToString(v as number);
    else if (tpl.kinds[i] === Kind.Ipv6) f[name] = ip6KeyText(v as string);
    else if (typeof v === 'number' && Number.isInteger(v) && tpl.kinds[i] !== Kind.Float) f[name] = BigInt(v);
    else f[name] = typeof v === 'string' ? v.replace(/\0+$/, '') : v;
  }
  return f;
}
