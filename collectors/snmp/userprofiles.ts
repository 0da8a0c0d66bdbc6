/**
 * User profiles from the inventory, with MIB names resolved to OIDs once at load time (not per
 * poll). A name that no loaded MIB defines is a config problem naming the profile and the key.
 */
import type { ConfigProblem } from '../../src/errors.js';
import type { Inventory } from './inventory.js';
import type { MibResolver } from './mibs.js';
import type { ColumnSpec, ProfileSpec, ScalarSpec } from './profiles.js';

/** `IF-MIB::ifHCInOctets` -> `ifHCInOctets`; numeric OIDs have no default name. */
function defaultName(ref: string): string | undefined {
  if (/^\.?\d+(\.\d+)+$/.test(ref)) return undefined;
  const bare = ref.includes('::') ? ref.slice(ref.indexOf('::') + 2) : ref;
  return bare.replace(/(\.\d+)+$/, '');
}

export function resolveUserProfiles(
  inv: Inventory,
  mibs: MibResolver,
  file: string,
): { profiles: Map<string, ProfileSpec>; problems: ConfigProblem[] } {
  const profiles = new Map<string, ProfileSpec>();
  const problems: ConfigProblem[] = [];
  for (const [pname, p] of Object.entries(inv.profiles ?? {})) {
    const measurement = p.measurement ?? `snmp_${pname}`;
    const resolve = (ref: { oid: string; name?: string | undefined; tag?: boolean | undefined }, path: string): ColumnSpec | undefined => {
      const oid = mibs.toOid(ref.oid);
      if (oid === undefined) {
        problems.push({ file, path, message: `"${ref.oid}" is not defined in any loaded MIB (check the module name, or add its MIB directory to collectors.snmp.mib_dirs)` });
        return undefined;
      }
      const name = ref.name ?? defaultName(ref.oid) ?? oid;
      return ref.tag ? { oid, name, tag: true } : { oid, name };
    };
    const scalars: ScalarSpec[] = [];
    p.scalars.forEach((s, i) => {
      const r = resolve(s, `profiles.${pname}.scalars[${i}].oid`);
      // Scalars are named by object; the instance is `.0` (RFC 2578 7.7), unless the user gave one.
      if (r) scalars.push({ ...r, oid: r.oid.endsWith('.0') ? r.oid.slice(0, -2) : r.oid });
    });
    const tables = p.tables.map((t, ti) => ({
      measurement: t.measurement ?? measurement,
      indexTag: t.index_tag,
      columns: t.columns.flatMap((c, ci) => resolve(c, `profiles.${pname}.tables[${ti}].columns[${ci}].oid`) ?? []),
    }));
    profiles.set(pname, { name: pname, measurement, scalars, tables });
  }
  return { profiles, problems };
}
