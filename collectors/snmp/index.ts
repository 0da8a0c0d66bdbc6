import { resolve } from 'node:path';
import { defineCollector } from '../../src/collector.js';
import { SnmpCollector } from './collector.js';
import { snmpConfigSchema } from './config.js';
import { loadInventory } from './inventory.js';

export const snmpCollector = defineCollector({
  name: 'snmp',
  description: 'SNMP v1/v2c/v3 polling of an inventory of devices: system, interfaces (with rates), host resources and user MIB profiles',
  configSchema: snmpConfigSchema,
  create: (config, ctx) => new SnmpCollector(config, ctx),
  check: (config, configDir) => void loadInventory(resolve(configDir, config.devices)),
});
