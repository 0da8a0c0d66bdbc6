import type { FieldValue, NetRecord } from './record.js';

// InfluxDB line protocol. Escaping rules differ per position:
// https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/#special-characters
const MEAS_RE = /[,\s\\]/;
const TAG_RE = /[,=\s\\]/;
const STR_RE = /["\\\r\n]/;
export const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const INT64_MAX_TEXT = `${INT64_MAX}i`;

export function escapeMeasurement(s: string): string {
  return MEAS_RE.test(s) ? s.replace(/\\/g, '\\\\').replace(/([, ])/g, '\\$1').replace(/\n/g, '\\n').replace(/\t/g, '\\t') : s;
}

/** Tag keys, tag values and field keys share these rules. Newlines cannot be represented: replaced by a space. */
export function escapeKey(s: string): string {
  return TAG_RE.test(s) ? s.replace(/\\/g, '\\\\').replace(/[\r\n\t]/g, ' ').replace(/([,= ])/g, '\\$1') : s;
}

/**
 * String field values escape only `"` and `\` (the spec has no escape for a line feed). A raw line
 * feed is legal over HTTP but splits the line for `influx -import` and every line-based tool, so CR
 * and LF are written as the two characters `\r` / `\n` (backslash + letter), which InfluxDB stores
 * literally. A stored `\n` therefore reads back as a line feed; the rule is in the README.
 */
export function escapeString(s: string): string {
  return STR_RE.test(s) ? s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r/g, '\\r').replace(/\n/g, '\\n') : s;
}

/** How integers are written: `int64` (InfluxDB 1.x) or `unsigned` (`u` for values >= 0; 2.x, 3.x, VictoriaMetrics). */
export type IntegerMode = 'int64' | 'unsigned';

/** Timestamp unit of the written lines (the `precision` the server is told). */
export type Precision = 's' | 'ms' | 'us' | 'ns';

export interface LineOptions {
  integers?: IntegerMode;
  precision?: Precision;
}

/** Record times are ms with a fraction; ns is written as us + "000" because ms * 1e6 exceeds 2^53. */
function stamp(ms: number, p: Precision | undefined): string {
  switch (p) {
    case 's':
      return `${Math.round(ms / 1000)}`;
    case 'us':
      return `${Math.round(ms * 1000)}`;
    case 'ns':
      return `${Math.round(ms * 1000)}000`;
    default:
      return `${Math.round(ms)}`;
  }
}

/** Per-call counters of values that had to be changed to be writable. */
export interface LineCounts {
  /** Integers outside the target type's range, written as its bound (counted, never turned into floats). */
  clamped: number;
}

const UINT64_MAX = 18446744073709551615n;

/**
 * Returns the field's line-protocol text, or undefined when the value cannot be written
 * (NaN/Infinity: InfluxDB rejects the whole batch for one of them).
 *
 * InfluxDB 1.x has no unsigned integers: a Counter64 above 2^63-1 (9.2 EB) is written as 2^63-1,
 * as Telegraf does without `influx_uint_support`. A float instead would refuse the point on a field
 * type conflict and lose its whole record. Rates are computed on the exact bigint before this.
 */
export function formatField(v: FieldValue, integers: IntegerMode = 'int64', counts?: LineCounts): string | undefined {
  switch (typeof v) {
    case 'bigint':
      if (integers === 'unsigned' && v >= 0n) {
        if (v <= UINT64_MAX) return `${v}u`;
        if (counts) counts.clamped++;
        return `${UINT64_MAX}u`;
      }
      if (v <= INT64_MAX && v >= INT64_MIN) return `${v}i`;
      if (counts) counts.clamped++;
      return v > 0n ? INT64_MAX_TEXT : `${INT64_MIN}i`;
    case 'number':
      return Number.isFinite(v) ? `${v}` : undefined;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'string':
      return `"${escapeString(v)}"`;
  }
  return undefined;
}

/**
 * One line of line protocol, timestamp in milliseconds unless `opts.precision` says otherwise. Tags keep the record's insertion order
 * (deterministic per collector); InfluxDB sorts them itself, and sorting here cost a third of the
 * serialization time. Returns undefined when no field is writable.
 */
export function toLine(r: NetRecord, opts: LineOptions = {}, counts?: LineCounts): string | undefined {
  let line = escapeMeasurement(r.measurement);
  for (const k in r.tags) {
    const v = r.tags[k];
    if (v === undefined || v === '') continue; // empty tag values are invalid in line protocol
    line += ',' + escapeKey(k) + '=' + escapeKey(v);
  }
  let sep = ' ';
  let any = false;
  const integers = opts.integers ?? 'int64';
  for (const k in r.fields) {
    const v = r.fields[k];
    if (v === undefined) continue;
    const f = formatField(v, integers, counts);
    if (f === undefined) continue;
    line += sep + escapeKey(k) + '=' + f;
    sep = ',';
    any = true;
  }
  if (!any) return undefined;
  return line + ' ' + (opts.precision === undefined ? Math.round(r.time) : stamp(r.time, opts.precision));
}

/** Serializes many records; records with no writable field are skipped and counted, clamped values counted. */
export function toLines(records: readonly NetRecord[], opts: LineOptions = {}): { text: string; lines: number; skipped: number; clamped: number } {
  const out: string[] = [];
  const counts: LineCounts = { clamped: 0 };
  let skipped = 0;
  for (const r of records) {
    const l = toLine(r, opts, counts);
    if (l === undefined) skipped++;
    else out.push(l);
  }
  return { text: out.length ? out.join('\n') + '\n' : '', lines: out.length, skipped, clamped: counts.clamped };
}
