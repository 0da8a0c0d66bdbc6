/**
 * Templates compiled once into flat per-field tables, so a data record decodes in one tight loop with
 * no allocation besides the value array (habit 6: precompute for the hot path).
 */
import { DecodeError } from '../../src/errors.js';
import { Kind, VARIABLE_LENGTH, elementFieldName, ianaElement, v9ScopeName } from './elements.js';
import { fieldKey, kindOf, type FieldMap, type MappedField } from './fields.js';
import { readValue } from './values.js';

export interface FieldSpec {
  /** Element id without the enterprise bit (RFC 7011 §3.2), or the v9 scope type for v9 scope fields. */
  id: number;
  /** Private Enterprise Number, 0 for IANA elements. */
  pen: number;
  length: number;
}

export interface TemplateDef {
  version: 9 | 10;
  id: number;
  /** The first `scopeCount` fields are scope fields (options templates only). */
  scopeCount: number;
  options: boolean;
  fields: FieldSpec[];
}

/**
 * A decoded element value: unsigned integers past 2^53 stay bigint; IPv4 addresses stay 32-bit numbers
 * (text is made in normalization, off the decode path); octets are views into the datagram.
 */
export type Value = number | bigint | string | boolean | Uint8Array | undefined;

/** What normalization needs from the message a data record came in (shared by its records). */
export interface MessageHeader {
  version: 9 | 10;
  /** Export time, seconds since the epoch (v9 unix_secs, IPFIX Export Time). */
  exportTimeSec: number;
  /** v9 only: milliseconds since the exporter booted (RFC 3954 §5.1 sysUpTime). */
  sysUptimeMs: number;
  sequence: number;
  /** v9 Source ID / IPFIX Observation Domain ID. */
  domain: number;
}

export interface DataRecord {
  tpl: CompiledTemplate;
  values: Value[];
  hdr: MessageHeader;
}


/** The kind a field is actually decoded as, given its (possibly reduced, RFC 7011 §6.2) length. */
function effectiveKind(kind: Kind, len: number): Kind {
  if (len === VARIABLE_LENGTH) return kind === Kind.String || kind === Kind.List ? kind : Kind.Octets;
  switch (kind) {
    case Kind.Unsigned:
    case Kind.Signed:
      return len >= 1 && len <= 8 ? kind : Kind.Octets;
    case Kind.Float:
      return len === 4 || len === 8 ? kind : Kind.Octets;
    case Kind.Boolean:
      return len === 1 ? kind : Kind.Octets;
    case Kind.Mac:
      return len === 6 ? kind : Kind.Octets;
    case Kind.Ipv4:
      return len === 4 ? kind : Kind.Octets;
    case Kind.Ipv6:
      return len === 16 ? kind : Kind.Octets;
    case Kind.DateSeconds:
      return len === 4 ? kind : Kind.Octets;
    case Kind.DateMillis:
    case Kind.DateMicros:
    case Kind.DateNanos:
      return len === 8 ? kind : Kind.Octets;
    default:
      return kind;
  }
}

export class CompiledTemplate {
  readonly def: TemplateDef;
  readonly names: string[];
  /** IANA id for enterprise-0 fields, -1 for enterprise and v9 scope fields. */
  readonly ianaIds: Int32Array;
  readonly kinds: Uint8Array;
  readonly lengths: Uint16Array;
  /** Smallest encoded record: variable-length fields count 1 byte (RFC 7011 §7). */
  readonly minLength: number;
  /** The user mapping of each field (fields.ts), undefined where none applies. */
  readonly mapped: (MappedField | undefined)[];
  /** Straight-line decoder for templates without variable-length fields (most of them). */
  private readonly fixed: FixedDecoder | undefined;

  constructor(def: TemplateDef, fields?: FieldMap) {
    this.def = def;
    const n = def.fields.length;
    this.mapped = new Array<MappedField | undefined>(n);
    this.names = new Array<string>(n);
    this.ianaIds = new Int32Array(n);
    this.kinds = new Uint8Array(n);
    this.lengths = new Uint16Array(n);
    let min = 0;
    for (let i = 0; i < n; i++) {
      const f = def.fields[i] as FieldSpec;
      const v9Scope = def.version === 9 && i < def.scopeCount;
      const info = v9Scope || f.pen !== 0 ? undefined : ianaElement(f.id);
      this.names[i] = v9Scope ? v9ScopeName(f.id) : elementFieldName(f.id, f.pen);
      this.ianaIds[i] = v9Scope || f.pen !== 0 ? -1 : f.id;
      this.kinds[i] = effectiveKind(info ? info.kind : v9Scope ? Kind.Unsigned : Kind.Octets, f.length);
      // resolved here, once per template: the record decoder never looks the mapping up
      const m = v9Scope || !fields ? undefined : fields.get(fieldKey(f.pen, f.id));
      if (m) {
        this.mapped[i] = m;
        this.names[i] = m.name;
        this.kinds[i] = effectiveKind(kindOf(m.type, f.length), f.length);
      }
      this.lengths[i] = f.length;
      min += f.length === VARIABLE_LENGTH ? 1 : f.length;
    }
    this.minLength = min;
    this.fixed = this.lengths.includes(VARIABLE_LENGTH) ? undefined : compileFixed(this.kinds, this.lengths);
  }

