import type { FieldValue, NetRecord } from './record.js';

// InfluxDB 1.x line protocol. Escaping rules differ per position:
// https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/#special-characters
const MEAS_RE = /[,\s\\]/;
const TAG_RE = /[,=\s\\]/;
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

export function escapeMeasurement(s: string): string {
  return MEAS_RE.test(s) ? s.replace(/\\/g, '\\\\').replace(/([, ])/g, '\\$1').replace(/\n/g, '\\n').replace(/\t/g, '\\t') : s;
}

/** Tag keys, tag values and field keys share these rules. Newlines cannot be represented: replaced by a space. */
export function escapeKey(s: string): string {
  return TAG_RE.test(s) ? s.replace(/\\/g, '\\\\').replace(/[\r\n\t]/g, ' ').replace(/([,= ])/g, '\\$1') : s;
}

function escapeString(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/**
 * Returns the field's line-protocol text, or undefined when the value cannot be written
 * (NaN/Infinity: InfluxDB rejects the whole batch for one of them).
 */
export function formatField(v: FieldValue): string | undefined {
  switch (typeof v) {
    case 'bigint':
      // InfluxDB 1.6 has no unsigned type by default; a counter past 2^63 (9.2 EB) is written as a float
      // rather than wrapping negative.
      return v <= INT64_MAX && v >= INT64_MIN ? `${v}i` : `${Number(v)}`;
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
 * One line of line protocol, timestamp in milliseconds. Tags keep the record's insertion order
 * (deterministic per collector); InfluxDB sorts them itself, and sorting here cost a third of the
 * serialization time. Returns undefined when no field is writable.
 */
export function toLine(r: NetRecord): string | undefined {
  let line = escapeMeasurement(r.measurement);
  for (const k in r.tags) {
    const v = r.tags[k];
    if (v === undefined || v === '') continue; // empty tag values are invalid in line protocol
    line += ',' + escapeKey(k) + '=' + escapeKey(v);
  }
  let sep = ' ';
  let any = false;
  for (const k in r.fields) {
    const v = r.fields[k];
    if (v === undefined) continue;
    const f = formatField(v);
    if (f === undefined) continue;
    line += sep + escapeKey(k) + '=' + f;
    sep = ',';
    any = true;
  }
  if (!any) return undefined;
  return line + ' ' + Math.round(r.time);
}

/** Serializes many records; records with no writable field are skipped and counted. */
export function toLines(records: readonly NetRecord[]): { text: string; lines: number; skipped: number } {
  const out: string[] = [];
  let skipped = 0;
  for (const r of records) {
    const l = toLine(r);
    if (l === undefined) skipped++;
    else out.push(l);
  }
  return { text: out.length ? out.join('\n') + '\n' : '', lines: out.length, skipped };
}
