/**
 * User field mapping for vendor and unknown elements (GoFlow2's mapping file, Telegraf's
 * private-enterprise CSV): an element, by Private Enterprise Number + id (pen 0: IANA id or v9 field
 * type), gets a name, a type to decode it as, and a role: a Record field, also an aggregation
 * dimension, or a tag of the raw `flow` Record. It is resolved once, when a template is compiled
 * (`CompiledTemplate`), never per record.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { Kind } from './elements.js';

export const FIELD_TYPES = ['unsigned', 'signed', 'address', 'string', 'mac', 'float', 'time', 'octets'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];
export const FIELD_ROLES = ['field', 'dimension', 'tag'] as const;
export type FieldRole = (typeof FIELD_ROLES)[number];

/**
 * IANA elements the collector itself reads (record schema, times, sampling, options): a mapping
 * cannot rename or retype them, or volumes, times and rates would silently change meaning.
 */
export const RESERVED_IDS: ReadonlySet<number> = new Set([
  1, 2, 4, 5, 6, 7, 8, 10, 11, 12, 14, 15, 16, 17, 18, 21, 22, 27, 28, 34, 48, 50, 58, 62, 63, 82, 83, 85, 86,
  150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 231, 232, 243, 252, 298, 299, 302, 305, 306, 309, 310,
]);
/** Names the Record or its tags already use. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'exporter', 'version', 'domain', 'collector', 'src_addr', 'dst_addr', 'next_hop', 'bgp_next_hop', 'src_port',
  'dst_port', 'proto', 'tcp_flags', 'tos', 'bytes', 'packets', 'sampling_rate', 'in_if', 'out_if', 'src_as',
  'dst_as', 'vlan', 'start_ms', 'end_ms', 'type', 'time',
]);

const fieldEntryShape = z.strictObject({
  /** Private Enterprise Number (RFC 7011 §3.2); 0 = IANA element or NetFlow v9 field type. */
  pen: z.number().int().min(0).max(0xffffffff).default(0),
  id: z.number().int().min(1).max(65535),
  name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'a snake_case name: a-z, 0-9, _ (starting with a letter)'),
  type: z.enum(FIELD_TYPES),
  as: z.enum(FIELD_ROLES).default('field'),
});
export type FieldEntry = z.output<typeof fieldEntryShape>;

/** One mapping entry, with the checks that span its keys (reported at the offending key). */
export const fieldEntrySchema = fieldEntryShape.superRefine((e, ctx) => {
  for (const [key, message] of entryProblems(e)) ctx.addIssue({ code: 'custom', path: [key], message });
});

/** Problems of one entry that the per-key schema cannot see, as [key, message]. */
export function entryProblems(e: FieldEntry): [keyof FieldEntry, string][] {
  const out: [keyof FieldEntry, string][] = [];
  if (e.pen !== 0 && e.id > 0x7fff) out.push(['id', 'an enterprise element id is at most 32767 (RFC 7011 §3.2: the top bit is the enterprise bit)']);
  if (e.pen === 0 && RESERVED_IDS.has(e.id)) out.push(['id', `element ${e.id} feeds the record schema, times or sampling and cannot be remapped`]);
  if (RESERVED_NAMES.has(e.name)) out.push(['name', `"${e.name}" is a name the flow record already uses`]);
  return out;
}

export interface MappedField {
  name: string;
  type: FieldType;
  role: FieldRole;
}

/** Mapping by `${pen}:${id}`; later entries win, so a user entry overrides a shipped one. */
export type FieldMap = ReadonlyMap<string, MappedField>;

export function fieldKey(pen: number, id: number): string {
  return `${pen}:${id}`;
}

export function fieldMap(entries: readonly FieldEntry[]): FieldMap {
  return new Map(entries.map((e) => [fieldKey(e.pen, e.id), { name: e.name, type: e.type, role: e.as }]));
}

/** The decoder's kind for a mapped type at a field length (addresses and times by their length). */
export function kindOf(type: FieldType, length: number): Kind {
  switch (type) {
    case 'unsigned':
      return Kind.Unsigned;
    case 'signed':
      return Kind.Signed;
    case 'address':
      return length === 16 ? Kind.Ipv6 : Kind.Ipv4;
    case 'string':
      return Kind.String;
    case 'mac':
      return Kind.Mac;
    case 'float':
      return Kind.Float;
    case 'time':
      // 4 bytes: seconds since the epoch (dateTimeSeconds), 8: milliseconds (dateTimeMilliseconds)
      return length === 4 ? Kind.DateSeconds : Kind.DateMillis;
    case 'octets':
      return Kind.Octets;
  }
}

/** The shipped mapping of common vendor fields (`fields.yaml` beside this file). */
export function commonFields(): FieldEntry[] {
  // beside this file when run from source; built code runs from dist/, the YAML ships in collectors/
  const here = import.meta.dirname;
  const file = [join(here, 'fields.yaml'), join(here, '..', '..', '..', 'collectors', 'netflow', 'fields.yaml')].find((f) => existsSync(f));
  if (!file) throw new Error('collectors/netflow/fields.yaml is missing from the installation');
  return z.array(fieldEntrySchema).parse(parse(readFileSync(file, 'utf8')));
}
