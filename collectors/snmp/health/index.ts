/** Every built-in health profile by name (registered into BUILTIN_PROFILES by profiles.ts). */
import { HR_CPU, HR_MEMORY, UCD_DISK, UCD_LOAD, UCD_MEMORY } from './host.js';
import { BGP_PEERS } from './bgp.js';
import { CISCO_IP_SLA } from './ipsla.js';
import { ENTITY_SENSORS, ENTITY_STATE, LLDP_NEIGHBORS, UPS_PROFILE } from './standard.js';
import type { HealthProfile } from './types.js';
import { ARUBA, FORTINET_CPU, FORTINET_MEMORY, FORTINET_SESSIONS, HUAWEI, MIKROTIK, PALOALTO_SESSIONS } from './vendors-misc.js';
import { CISCO_BGP_PREFIXES, CISCO_CPU, CISCO_ENV, CISCO_MEMORY, CISCO_SENSORS, JUNIPER } from './vendors.js';

const ALL: readonly HealthProfile[] = [
  ENTITY_SENSORS,
  ENTITY_STATE,
  BGP_PEERS,
  LLDP_NEIGHBORS,
  UPS_PROFILE,
  HR_CPU,
  HR_MEMORY,
  UCD_MEMORY,
  UCD_LOAD,
  UCD_DISK,
  CISCO_CPU,
  CISCO_MEMORY,
  CISCO_ENV,
  CISCO_SENSORS,
  CISCO_BGP_PREFIXES,
  CISCO_IP_SLA,
  JUNIPER,
  MIKROTIK,
  FORTINET_CPU,
  FORTINET_MEMORY,
  FORTINET_SESSIONS,
  PALOALTO_SESSIONS,
  HUAWEI,
  ARUBA,
];

export const HEALTH_PROFILES: Readonly<Record<string, HealthProfile>> = Object.fromEntries(ALL.map((p) => [p.name, p]));

/** Names a device's `profiles` may use besides the health profiles themselves. */
export const HEALTH_META_NAMES = ['health', 'ucd'] as const;
export { expandProfiles, VENDOR_NAMES, VENDORS, vendorOf } from './select.js';
