/**
 * The `enrich` block of the main config and what it loads: the networks file and the interface role
 * rules, applied at start and on SIGHUP. A file that fails to load leaves the running tables in place.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import type { InterfaceTable } from './interfaces.js';
import { loadNetworks, NetworkHolder } from './networks.js';
import { classifier, compileRoles, roleRuleSchema } from './roles.js';

export const enrichConfigSchema = z
  .strictObject({
    networks_file: z.string().min(1).optional().describe('YAML file of networks (CIDR -> name, site, role, tenant); relative to this config\'s directory'),
    interface_roles: z.array(roleRuleSchema).default([]).describe('interface classification rules, first match wins'),
  })
  .default({ interface_roles: [] });
export type EnrichConfig = z.output<typeof enrichConfigSchema>;

/** Loads the networks file the block names (throws its ConfigError): for `netvigil validate` and SIGHUP. */
export function checkEnrich(cfg: EnrichConfig, configDir: string): void {
  if (cfg.networks_file !== undefined) loadNetworks(resolve(configDir, cfg.networks_file));
}

export class EnrichState {
  readonly networks = new NetworkHolder();
  roleOf: ReturnType<typeof compileRoles>;

  constructor(private readonly interfaces: InterfaceTable) {}

  private applied = '';

  /**
   * Replaces both tables, or (a ConfigError) neither. True when that may have changed something: the
   * block changed, or it names a file (which may have changed on disk).
   */
  apply(cfg: EnrichConfig, configDir: string): boolean {
    const nets = cfg.networks_file !== undefined ? loadNetworks(resolve(configDir, cfg.networks_file)) : undefined;
    const roleOf = compileRoles(cfg.interface_roles);
    this.networks.current = nets;
    this.roleOf = roleOf;
    this.interfaces.reclassify(classifier(roleOf), cfg.interface_roles);
    const key = JSON.stringify(cfg);
    const changed = key !== this.applied || cfg.networks_file !== undefined;
    this.applied = key;
    return changed;
  }
}
