/**
 * The oracle for the producer tests: the FlowView a flow Record describes, read back from the
 * Record's fields and tags (address text parsed to keys). The collector never does this; tests use
 * it to hold the producer's view equal to the Record of the same flow.
 */
import type { FieldValue, FlowRecord } from '../../src/record/record.js';
import { ip6KeyFromText } from '../../src/wire/ip6key.js';
import { familyOf, FlowView, type Key } from '../../collectors/flow/view.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function valueKey(v: FieldValue | undefined): Key {
  if (v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : String(v);
  return String(v);
}

/** Dotted-quad text to uint32, or -1 unless it is canonical (what ipv4ToString prints). */
export function parseIpv4(s: string): number {
  const m = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/.exec(s);
  if (!m) return -1;
  const p = m.slice(1).map(Number);
  if (p.some((x) => x > 255)) return -1;
  return (((p[0] as number) * 256 + (p[1] as number)) * 256 + (p[2] as number)) * 256 + (p[3] as number);
}

/** Key of address text: IPv4 as uint32, IPv6 as its byte key, else the text. */
export function addressKey(v: FieldValue | undefined): Key {
  if (typeof v !== 'string') return valueKey(v);
  const n = parseIpv4(v);
  return n >= 0 ? n : (ip6KeyFromText(v) ?? v);
}

function time(v: FieldValue | undefined): number {
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : NaN;
}

/** `addresses`: mapped dimensions of addresses, keyed like the built-in ones (config.ts mappedAddresses). */
export function viewFromRecord(r: FlowRecord, mapped: readonly string[] = [], addresses: readonly string[] = []): FlowView {
  const f = r.fields;
  const w = new FlowView(mapped);
  w.exporter = r.tags['exporter'] ?? '';
  w.version = r.tags['version'] ?? '';
  w.domain = Number(r.tags['domain'] ?? 0);
  w.inIf = valueKey(f['in_if']);
  w.outIf = valueKey(f['out_if']);
  w.proto = valueKey(f['proto']);
  w.srcAs = valueKey(f['src_as']);
  w.dstAs = valueKey(f['dst_as']);
  w.srcPort = valueKey(f['src_port']);
  w.dstPort = valueKey(f['dst_port']);
  w.tos = valueKey(f['tos']);
  w.vlan = valueKey(f['vlan']);
  w.nextHop = addressKey(f['next_hop']);
  w.src = addressKey(f['src_addr']);
  w.dst = addressKey(f['dst_addr']);
  w.family = familyOf(w.src);
  mapped.forEach((m, j) => (w.mapped[j] = addresses.includes(m) ? addressKey(f[m]) : valueKey(f[m])));
  const rate = f['sampling_rate'];
  w.rate = typeof rate === 'bigint' && rate > 0n ? Number(rate) : 1;
  const vol = (x: FieldValue | undefined): number => (typeof x === 'number' ? x : typeof x === 'bigint' ? Number(x) : 0);
  w.bytes = vol(f['bytes']);
  w.packets = vol(f['packets']);
  w.startMs = time(f['start_ms']);
  w.endMs = time(f['end_ms']);
  return w;
}

/** A copy of a (reused) view, to keep past the producer's next record. */
export function copyView(v: FlowView): FlowView {
  const c = Object.assign(new FlowView(v.mappedNames), v);
  return Object.assign(c, { mapped: [...v.mapped] });
}
