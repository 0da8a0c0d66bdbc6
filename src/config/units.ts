import { z } from 'zod';

/** One or more `<number><unit>` terms, largest unit first by convention: "1m30s", "1h", "250ms". */
const DURATION_TERM_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$/;
const SIZE: Record<string, number> = { B: 1, KB: 1e3, KiB: 1024, MB: 1e6, MiB: 1024 ** 2, GB: 1e9, GiB: 1024 ** 3 };
const DURATION_EXAMPLES = '"500ms", "10s", "1m30s", "1h" or "7d"';

/**
 * Parses "250ms", "10s", "1m30s", "1h", "7d" (terms may be combined, spaces between them allowed)
 * to milliseconds. A number is taken as milliseconds: that is for callers in code, the config's
 * `duration()` refuses a bare number because `interval: 60` reads as seconds to most people.
 */
export function parseDuration(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : undefined;
  const s = v.replace(/\s+/g, '');
  if (!DURATION_RE.test(s)) return undefined;
  let ms = 0;
  for (const m of s.matchAll(DURATION_TERM_RE)) ms += Number(m[1]) * (DURATION_MS[m[2] ?? 'ms'] ?? 1);
  return ms;
}

/** Parses "64MiB", "1GB", "4096" to bytes. */
export function parseSize(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
  const m = SIZE_RE.exec(v.trim());
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * (SIZE[m[2] ?? 'B'] ?? 1));
}

/**
 * Depth of `fromConfigText` calls in progress. A bare number in a config file is refused, but the
 * same schemas also validate values code hands them, where a number is milliseconds: a collector's
 * reload re-validates its already-parsed block, tests build configs from objects. Parsing is
 * synchronous, so the counter cannot leak into another parse.
 */
let configTextDepth = 0;

/** Runs a synchronous schema parse of values read from a config file (or flag, or environment). */
export function fromConfigText<T>(parse: () => T): T {
  configTextDepth++;
  try {
    return parse();
  } finally {
    configTextDepth--;
  }
}

/** Why `v` is not an acceptable duration, or its milliseconds. */
function checkDuration(v: string | number, zero: boolean): { ms: number } | { problem: string } {
  if (typeof v === 'number') {
    if (v === 0 || configTextDepth === 0) {
      if (!Number.isFinite(v) || v < 0) return { problem: `must not be negative, got ${v}` };
      return v > 0 || zero ? { ms: v } : { problem: 'must be greater than zero' };
    }
    // In a file 0 means the same in every unit; anything else needs one.
    return { problem: `needs a unit: write "${v}s" for seconds or "${v}ms" for milliseconds (a bare number is ambiguous)` };
  }
  if (/^\s*-/.test(v)) return { problem: `must not be negative, got ${JSON.stringify(v)}` };
  const ms = parseDuration(v);
  if (ms === undefined) return { problem: `expected a duration like ${DURATION_EXAMPLES}, got ${JSON.stringify(v)}` };
  if (ms === 0 && !zero) return { problem: 'must be greater than zero' };
  return { ms };
}

/**
 * Zod type for a duration written with a unit ("10s", "1m30s"); output is milliseconds. Zero is
 * refused unless `zero` says it means something (e.g. "recover at once"): a zero interval would
 * spin and a zero timeout would fail every request.
 */
export function duration(opts: { zero?: boolean } = {}): z.ZodType<number, string | number> {
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    const r = checkDuration(v, opts.zero ?? false);
    if ('problem' in r) {
      ctx.addIssue({ code: 'custom', message: r.problem });
      return z.NEVER;
    }
    return r.ms;
  }) as unknown as z.ZodType<number, string | number>;
}

/** Zod type for a size written as "64MiB" (or a number of bytes); output is bytes. */
export function size(): z.ZodType<number, string | number> {
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    const b = parseSize(v);
    if (b === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a size like "512KiB", "64MiB" or "1GB", got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return b;
  }) as unknown as z.ZodType<number, string | number>;
}
