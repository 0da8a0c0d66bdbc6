/**
 * "Did you mean" for unknown config keys: the valid keys at the same place in the schema, and the
 * one nearest to what was written. Nearest is by edit distance (a typo), by containment
 * (`netflow` for `flow`, `flush` for `flush_interval`), or by a protocol name people try for a
 * collector that handles several.
 */
import type { z } from 'zod';

/** Protocols the one `flow` collector takes, and other names people reach for. */
const ALIASES: Record<string, string> = { netflow: 'flow', ipfix: 'flow', sflow: 'flow', traps: 'snmptrap', trap: 'snmptrap' };

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  getter?: () => z.ZodType;
}
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The object schema under wrappers (optional, default, transform pipes, ...), if there is one. */
function unwrap(s: z.ZodType | undefined, depth = 0): z.ZodType | undefined {
  if (!s || depth > 20) return undefined;
  const d = defOf(s);
  if (d.type === 'object' || d.type === 'array' || d.type === 'record') return s;
  if (d.innerType) return unwrap(d.innerType, depth + 1);
  if (d.type === 'pipe') return unwrap(d.in, depth + 1);
  if (d.type === 'lazy' && d.getter) return unwrap(d.getter(), depth + 1);
  if (d.type === 'union') for (const o of d.options ?? []) {
    const u = unwrap(o, depth + 1);
    if (u) return u;
  }
  return undefined;
}

/** The keys a mapping at `path` may hold, empty when the schema cannot say. */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s = unwrap(schema);
  for (const p of path) {
    if (!s) return [];
    const d = defOf(s);
    if (d.type === 'object') s = unwrap(d.shape?.[String(p)]);
    else if (d.type === 'array') s = unwrap(d.element);
    else if (d.type === 'record') s = unwrap(d.valueType);
    else return [];
  }
  return s && defOf(s).type === 'object' ? Object.keys(defOf(s).shape ?? {}) : [];
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** The valid key nearest to `key`, or undefined when none is near enough to be a likely meaning. */
export function nearestKey(key: string, valid: readonly string[]): string | undefined {
  const k = key.toLowerCase().replace(/-/g, '_');
  const alias = ALIASES[k];
  if (alias && valid.includes(alias)) return alias;
  let best: { key: string; score: number } | undefined;
  for (const v of valid) {
    const d = editDistance(k, v);
    const near = d <= Math.max(2, Math.floor(v.length / 3));
    const contains = Math.min(k.length, v.length) >= 3 && (k.includes(v) || v.includes(k));
    if (!near && !contains) continue;
    const score = near ? d : d + 10;
    if (!best || score < best.score) best = { key: v, score };
  }
  return best?.key;
}
