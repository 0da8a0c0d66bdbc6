/** The `collectors.snmp` block of the main config. Device details live in the inventory file. */
import { z } from 'zod';
import { duration } from '../../src/collector.js';

export const snmpConfigSchema = z.strictObject({
  /** Inventory file (devices, groups, defaults, user profiles), relative to the main config's directory. */
  devices: z.string().min(1),
  /** Extra MIB directories; every file in them is loaded (bad ones are reported and skipped). */
  mib_dirs: z.array(z.string().min(1)).default([]),
  /** Polls running at once across all devices. */
  max_concurrent: z.number().int().min(1).max(4096).default(32),
  /** Cap on values per walk, against agents that repeat OIDs forever. */
  max_values_per_walk: z.number().int().min(10).max(1_000_000).default(20_000),
  /** Longest pause between polls of a device that does not answer (exponential backoff). */
  backoff_max: duration().default(300_000),
});
export type SnmpConfig = z.output<typeof snmpConfigSchema>;
