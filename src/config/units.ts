import { z } from 'zod';

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$/;
const SIZE: Record<string, number> = { B: 1, KB: 1e3, KiB: 1024, MB: 1e6, MiB: 1024 ** 2, GB: 1e9, GiB: 1024 ** 3 };

/** Parses "250ms", "10s", "5m", "1h", "7d" to milliseconds; a bare number is milliseconds. */
export function parseDuration(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : undefined;
  const m = DURATION_RE.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * (DURATION_MS[m[2] ?? 'ms'] ?? 1);
}

/** Parses "64MiB", "1GB", "4096" to bytes. */
export function parseSize(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
  const m = SIZE_RE.exec(v.trim());
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * (SIZE[m[2] ?? 'B'] ?? 1));
}

/** Zod type for a duration written as "10s" (or a number of milliseconds); output is milliseconds. */
export function duration(): z.ZodType<number, string | number> {
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like "500ms", "10s", "5m", "1h" or "7d", got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return ms;
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
