/**
 * The device inventory file: `defaults`, named `groups`, `devices` and user `profiles`.
 * A device's settings are defaults <- its group <- its own keys; `tags` are merged key by key,
 * `credentials` and `profiles` are replaced whole (mixing a v2c community into a v3 user would be a
 * silent misconfiguration). Every problem is reported at once, with line numbers, by loadYamlFile.
 */
import { z } from 'zod';
import { duration } from '../../src/collector.js';
import { loadYamlFile } from '../../src/config/yaml.js';
import { credentialsSchema, resolveCredentials, type Credentials } from './credentials.js';
import { HEALTH_META_NAMES, HEALTH_PROFILES, VENDOR_NAMES } from './health/index.js';

const settings = {
  port: z.number().int().min(1).max(65535).optional(),
  version: z.enum(['v1', 'v2c', 'v3']).optional(),
  credentials: credentialsSchema.optional(),
  profiles: z.array(z.string().min(1)).optional(),
  interval: duration().optional(),
  timeout: duration().optional(),
  retries: z.number().int().min(0).max(5).optional(),
  /** Time one poll of the device may take in total; default 80% of the interval. */
  budget: duration().optional(),
  max_repetitions: z.number().int().min(1).max(200).optional(),
  tags: z.record(z.string(), z.string()).optional(),
  /** Vendor health profiles for `health`: a vendor name or `none`; default from sysObjectID. */
  vendor: z.enum(['none', ...VENDOR_NAMES]).optional(),
  /** How often health profiles run, whatever `interval` is (default 60s). */
  health_interval: duration().optional(),
};
const settingsSchema = z.strictObject(settings);
type Settings = z.output<typeof settingsSchema>;

const NUMERIC_OID = /^\.?\d+(\.\d+)+$/;
const objectRef = z.strictObject({
  oid: z.string().min(1),
  /** Field or tag name; defaults to the MIB object name. Required for numeric OIDs. */
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
  tag: z.boolean().optional(),
});
export const userProfileSchema = z.strictObject({
  measurement: z.string().min(1).optional(),
  scalars: z.array(objectRef).default([]),
  tables: z
    .array(
      z.strictObject({
        measurement: z.string().min(1).optional(),
        index_tag: z.string().min(1).default('index'),
        columns: z.array(objectRef).min(1),
      }),
    )
    .default([]),
});
export type UserProfile = z.output<typeof userProfileSchema>;

export const BUILTIN_PROFILE_NAMES: readonly string[] = ['system', 'interfaces', 'host', ...HEALTH_META_NAMES, ...Object.keys(HEALTH_PROFILES)];

export const inventorySchema = z
  .strictObject({
    defaults: settingsSchema.optional(),
    groups: z.record(z.string(), settingsSchema).optional(),
    profiles: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), userProfileSchema).optional(),
    devices: z.array(
      z.strictObject({
        name: z.string().min(1),
        address: z.string().min(1),
        group: z.string().optional(),
        /** Other addresses this device exports flows from, for interface enrichment. */
        flow_addresses: z.array(z.string().min(1)).optional(),
        ...settings,
      }),
    ),
  })
  .superRefine((inv, ctx) => {
    const seen = new Set<string>();
    const known = new Set<string>([...BUILTIN_PROFILE_NAMES, ...Object.keys(inv.profiles ?? {})]);
    for (const name of Object.keys(inv.profiles ?? {})) {
      if ((BUILTIN_PROFILE_NAMES as readonly string[]).includes(name)) ctx.addIssue({ code: 'custom', path: ['profiles', name], message: `"${name}" is a built-in profile name` });
      inv.profiles?.[name]?.scalars.forEach((s, i) => {
        if (NUMERIC_OID.test(s.oid) && !s.name) ctx.addIssue({ code: 'custom', path: ['profiles', name, 'scalars', i, 'name'], message: 'a numeric OID needs a name' });
      });
      inv.profiles?.[name]?.tables.forEach((t, ti) =>
        t.columns.forEach((c, ci) => {
          if (NUMERIC_OID.test(c.oid) && !c.name) ctx.addIssue({ code: 'custom', path: ['profiles', name, 'tables', ti, 'columns', ci, 'name'], message: 'a numeric OID needs a name' });
        }),
      );
    }
    inv.devices.forEach((d, i) => {
      if (seen.has(d.name)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'name'], message: `duplicate device name "${d.name}"` });
      seen.add(d.name);
      if (d.group !== undefined && !inv.groups?.[d.group]) ctx.addIssue({ code: 'custom', path: ['devices', i, 'group'], message: `unknown group "${d.group}"` });
      const eff = merge(inv.defaults, d.group ? inv.groups?.[d.group] : undefined, d);
      for (const p of eff.profiles ?? []) {
        if (!known.has(p)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'profiles'], message: `unknown profile "${p}" (built in: ${BUILTIN_PROFILE_NAMES.join(', ')})` });
      }
      const cred = resolveCredentials(eff.version ?? 'v2c', eff.credentials);
      if (!cred.ok) for (const p of cred.problems) ctx.addIssue({ code: 'custom', path: ['devices', i, 'credentials', p.key], message: p.message });
    });
  });
export type Inventory = z.output<typeof inventorySchema>;

function merge(...layers: (Settings | undefined)[]): Settings {
  const out: Settings = {};
  for (const l of layers) {
    if (!l) continue;
    for (const [k, v] of Object.entries(l)) {
      if (v === undefined) continue;
      if (k === 'tags') out.tags = { ...out.tags, ...(v as Record<string, string>) };
      else (out as Record<string, unknown>)[k] = v;
    }
  }
  return out;
}

export interface DeviceSpec {
  name: string;
  address: string;
  port: number;
  credentials: Credentials;
  profiles: readonly string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  budgetMs: number;
  maxRepetitions: number;
  tags: Readonly<Record<string, string>>;
  flowAddresses: readonly string[];
  vendor?: string;
  healthIntervalMs?: number;
}

/** Effective settings per device. Only call on an inventory that passed the schema. */
export function devicesOf(inv: Inventory): DeviceSpec[] {
  return inv.devices.map((d) => {
    const eff = merge(inv.defaults, d.group ? inv.groups?.[d.group] : undefined, d);
    const cred = resolveCredentials(eff.version ?? 'v2c', eff.credentials);
    if (!cred.ok) throw new Error(`unvalidated inventory: ${d.name}`);
    const intervalMs = eff.interval ?? 60_000;
    return {
      name: d.name,
      address: d.address,
      port: eff.port ?? 161,
      credentials: cred.value,
      profiles: eff.profiles ?? ['system', 'interfaces', 'health'],
      intervalMs,
      timeoutMs: eff.timeout ?? 2000,
      retries: eff.retries ?? 1,
      budgetMs: Math.min(eff.budget ?? intervalMs * 0.8, intervalMs),
      maxRepetitions: eff.max_repetitions ?? 25,
      tags: eff.tags ?? {},
      flowAddresses: d.flow_addresses ?? [],
      ...(eff.vendor !== undefined && { vendor: eff.vendor }),
      ...(eff.health_interval !== undefined && { healthIntervalMs: eff.health_interval }),
    };
  });
}

export function loadInventory(file: string, env?: NodeJS.ProcessEnv): Inventory {
  return loadYamlFile(file, inventorySchema, env ? { env } : {});
}
