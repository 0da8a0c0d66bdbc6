import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { snmptrapConfigSchema } from '../snmptrap/index.js';
import { snmpConfigSchema } from './config.js';
import { devicesOf, loadInventory } from './inventory.js';
import { MibResolver } from './mibs.js';
import { resolveUserProfiles } from './userprofiles.js';

const here = import.meta.dirname;
const read = (...p: string[]) => readFileSync(join(here, ...p), 'utf8');

describe('snmp and snmptrap kits', () => {
  it('sample.yaml files validate and spell out the defaults', () => {
    const snmp = (parse(read('sample.yaml')) as { snmp: unknown }).snmp;
    expect(snmpConfigSchema.parse(snmp)).toEqual(snmpConfigSchema.parse({ devices: 'devices.yaml' }));
    const trap = (parse(read('..', 'snmptrap', 'sample.yaml')) as { snmptrap: unknown }).snmptrap;
    expect(snmptrapConfigSchema.parse(trap)).toEqual(snmptrapConfigSchema.parse({}));
  });
  it('READMEs embed their sample.yaml verbatim', () => {
    expect(read('README.md')).toContain('```yaml\n' + read('sample.yaml') + '```');
    expect(read('..', 'snmptrap', 'README.md')).toContain('```yaml\n' + read('..', 'snmptrap', 'sample.yaml') + '```');
  });
  it('the example inventory config/devices.yaml loads, and its MIB-name profiles resolve', () => {
    const file = join(here, '..', '..', 'config', 'devices.yaml');
    const inv = loadInventory(file, { SNMP_COMMUNITY: 'c', SNMP_V3_AUTH_KEY: 'authauth', SNMP_V3_PRIV_KEY: 'privpriv' });
    expect(devicesOf(inv).map((d) => d.name)).toEqual(['access-sw1', 'access-sw2', 'core1']);
    expect(resolveUserProfiles(inv, MibResolver.load().resolver, file).problems).toEqual([]);
  });
});