  /**
   * Decodes one data record starting at `pos`, writing into `out`; returns the position after it.
   * Every length, including variable-length prefixes, is checked against `end` before use.
   */
  decode(view: DataView, bytes: Uint8Array, pos: number, end: number, out: Value[], protocol: string): number {
    if (this.fixed) {
      if (pos + this.minLength > end) throw new DecodeError(protocol, pos, 'record', 'truncated', `need ${this.minLength} bytes`);
      this.fixed(view, bytes, pos, out);
      return pos + this.minLength;
    }
    const kinds = this.kinds;
    const lengths = this.lengths;
    const n = kinds.length;
    for (let i = 0; i < n; i++) {
      let len = lengths[i] as number;
      if (len === VARIABLE_LENGTH) {
        // RFC 7011 §7: 1-byte length, or 255 followed by a 2-byte length.
        if (pos >= end) throw new DecodeError(protocol, pos, this.names[i] as string, 'truncated', 'variable length');
        len = bytes[pos++] as number;
        if (len === 255) {
          if (pos + 2 > end) throw new DecodeError(protocol, pos, this.names[i] as string, 'truncated', 'variable length');
          len = view.getUint16(pos);
          pos += 2;
        }
      }
      if (pos + len > end) throw new DecodeError(protocol, pos, this.names[i] as string, 'truncated', `need ${len} bytes`);
      out[i] = readValue(kinds[i] as Kind, view, bytes, pos, len);
      pos += len;
    }
    return pos;
  }
}

type FixedDecoder = (view: DataView, bytes: Uint8Array, pos: number, out: Value[]) => void;
type Generic = (kind: Kind, view: DataView, bytes: Uint8Array, pos: number, len: number) => Value;

/**
 * Compiles a fixed-length template into straight-line code (pino's habit: precompute the hot path).
 * The generated source contains only numeric offsets and lengths from the template, never wire
 * text, and the caller checks the record's full length once before calling it.
 */
function compileFixed(kinds: Uint8Array, lengths: Uint16Array): FixedDecoder {
  let src = '';
  let o = 0;
  for (let i = 0; i < kinds.length; i++) {
    const k = kinds[i] as Kind;
    const len = lengths[i] as number;
    const at = `p + ${o}`;
    let expr: string;
    if ((k === Kind.Unsigned && len === 4) || k === Kind.Ipv4) expr = `v.getUint32(${at})`;
    else if (k === Kind.Unsigned && len === 2) expr = `v.getUint16(${at})`;
    else if (k === Kind.Unsigned && len === 1) expr = `b[${at}]`;
    else if (k === Kind.Unsigned && len === 8) expr = `((h = v.getUint32(${at})) < 0x200000 ? h * 4294967296 + v.getUint32(${at} + 4) : v.getBigUint64(${at}))`;
    else expr = `g(${k}, v, b, ${at}, ${len})`;
    src += `out[${i}] = ${expr};\n`;
    o += len;
  }
  const factory = new Function('g', `return function fixedRecord(v, b, p, out) {\nlet h = 0;\n${src}};`) as (g: Generic) => FixedDecoder;
  return factory(readValue);
}

/**
 * Decodes every record of one data set body [start, end). Trailing bytes shorter than the template's
 * minimum record are padding (RFC 7011 §3.3.1, RFC 3954 §5.3), not a record.
 */
export function decodeDataSet(
  tpl: CompiledTemplate,
  view: DataView,
  bytes: Uint8Array,
  start: number,
  end: number,
  hdr: MessageHeader,
  out: DataRecord[],
  protocol: string,
  spare?: DataRecord[],
): number {
  const min = tpl.minLength > 0 ? tpl.minLength : 1;
  const n = tpl.kinds.length;
  let pos = start;
  let count = 0;
  while (end - pos >= min) {
    const rec = recordAt(out.length, tpl, n, hdr, spare);
    const next = tpl.decode(view, bytes, pos, end, rec.values, protocol);
    // a record must consume bytes, or a template of zero-length fields would loop forever
    if (next <= pos) throw new DecodeError(protocol, pos, 'record', 'bad_template', 'template records have no length');
    pos = next;
    out.push(rec);
    count++;
  }
  return count;
}

/** Records kept for reuse: more than a datagram of 4-byte records holds is never needed. */
const MAX_SPARE = 16_384;

/**
 * The object for a message's k-th data record. With `spare` (a caller that reads each message's
 * records before it decodes the next: the collector, `netvigil decode`) the k-th record of an
 * earlier message is reused, values array and all, so decoding allocates nothing per record; its
 * values past `n` are an earlier template's and never read (every reader indexes by template field).
 */
function recordAt(k: number, tpl: CompiledTemplate, n: number, hdr: MessageHeader, spare: DataRecord[] | undefined): DataRecord {
  const rec = spare === undefined ? undefined : spare[k];
  if (rec === undefined) {
    const fresh: DataRecord = { tpl, values: new Array<Value>(n), hdr };
    if (spare !== undefined && k < MAX_SPARE) spare[k] = fresh;
    return fresh;
  }
  rec.tpl = tpl;
  rec.hdr = hdr;
  if (rec.values.length < n) rec.values = new Array<Value>(n);
  return rec;
}

/** Outcome of decoding one v9 or IPFIX message. */
export interface FlowMessage {
  hdr: MessageHeader;
  /** Data records (flows and options) from this message, then any parked sets its templates unlocked. */
  records: DataRecord[];
  /** Data records carried by this message's own sets (sequence accounting); -1 when unknown. */
  dataRecords: number;
  /** Of those, options records (some exporters leave them out of their numbering). */
  optionRecords: number;
  templates: number;
  withdrawn: number;
  /** Data sets parked for a template not yet known. */
  parked: number;
  /** Data sets that could not even be parked (buffer full). */
  parkDropped: number;
  /** Records decoded from previously parked sets. */
  fromPending: number;
  /** Sets that could not be decoded (the rest of the message was kept); see `forEachSet`. */
  errors: DecodeError[];
  /** Record objects to reuse (decodeDataSet), when the caller passed them. */
  spare?: DataRecord[];
}
