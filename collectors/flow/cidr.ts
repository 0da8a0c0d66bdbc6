/** The exporter allowlist lives in src/wire/cidr.ts, shared with the trap receiver. */
export { Allowlist, isCidr, parseCidr } from '../../src/wire/cidr.js';
