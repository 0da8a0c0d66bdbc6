import { z } from 'zod';
import { duration, size } from '../../src/collector.js';
import { DIMENSIONS, TALKER_KEYS } from './aggregate.js';
import { isCidr } from './cidr.js';
import { DERIVED_DIMENSIONS, isDerived } from './derived.js';
import { samplingSchema } from './sampling.js';
import { pathSchema, timestampsSchema } from './timeconfig.js';
import { commonFields, fieldEntrySchema, fieldKey, fieldMap, type FieldEntry } from '../netflow/fields.js';

const listener = z.strictObject({
  address: z.string().default('0.0.0.0'),
  port: z.number().int().min(0).max(65535),
});

export const flowConfigSchema = z.strictObject({
  /** Any port accepts any protocol (detected by version word); these are the IANA/customary ones. */
  listen: z.array(listener).min(1).default([
    { address: '0.0.0.0', port: 2055 },
    { address: '0.0.0.0', port: 4739 },
    { address: '0.0.0.0', port: 6343 },
  ]),
  receive_buffer: size().default(32 * 1024 * 1024),
  /** Longest sleep after a turn of the loop that drained the sockets, so the next datagrams are read in one wake-up (turns.ts); 0: off. */
  receive_wait: duration({ zero: true }).default(1),
  /** Exporter allowlist (CIDRs); empty or absent = everyone. */
  allow: z.array(z.string().refine(isCidr, { message: 'expected an IP address or CIDR' })).default([]),
  interval: duration().default(60_000),
  /** Built-in dimensions, or names of mapped elements with `as: dimension` (checked below). */
  // the enum lets editors complete the built-in names; a mapped name is any other snake_case name
  dimensions: z.array(z.union([z.enum(DIMENSIONS), z.enum(DERIVED_DIMENSIONS), z.string().regex(/^[a-z][a-z0-9_]*$/)])).default(['exporter', 'in_if', 'out_if', 'proto']),
  max_series: z.number().int().min(2).default(2000),
  top_n: z.number().int().min(0).default(20),
  top_by: z.array(z.enum(TALKER_KEYS)).default(['src_addr', 'dst_addr']),
  max_talkers: z.number().int().min(1).default(100_000),
  raw: z.boolean().default(false),
  /** Sampling rates per exporter (and input interface), with a default and override (sampling.ts). */
  sampling: samplingSchema.default({ map: [] }),
  /** Decode and aggregate in this many worker threads (workers.ts); 0: in the main thread. */
  workers: z.number().int().min(0).max(64).default(0),
  stats_interval: duration().default(60_000),
  max_exporters: z.number().int().min(1).default(10_000),
  templates: z
    .strictObject({
      max: z.number().int().min(1).default(4096),
      ttl: duration().default(3_600_000),
      pending_max_sets: z.number().int().min(0).default(32),
      pending_ttl: duration().default(30_000),
    })
    .default({ max: 4096, ttl: 3_600_000, pending_max_sets: 32, pending_ttl: 30_000 }),
  /** Vendor and unknown elements by enterprise number + id (collectors/netflow/fields.ts). */
  fields: z
    .strictObject({
      common: z.boolean().default(false),
      map: z.array(fieldEntrySchema).default([]),
    })
    .default({ common: false, map: [] }),
  timestamps: timestampsSchema,
  exporter_path: pathSchema,
}).superRefine((cfg, ctx) => {
  const mapped = new Set(mappedDimensions(cfg));
  // a dimension's keys are addresses (uint32 / byte keys) or values: one name cannot be both
  const entries = fieldEntries(cfg);
  const shipped = entries.length - cfg.fields.map.length;
  const last = new Map(entries.map((e, i) => [fieldKey(e.pen, e.id), i]));
  const types = new Map<string, string>();
  entries.forEach((e, i) => {
    const at = i - shipped;
    if (e.as !== 'dimension' || last.get(fieldKey(e.pen, e.id)) !== i) return; // a later entry replaces it
    const t = types.get(e.name);
    if (t !== undefined && (t === 'address') !== (e.type === 'address')) {
      const message = `dimension "${e.name}" is mapped from an address element and from a ${t === 'address' ? e.type : t} one: give them different names`;
      ctx.addIssue({ code: 'custom', path: at >= 0 ? ['fields', 'map', at, 'type'] : ['fields', 'common'], message });
    }
    types.set(e.name, e.type);
  });
  cfg.dimensions.forEach((d, i) => {
    if (!(DIMENSIONS as readonly string[]).includes(d) && !mapped.has(d) && !isDerived(d)) {
      const known = [...DIMENSIONS, ...DERIVED_DIMENSIONS, ...mapped].join(', ');
      ctx.addIssue({ code: 'custom', path: ['dimensions', i], message: `unknown dimension "${d}": one of ${known} (or a fields entry with as: dimension)` });
    }
  });
});

/** The field mapping in force: the shipped common fields (when asked for), then the user's, which win. */
export function fieldEntries(cfg: { fields: { common: boolean; map: FieldEntry[] } }): FieldEntry[] {
  return [...(cfg.fields.common ? commonFields() : []), ...cfg.fields.map];
}

/** Names of mapped dimensions, in a stable order (FlowKeys slots). */
export function mappedDimensions(cfg: { fields: { common: boolean; map: FieldEntry[] } }): string[] {
  return [...new Set(fieldEntries(cfg).filter((e) => e.as === 'dimension').map((e) => e.name))];
}

/** Mapped dimensions whose elements are addresses (`type: address`): their keys print as addresses. */
export function mappedAddresses(cfg: { fields: { common: boolean; map: FieldEntry[] } }): string[] {
  return [...new Set([...fieldMap(fieldEntries(cfg)).values()].filter((e) => e.role === 'dimension' && e.type === 'address').map((e) => e.name))];
}

export type FlowConfig = z.output<typeof flowConfigSchema>;
