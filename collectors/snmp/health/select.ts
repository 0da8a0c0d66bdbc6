/**
 * Which health profiles a device gets. `health` in a device's profiles expands to the standard
 * profiles plus its vendor's, the vendor picked from sysObjectID (longest enterprise prefix, RFC
 * 3418 sysObjectID = the vendor's authoritative identification) unless the inventory names one.
 * Groups (`ucd`) expand to their members. A profile named twice runs once.
 */
export interface Vendor {
  name: string;
  /** sysObjectID prefixes (an enterprise subtree, 1.3.6.1.4.1.N). */
  prefixes: readonly string[];
  profiles: readonly string[];
}

export const STANDARD_HEALTH = ['entity_sensors', 'entity_state', 'bgp_peers', 'lldp_neighbors'] as const;

export const PROFILE_GROUPS: Readonly<Record<string, readonly string[]>> = {
  ucd: ['ucd_memory', 'ucd_load', 'ucd_disk'],
};

export const VENDORS: readonly Vendor[] = [
  { name: 'cisco', prefixes: ['1.3.6.1.4.1.9'], profiles: ['cisco_cpu', 'cisco_memory', 'cisco_env', 'cisco_sensors', 'cisco_bgp_prefixes', 'cisco_ip_sla'] },
  { name: 'juniper', prefixes: ['1.3.6.1.4.1.2636'], profiles: ['juniper'] },
  { name: 'arista', prefixes: ['1.3.6.1.4.1.30065'], profiles: ['hr_cpu', 'hr_memory'] },
  { name: 'mikrotik', prefixes: ['1.3.6.1.4.1.14988'], profiles: ['mikrotik', 'hr_cpu', 'hr_memory'] },
  { name: 'fortinet', prefixes: ['1.3.6.1.4.1.12356'], profiles: ['fortinet_cpu', 'fortinet_memory', 'fortinet_sessions'] },
  { name: 'paloalto', prefixes: ['1.3.6.1.4.1.25461'], profiles: ['hr_cpu', 'hr_memory', 'paloalto_sessions'] },
  { name: 'huawei', prefixes: ['1.3.6.1.4.1.2011'], profiles: ['huawei'] },
  // ArubaOS controllers (14823); ArubaOS-CX switches (47196) answer ENTITY-SENSOR and HOST-RESOURCES.
  { name: 'aruba', prefixes: ['1.3.6.1.4.1.14823', '1.3.6.1.4.1.47196'], profiles: ['aruba', 'hr_cpu', 'hr_memory'] },
  { name: 'linux', prefixes: ['1.3.6.1.4.1.8072'], profiles: ['ucd', 'hr_cpu'] },
];

export const VENDOR_NAMES = VENDORS.map((v) => v.name);

export function vendorOf(sysObjectId: string | undefined): Vendor | undefined {
  if (!sysObjectId) return undefined;
  const oid = sysObjectId.replace(/^\./, '');
  let best: { v: Vendor; len: number } | undefined;
  for (const v of VENDORS) {
    for (const p of v.prefixes) {
      if ((oid === p || oid.startsWith(p + '.')) && p.length > (best?.len ?? -1)) best = { v, len: p.length };
    }
  }
  return best?.v;
}

/**
 * A device's configured profile names, expanded. `vendor` is the inventory's override: a vendor
 * name, or `none` for standard profiles only; undefined means "from sysObjectID".
 */
export function expandProfiles(names: readonly string[], sysObjectId: string | undefined, vendor?: string): string[] {
  const out: string[] = [];
  const add = (n: string): void => {
    const group = PROFILE_GROUPS[n];
    if (group) for (const m of group) add(m);
    else if (!out.includes(n)) out.push(n);
  };
  for (const n of names) {
    if (n !== 'health') {
      add(n);
      continue;
    }
    for (const s of STANDARD_HEALTH) add(s);
    const v = vendor === 'none' ? undefined : vendor ? VENDORS.find((x) => x.name === vendor) : vendorOf(sysObjectId);
    for (const p of v?.profiles ?? []) add(p);
  }
  return out;
}
