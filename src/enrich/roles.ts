/**
 * Interface classification (`enrich.interface_roles`): ordered rules that give an interface a role
 * (`transit`, `peering`, `core`, `access`, ...) from its name, alias, description, device and speed,
 * like Akvorado's interface classifier without its expression language. The first rule whose every
 * condition holds wins; an interface no rule matches has no role. Regular expressions are
 * JavaScript's, case-insensitive, unanchored (`^`/`$` anchor them).
 */
import { z } from 'zod';
import type { InterfaceInfo } from '../collector.js';
import type { Classify } from './interfaces.js';

const BIT_RATE = /^(\d+(?:\.\d+)?)\s*([kMGT]?)(?:bit\/s|bps)?$/;
const SCALE: Readonly<Record<string, number>> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** "10G", "100M", "2.5G", "1000000" (bit/s) -> bit/s. */
export function parseBitRate(s: string | number): number | undefined {
  if (typeof s === 'number') return Number.isFinite(s) && s >= 0 ? s : undefined;
  const m = BIT_RATE.exec(s.trim());
  return m ? Number(m[1]) * (SCALE[m[2] ?? ''] as number) : undefined;
}

const regex = z.string().min(1).superRefine((s, ctx) => {
  try {
    new RegExp(s, 'i');
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(e as Error).message}` });
  }
});
const bitRate = z.union([z.string(), z.number()]).superRefine((s, ctx) => {
  if (parseBitRate(s) === undefined) ctx.addIssue({ code: 'custom', message: 'expected a bit rate like 10G, 100M, 2.5G or a number of bit/s' });
});

export const roleRuleSchema = z
  .strictObject({
    role: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a role is a word: letters, digits, _ . -').describe('the role given to a matching interface'),
    name: regex.optional().describe('regex on ifName (or the name options data gave)'),
    alias: regex.optional().describe('regex on ifAlias'),
    descr: regex.optional().describe('regex on ifDescr'),
    device: regex.optional().describe('regex on the inventory device name (the exporter address for flow-learned names)'),
    min_speed: bitRate.optional().describe('at least this speed, e.g. 10G'),
    max_speed: bitRate.optional().describe('at most this speed, e.g. 1G'),
  })
  .refine((r) => Object.keys(r).some((k) => k !== 'role'), { message: 'a rule needs at least one condition (name, alias, descr, device, min_speed, max_speed)' });
export type RoleRule = z.output<typeof roleRuleSchema>;

interface Compiled {
  role: string;
  name?: RegExp;
  alias?: RegExp;
  descr?: RegExp;
  device?: RegExp;
  min?: number;
  max?: number;
}

const test = (re: RegExp | undefined, v: string | undefined): boolean => re === undefined || (v !== undefined && re.test(v));

export interface InterfaceFacts {
  name?: string | undefined;
  alias?: string | undefined;
  descr?: string | undefined;
  speed?: number | undefined;
}

/** The role of an interface, or undefined; rules are compiled once. */
export function compileRoles(rules: readonly RoleRule[]): ((device: string, i: InterfaceFacts) => string | undefined) | undefined {
  if (rules.length === 0) return undefined;
  const list: Compiled[] = rules.map((r) => {
    const c: Compiled = { role: r.role };
    if (r.name !== undefined) c.name = new RegExp(r.name, 'i');
    if (r.alias !== undefined) c.alias = new RegExp(r.alias, 'i');
    if (r.descr !== undefined) c.descr = new RegExp(r.descr, 'i');
    if (r.device !== undefined) c.device = new RegExp(r.device, 'i');
    if (r.min_speed !== undefined) c.min = parseBitRate(r.min_speed) as number;
    if (r.max_speed !== undefined) c.max = parseBitRate(r.max_speed) as number;
    return c;
  });
  return (device, i) => {
    for (const c of list) {
      if (!test(c.name, i.name) || !test(c.alias, i.alias) || !test(c.descr, i.descr) || !test(c.device, device)) continue;
      if (c.min !== undefined && (i.speed === undefined || i.speed < c.min)) continue;
      if (c.max !== undefined && (i.speed === undefined || i.speed > c.max)) continue;
      return c.role;
    }
    return undefined;
  };
}

/** The directory's hook (interfaces.ts): sets or clears `role` on an interface it stores. */
export function classifier(roleOf: ReturnType<typeof compileRoles>): Classify | undefined {
  if (!roleOf) return undefined;
  return (device: string, i: InterfaceInfo) => {
    const role = roleOf(device, i);
    if (role === undefined) delete i.role;
    else i.role = role;
  };
}
