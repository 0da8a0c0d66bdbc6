/**
 * Decoded v5/v9/IPFIX structures -> flow Records of the agreed schema (README.md). Pure: the only
 * state is the OptionsState the caller owns, fed by options data (sampling rates, exporter boot time,
 * interface names) so normalization uses it instead of merely passing it on.
 */
import { makeRecord, type Fields, type FlowRecord } from '../../src/record/record.js';
import { ipv4ToString } from '../../src/wire/reader.js';
import { ip6KeyText } from '../../src/wire/ip6key.js';
import type { DataRecord, MessageHeader } from './compile.js';
import { Kind } from './elements.js';
import type { OptionsState } from './options.js';
import { big } from '../../src/record/bigint.js';
import { Conv, hex, num, planFor, tagText } from './plan.js';
import type { V5Packet } from './v5.js';

export { OptionsState } from './options.js';

/** The per-message normalization cache (tag text, the domain's sampling rate), made by the first record. */
export function memoFor(hdr: MessageHeader, exporter: string, state: OptionsState): NonNullable<MessageHeader['memo']> {
  const memo = hdr.memo;
  if (memo && memo.exporter === exporter) return memo;
  const init = hdr.version === 10 ? state.sysInit.get(`${exporter}|${hdr.domain}`) : undefined;
  return (hdr.memo = {
    exporter,
    version: String(hdr.version),
    domain: String(hdr.domain),
    rates: state.domainRates(exporter, hdr.domain),
    sysInitMs: init,
  });
}

/**
 * One flow Record per v9/IPFIX data record. Times: v9 sysUptime-relative (RFC 3954 §8 FIRST/LAST_SWITCHED)
 * are made absolute from the header; IPFIX absolute, delta (RFC 7011 §B.2 relative to export time) or
 * sysUpTime with the exporter's systemInitTimeMilliseconds from options.
 */
export function normalizeData(rec: DataRecord, exporter: string, state: OptionsState, receivedAtMs: number): FlowRecord {
  const plan = planFor(rec.tpl);
  const v = rec.values;
  const hdr = rec.hdr;
  const memo = memoFor(hdr, exporter, state);
  const fields = plan.build(v);
  const exportMs = hdr.exportTimeSec * 1000;
  let start: number | undefined;
  let end: number | undefined;
  for (const i of plan.timeIdx) {
    const t = num(v[i]);
    if (t === undefined) continue;
    const c = plan.convs[i] as Conv;
    let abs: number | undefined;
    if (c === Conv.UptimeStart || c === Conv.UptimeEnd) {
      // The signed 32-bit difference from the uptime at export survives sysUptime wrapping after
      // 49.7 days. IPFIX (RFC 7011 §B.2 IE 21/22 with IE 160) has no uptime in its header: it is
      // export time - systemInitTime. Adding IE 22 to the init time directly would misplace flows
      // stamped with a wrapped uptime (softflowd does this) by +2^32 ms.
      const uptime = hdr.version === 9 ? hdr.sysUptimeMs : memo.sysInitMs !== undefined ? exportMs - memo.sysInitMs : undefined;
      abs = uptime === undefined ? undefined : exportMs - ((uptime - t) | 0);
    } else if (c === Conv.DeltaStart || c === Conv.DeltaEnd) abs = exportMs - t / 1000;
    else abs = t;
    if (c === Conv.UptimeStart || c === Conv.AbsStart || c === Conv.DeltaStart) start = abs;
    else end = abs;
  }
  fields['sampling_rate'] = big(Math.max(1, Math.round(state.rateFor(plan, v, memo.rates))));
  if (start !== undefined) fields['start_ms'] = BigInt(Math.round(start));
  if (end !== undefined) fields['end_ms'] = BigInt(Math.round(end));
  const tags: Record<string, string> = { exporter, version: memo.version, domain: memo.domain };
  for (const t of plan.tags) {
    const x = tagText(plan.convs[t.idx] as Conv, v[t.idx]);
    if (x !== undefined && x !== '') tags[t.name] = x;
  }
  return end !== undefined
    ? makeRecord('flow', 'flow', tags, fields, end, 'exporter')
    : makeRecord('flow', 'flow', tags, fields, receivedAtMs, 'collector');
}

/** One flow Record per v5 flow; the header's sampling interval applies to all of them. */
export function normalizeV5(p: V5Packet, exporter: string): FlowRecord[] {
  const h = p.header;
  const exportMs = h.unixSecs * 1000 + Math.floor(h.unixNsecs / 1e6);
  const rate = BigInt(h.samplingInterval > 0 ? h.samplingInterval : 1);
  const tags = { exporter, version: '5', domain: String((h.engineType << 8) | h.engineId) };
  const out: FlowRecord[] = new Array<FlowRecord>(p.flows.length);
  for (let i = 0; i < p.flows.length; i++) {
    const f = p.flows[i] as V5Packet['flows'][number];
    const start = exportMs - ((h.sysUptimeMs - f.first) | 0);
    const end = exportMs - ((h.sysUptimeMs - f.last) | 0);
    const fields: Fields = {
      src_addr: ipv4ToString(f.srcAddr), dst_addr: ipv4ToString(f.dstAddr), next_hop: ipv4ToString(f.nextHop),
      src_port: big(f.srcPort), dst_port: big(f.dstPort), proto: big(f.proto),
      tcp_flags: big(f.tcpFlags), tos: big(f.tos), bytes: big(f.bytes), packets: big(f.packets),
      sampling_rate: rate, in_if: big(f.input), out_if: big(f.output),
      src_as: big(f.srcAs), dst_as: big(f.dstAs),
      source_ipv4_prefix_length: big(f.srcMask), destination_ipv4_prefix_length: big(f.dstMask),
      start_ms: BigInt(start), end_ms: BigInt(end),
    };
    out[i] = makeRecord('flow', 'flow', { ...tags }, fields, end, 'exporter');
  }
  return out;
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
