/**
 * Config of the per-exporter clock policy (`timestamps`, timestamps.ts) and of the data-path
 * thresholds (`exporter_path`, path.ts) under `collectors.flow`.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { duration } from '../../src/collector.js';

const mode = z.enum(['exporter', 'receive', 'auto']);

export const timestampsSchema = z
  .strictObject({
    /** Which clock flow start/end times are read on, for exporters not listed below. */
    default: mode.default('auto'),
    /** `auto`: beyond this |offset| flow times are re-anchored on receive time (back below half of it). */
    max_offset: duration().default(5000),
    /** Per exporter address (as the datagrams come from): `exporter`, `receive` or `auto`. */
    exporters: z
      .record(z.string(), mode)
      // zod reports a refused record key without its message: named here, at the key's path, also
      // when a value was refused too (every problem at once)
      .check(
        z.superRefine((m: Record<string, unknown>, ctx) => {
          for (const k of Object.keys(m)) if (isIP(k) === 0) ctx.addIssue({ code: 'custom', path: [k], message: `"${k}" is not an IP address: keys are exporter addresses as datagrams come from` });
        }, { when: (p) => typeof p.value === 'object' && p.value !== null }),
      )
      .default({}),
  })
  .prefault({});

/** A threshold: crossing it in a stats interval is the `exporter_path` verdict reason; null = off. */
const limit = (d: number | null) => z.number().nonnegative().nullable().default(d);

export const pathSchema = z
  .strictObject({
    /** Units lost / (received + lost), % (units per protocol: loss.ts). */
    lost_pct: limit(1),
    /** Datagrams that arrived after a later one, % of datagrams. */
    reordered_pct: limit(1),
    /** Datagrams whose units had already arrived, % of datagrams. */
    duplicated_pct: limit(1),
    /** p99 - p50 of receive time - export time over the exporter's last 256 datagrams, ms. */
    jitter_ms: limit(null),
    /** Fewer datagrams than this in a stats interval say nothing about a rate. */
    min_datagrams: z.number().int().positive().default(50),
  })
  .prefault({});

export type PathConfig = z.output<typeof pathSchema>;
