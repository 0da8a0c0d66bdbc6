/**
 * `xcheck:` — the flow-vs-SNMP cross-check (README "Cross-check"). On when the block is present
 * and `enabled` is not false; it needs the flow collector and SNMP polling of the exporters, in one
 * process or, on a bus, a poller's counters shared with processors (src/bus/ifcounters.ts).
 */
import { z } from 'zod';
import { duration } from '../config/units.js';

export const xcheckSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** flow bytes / SNMP octets outside [low, high] is out of band. */
    low: z.number().positive().default(0.8).describe('ratio (flow bytes / SNMP octets) below which a window is out of band'),
    high: z.number().positive().default(1.25).describe('ratio above which a window is out of band'),
    intervals: z.number().int().min(1).max(1000).default(3).describe('consecutive windows out of band (or back in band) that raise (or clear) a finding'),
    min_octets: z.number().int().min(0).default(100_000).describe('windows with fewer SNMP octets than this in a direction are not judged in it (idle links make noisy ratios)'),
    max_wait: duration().default(300_000).describe('how long a flow interval waits for the SNMP polls around it before it is dropped unjudged'),
  })
  .refine((c) => c.low < c.high, { message: 'low must be below high', path: ['low'] });

export type XcheckConfig = z.output<typeof xcheckSchema>;
