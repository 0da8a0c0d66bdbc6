/**
 * Reading a server's "bad data" answer and the lines it refers to, so the sink can keep the good
 * points of a batch and name the bad ones. InfluxDB 1.x (and 2.x inside a JSON `message`) answers a
 * type conflict with
 *   partial write: field type conflict: input field "x" on measurement "m" is type float,
 *   already exists as type integer dropped=N
 * after storing every other point of the batch. Other answers (parse errors, points outside the
 * retention policy, limits) are classified by their text; the sink bisects to find their lines.
 * Rejects keeps the counts by measurement, field and reason and logs one example per reason per interval.
 */
import type { Logger } from '../../log.js';
import type { RejectedCount } from '../sink.js';

export interface Conflict {
  measurement: string;
  field: string;
  inputType: string;
  dropped: number | undefined;
}

const CONFLICT_RE = /field type conflict: input field "((?:[^"\\]|\\.)*)" on measurement "((?:[^"\\]|\\.)*)" is type (\w+), already exists as type (\w+)/;
const DROPPED_RE = /dropped=(\d+)/;

export function parseConflict(msg: string): Conflict | undefined {
  const m = CONFLICT_RE.exec(msg);
  if (!m) return undefined;
  const d = DROPPED_RE.exec(msg);
  return { field: unquote(m[1] ?? ''), measurement: unquote(m[2] ?? ''), inputType: m[3] ?? '', dropped: d ? Number(d[1]) : undefined };
}

function unquote(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

/** A short stable name for what the server objected to: the `reason` tag of the rejected counter. */
export function reasonOf(msg: string): string {
  if (/field type conflict/i.test(msg)) return 'field_type_conflict';
  if (/beyond retention policy/i.test(msg)) return 'beyond_retention';
  if (/max-values-per-tag|max-series-per-database|limit exceeded/i.test(msg)) return 'limit_exceeded';
  if (/bad timestamp|time outside range|invalid timestamp/i.test(msg)) return 'bad_timestamp';
  if (/unable to parse|invalid|parse error|expected/i.test(msg)) return 'unparsable';
  if (/too large|entity/i.test(msg)) return 'too_large';
  return 'other';
}

/** The unescaped measurement of a line (text before the first unescaped comma or space). */
export function lineMeasurement(line: string): string {
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === '\\' && i + 1 < line.length) {
      out += line[++i];
      continue;
    }
    if (c === ',' || c === ' ') break;
    out += c;
  }
  return out;
}

/**
 * The fields of a line as key -> InfluxDB type name (float, integer, unsigned, string, boolean).
 * Scans past the measurement and tag set (escaped spaces) and quoted string values.
 */
export function lineFieldTypes(line: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  // measurement and tags end at the first unescaped space
  for (; i < line.length; i++) {
    if (line[i] === '\\') i++;
    else if (line[i] === ' ') break;
  }
  i++;
  while (i < line.length) {
    let key = '';
    for (; i < line.length && line[i] !== '='; i++) {
      if (line[i] === '\\') i++;
      key += line[i] ?? '';
    }
    i++; // '='
    let type: string;
    if (line[i] === '"') {
      type = 'string';
      for (i++; i < line.length && line[i] !== '"'; i++) if (line[i] === '\\') i++;
      i++;
    } else {
      let v = '';
      for (; i < line.length && line[i] !== ',' && line[i] !== ' '; i++) v += line[i];
      const last = v[v.length - 1];
      type = last === 'i' ? 'integer' : last === 'u' ? 'unsigned' : /^[tTfF]/.test(v) ? 'boolean' : 'float';
    }
    out.set(key, type);
    if (line[i] !== ',') break;
    i++;
  }
  return out;
}

/** The lines the conflict names: same measurement, the field present with the refused type. */
export function conflictingLines(lines: readonly string[], c: Conflict): boolean[] {
  return lines.map((l) => lineMeasurement(l) === c.measurement && lineFieldTypes(l).get(c.field) === c.inputType);
}

/** The field a non-conflict answer names, if any (`input field "x"`, `field "x"`). */
export function namedField(msg: string): string {
  const m = /field "((?:[^"\\]|\\.)*)"/.exec(msg);
  return m ? unquote(m[1] ?? '') : '';
}

/** Distinct (measurement, field, reason) keys kept; past it counts go to ("", "", reason). */
const MAX_KEYS = 500;

export class Rejects {
  total = 0;
  private readonly counts = new Map<string, RejectedCount>();
  private readonly lastLog = new Map<string, number>();
  private readonly log: Logger;
  private readonly everyMs: number;

  constructor(log: Logger, everyMs: number) {
    this.log = log;
    this.everyMs = everyMs;
  }

  add(measurement: string, field: string, reason: string, points: number, message: string, example?: string): void {
    this.total += points;
    let key = `${measurement}\0${field}\0${reason}`;
    let c = this.counts.get(key);
    if (!c && this.counts.size >= MAX_KEYS) {
      key = `\0\0${reason}`;
      c = this.counts.get(key);
      measurement = field = '';
    }
    if (c) c.points += points;
    else this.counts.set(key, { measurement, field, reason, points });
    const now = Date.now();
    if (now - (this.lastLog.get(reason) ?? -Infinity) < this.everyMs) return;
    this.lastLog.set(reason, now);
    this.log.error({ reason, measurement, field, points, err: message, example: example?.slice(0, 500) }, 'InfluxDB rejected points as bad data; they are counted, not retried (one example per reason per interval)');
  }

  /** Attributes a type-conflict answer to its lines; undefined when the answer is no conflict or matches no line. */
  fromConflict(lines: readonly string[], msg: string): { bad: number; rest: string[]; dropped: number | undefined } | undefined {
    const c = parseConflict(msg);
    if (!c) return undefined;
    const flags = conflictingLines(lines, c);
    const rest: string[] = [];
    let first: string | undefined;
    lines.forEach((l, i) => {
      if (!flags[i]) rest.push(l);
      else first ??= l;
    });
    if (first === undefined) return undefined;
    const bad = lines.length - rest.length;
    this.add(c.measurement, c.field, 'field_type_conflict', bad, msg, first);
    return { bad, rest, dropped: c.dropped };
  }

  /** One line the server refused on its own. */
  fromAnswer(line: string, msg: string): void {
    this.add(lineMeasurement(line), namedField(msg), reasonOf(msg), 1, msg, line);
  }

  list(): RejectedCount[] {
    return [...this.counts.values()].map((c) => ({ ...c }));
  }
}

/** `dropped=N` of a 1.x partial-write answer. */
export function droppedCount(msg: string): number | undefined {
  const m = /dropped=(\d+)/.exec(msg);
  return m ? Number(m[1]) : undefined;
}

export function splitLines(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0 && l[0] !== '#');
}
