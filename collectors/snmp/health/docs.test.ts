import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { healthDocs } from './docs.js';
import { HEALTH_PROFILES } from './index.js';
import { expandProfiles, vendorOf, VENDORS } from './select.js';
import { sensorValue } from './types.js';

const README = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');

describe('health profile docs', () => {
  it('the README embeds the generated tables verbatim (regenerate: node -e on healthDocs())', () => {
    expect(README).toContain('<!-- health-docs:start -->\n' + healthDocs() + '<!-- health-docs:end -->');
  });
  it('every profile states a source and a unit for every field, and names what it needs', () => {
    for (const p of Object.values(HEALTH_PROFILES)) {
      expect(p.needs, p.name).toMatch(/\d+\.\d+/);
      for (const d of p.doc) for (const f of d.fields) expect(f.source && f.unit, `${p.name} ${f.name}`).toBeTruthy();
    }
  });
  it('every vendor names only existing profiles or groups', () => {
    for (const v of VENDORS) for (const n of expandProfiles(['health'], undefined, v.name)) expect(HEALTH_PROFILES[n], `${v.name}: ${n}`).toBeDefined();
  });
});

describe('vendor selection and scaling', () => {
  it('picks the longest sysObjectID prefix, never a prefix that only shares digits', () => {
    expect(vendorOf('1.3.6.1.4.1.9.1.516')?.name).toBe('cisco');
    expect(vendorOf('.1.3.6.1.4.1.2636.1.1.1.2.29')?.name).toBe('juniper');
    // 1.3.6.1.4.1.99999 starts with the characters of Cisco's 1.3.6.1.4.1.9 but is another enterprise
    expect(vendorOf('1.3.6.1.4.1.99999.1')).toBeUndefined();
    expect(vendorOf(undefined)).toBeUndefined();
  });
  it('expands health and groups once each; vendor none keeps the standard profiles only', () => {
    expect(expandProfiles(['system', 'health', 'ucd', 'hr_cpu'], '1.3.6.1.4.1.8072.3.2.10')).toEqual(['system', 'entity_sensors', 'entity_state', 'bgp_peers', 'lldp_neighbors', 'ucd_memory', 'ucd_load', 'ucd_disk', 'hr_cpu']);
    expect(expandProfiles(['health'], '1.3.6.1.4.1.9.1.516', 'none')).toEqual(['entity_sensors', 'entity_state', 'bgp_peers', 'lldp_neighbors']);
  });
  it('applies RFC 3433 scale and precision exactly', () => {
    expect(sensorValue(253, 9, 1)).toBe(25.3);
    expect(sensorValue(3300, 8, 0)).toBe(3.3);
    expect(sensorValue(-31, 9, 1)).toBe(-3.1);
    expect(sensorValue(12, 10, 0)).toBe(12_000);
    expect(sensorValue(5, 9, -2)).toBe(500);
    expect(sensorValue(7, undefined, undefined)).toBe(7);
  });
});
