/**
 * The networks file and the interface role rules: longest-prefix lookup on the keys flows carry
 * (IPv4 uint32, IPv6 byte keys, text), inheritance of attributes, first-match roles, and
 * `netvigil validate` naming file, line and key for a bad CIDR, a network listed twice and a bad regex.
 * Networks and addresses are generated (documentation ranges) for the edge cases they cover.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runValidate } from '../src/commands/validate.js';
import { compileRoles, parseBitRate, roleRuleSchema } from '../src/enrich/roles.js';
import { loadNetworks, Networks } from '../src/enrich/networks.js';
import { EnrichState } from '../src/enrich/config.js';
import { createEnricher } from '../src/enrich/enrich.js';
import { InterfaceTable } from '../src/enrich/interfaces.js';
import { makeRecord } from '../src/record/record.js';
import { ip6KeyFromText } from '../src/wire/ip6key.js';
import { makeTmpDir } from './helpers/net.js';

/** Dotted IPv4 text as the uint32 flows carry it (the networks table's IPv4 key). */
const parseIpv4 = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);

let tmp: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  tmp = await makeTmpDir();
});
afterAll(async () => {
  await tmp?.cleanup();
});

const nets = new Networks({
  '0.0.0.0/0': { name: 'internet' },
  '10.0.0.0/8': { name: 'corp', site: 'par1', role: 'internal', tenant: 'acme' },
  '10.9.0.0/16': { name: 'lab' },
  '10.9.8.7/32': { role: 'host' },
  '198.51.100.0/24': { name: 'customers', site: 'ams1' },
  '2001:db8::/32': { name: 'doc6', site: 'ams1' },
  '2001:db8:1::/48': { tenant: 'beta' },
});

describe('networks file', () => {
  it('finds the longest prefix, from a uint32, an IPv6 key or text, and inherits what it leaves out', () => {
    expect(nets.find(parseIpv4('10.1.2.3'))).toEqual({ name: 'corp', site: 'par1', role: 'internal', tenant: 'acme' });
    expect(nets.find(parseIpv4('10.9.1.1'))).toEqual({ name: 'lab', site: 'par1', role: 'internal', tenant: 'acme' });
    expect(nets.find(parseIpv4('10.9.8.7'))).toEqual({ name: 'lab', site: 'par1', role: 'host', tenant: 'acme' });
    expect(nets.find(parseIpv4('10.9.8.6'))?.role).toBe('internal');
    expect(nets.find(parseIpv4('198.51.100.255'))?.name).toBe('customers');
    expect(nets.find(parseIpv4('198.51.101.0'))).toEqual({ name: 'internet' });
    expect(nets.find(parseIpv4('255.255.255.255'))).toEqual({ name: 'internet' });
    expect(nets.find('10.9.8.7')?.role).toBe('host');
    expect(nets.find(ip6KeyFromText('2001:db8:1:2::5') as string)).toEqual({ name: 'doc6', site: 'ams1', tenant: 'beta' });
    expect(nets.find(ip6KeyFromText('2001:db8:2::5') as string)).toEqual({ name: 'doc6', site: 'ams1' });
    expect(nets.find('2001:db8:1::1')?.tenant).toBe('beta');
    // no IPv6 default route was given: the IPv4 one does not apply
    expect(nets.find(ip6KeyFromText('2001:db9::1') as string)).toBeUndefined();
    expect(nets.find('')).toBeUndefined();
    expect(nets.find('not an address')).toBeUndefined();
  });

  it('agrees with a linear scan over every prefix on random addresses (generated)', () => {
    const list: [number, number, string][] = [];
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const table: Record<string, { name: string }> = {};
    for (let i = 0; i < 300; i++) {
      const bits = 8 + Math.floor(rnd() * 25);
      const a = Math.floor(rnd() * 2 ** 32);
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      const net = (a & mask) >>> 0;
      const text = `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${bits}`;
      if (table[text]) continue;
      table[text] = { name: text };
      list.push([net, bits, text]);
    }
    const t = new Networks(table);
    for (let i = 0; i < 20_000; i++) {
      // half the probes inside a listed network, so long prefixes are hit too
      const base = list[Math.floor(rnd() * list.length)] as [number, number, string];
      const a = i % 2 ? Math.floor(rnd() * 2 ** 32) : (base[0] + Math.floor(rnd() * 2 ** (32 - base[1]))) >>> 0;
      let best: [number, number, string] | undefined;
      for (const n of list) {
        const mask = (0xffffffff << (32 - n[1])) >>> 0;
        if (((a & mask) >>> 0) === n[0] && (!best || n[1] > best[1])) best = n;
      }
      expect(t.find(a)?.name).toBe(best?.[2]);
    }
  });
});

describe('the example networks file', () => {
  it('config/networks.yaml loads and means what its comments say', () => {
    const t = loadNetworks(join(import.meta.dirname, '..', 'config', 'networks.yaml'));
    expect(t.find('10.9.0.1')).toEqual({ name: 'lab', site: 'par1', role: 'internal', tenant: 'acme' });
    expect(t.find('203.0.113.80')).toEqual({ name: 'peering-lan' });
    expect(t.find('2001:db8:ff::1')).toEqual({ name: 'lab6', site: 'ams1', role: 'lab', tenant: 'acme' });
  });
});

describe('interface roles', () => {
  const rules = [
    { role: 'transit', alias: 'transit|upstream' },
    { role: 'peering', alias: '\\bIX\\b', min_speed: '10G' },
    { role: 'core', name: '^(Te|Hu)', device: '^core' },
    { role: 'access', max_speed: '1G' },
  ].map((r) => roleRuleSchema.parse(r));
  const roleOf = compileRoles(rules);

  it('gives the first matching rule\'s role; every condition of a rule must hold', () => {
    if (!roleOf) throw new Error('no rules');
    expect(roleOf('edge1', { name: 'Hu0/0/1', alias: 'UPSTREAM: AS64500', speed: 100e9 })).toBe('transit');
    expect(roleOf('edge1', { name: 'Te0/1', alias: 'ix: AMS-IX', speed: 10e9 })).toBe('peering');
    expect(roleOf('edge1', { name: 'Te0/1', alias: 'ix: AMS-IX', speed: 1e9 })).toBe('access'); // too slow to peer here
    expect(roleOf('core1', { name: 'Te0/2', speed: 10e9 })).toBe('core');
    expect(roleOf('edge1', { name: 'Te0/2', speed: 10e9 })).toBeUndefined();
    expect(roleOf('edge1', { name: 'Gi0/3' })).toBeUndefined(); // no speed: no speed rule matches
    expect(compileRoles([])).toBeUndefined();
  });

  it('reads bit rates with units', () => {
    expect(parseBitRate('10G')).toBe(10e9);
    expect(parseBitRate('2.5G')).toBe(2.5e9);
    expect(parseBitRate('100Mbit/s')).toBe(100e6);
    expect(parseBitRate(1000)).toBe(1000);
    expect(parseBitRate('fast')).toBeUndefined();
  });
});

describe('enrichment stage', () => {
  it('tags aggregates and fills raw flows with networks and roles; interface records get if_role', () => {
    const t = new InterfaceTable();
    const st = new EnrichState(t);
    writeFileSync(join(tmp.dir, 'stage-networks.yaml'), 'networks:\n  10.0.0.0/8: { name: corp, site: par1 }\n  2001:db8::/32: { name: doc6, tenant: beta }\n');
    st.apply({ networks_file: 'stage-networks.yaml', interface_roles: [roleRuleSchema.parse({ role: 'core', name: '^Te' })] }, tmp.dir);
    t.update('r1', ['192.0.2.1'], 'snmp', [{ ifIndex: 3, name: 'Te0/3' }, { ifIndex: 4, name: 'Gi0/4' }]);
    const enrich = createEnricher(t, { enrichment: st });
    const agg = makeRecord('flow', 'flow_agg', { exporter: '192.0.2.1', in_if: '3', out_if: '4', src_addr: '10.1.2.3', dst_addr: '2001:db8::9' }, { bytes: 1n }, 1);
    enrich(agg);
    expect(agg.tags).toMatchObject({ in_if_name: 'Te0/3', in_role: 'core', src_net: 'corp', src_site: 'par1', dst_net: 'doc6', dst_tenant: 'beta', device: 'r1' });
    expect(agg.tags.out_role).toBeUndefined(); // Gi0/4 matches no rule
    expect(agg.tags.dst_site).toBeUndefined();
    const raw = makeRecord('flow', 'flow', { exporter: '192.0.2.1' }, { in_if: 3n, src_addr: '10.9.9.9', dst_addr: '198.51.100.1' }, 1, 'exporter');
    enrich(raw);
    expect(raw.fields).toMatchObject({ in_role: 'core', src_net: 'corp', src_site: 'par1' });
    expect(raw.fields.dst_net).toBeUndefined();
    const ifRec = makeRecord('interface', 'interface', { device: 'r9', agent: '192.0.2.9', if_index: '1', source: 'snmp', if_name: 'Te1/1' }, { speed: 10_000_000_000n }, 1);
    enrich(ifRec);
    expect(ifRec.tags.if_role).toBe('core');
    // a reload without rules takes the roles away from interfaces already known
    st.apply({ interface_roles: [] }, tmp.dir);
    expect(t.lookup('192.0.2.1', 3)?.role).toBeUndefined();
    expect(st.networks.active).toBe(false);
  });
});

describe('netvigil validate', () => {
  const validate = async (main: string): Promise<{ code: number; text: string }> => {
    const err = new PassThrough();
    const code = await runValidate(['-c', main], { stdout: new PassThrough(), stderr: err });
    return { code, text: String(err.read() ?? '') };
  };

  it('names file, line and key of a bad regex, a rule without condition and a bad speed', async () => {
    const main = join(tmp.dir, 'collector.yaml');
    writeFileSync(main, `enrich:\n  interface_roles:\n    - { role: transit, alias: "(transit" }\n    - { role: core }\n    - { role: access, max_speed: fast }\n`);
    const { code, text } = await validate(main);
    expect(code).toBe(1);
    expect(text).toContain(`${main}:3:31: enrich.interface_roles[0].alias: not a valid regular expression: Invalid regular expression: /(transit/i: Unterminated group`);
    expect(text).toContain(`${main}:4:7: enrich.interface_roles[1]: a rule needs at least one condition`);
    expect(text).toContain(`${main}:5:34: enrich.interface_roles[2].max_speed: expected a bit rate`);
    expect(text).toContain('3 problems found');
  });

  it('names file, line and key of a bad CIDR, host bits, a network listed twice and an unknown attribute', async () => {
    const main = join(tmp.dir, 'with-networks.yaml');
    const file = join(tmp.dir, 'networks.yaml');
    writeFileSync(main, `enrich:\n  networks_file: networks.yaml\n`);
    writeFileSync(file, `networks:\n  10.0.0.0/8: { name: corp }\n  10.0.0.1/8: { name: again }\n  "2001:db8::/32": { name: a }\n  "2001:0db8::/32": { name: b }\n  10.300.0.0/16: { name: bad }\n  192.0.2.0/24: { name: x, colour: red }\n`);
    const { code, text } = await validate(main);
    expect(code).toBe(1);
    expect(text).toContain(`${file}:3:15: networks.10.0.0.1/8: host bits set: the network is 10.0.0.0/8`);
    expect(text).toContain(`${file}:5:21: networks.2001:0db8::/32: the same network as "2001:db8::/32" (2001:db8::/32), listed twice`);
    expect(text).toMatch(new RegExp(`${file}:6:18: networks\\.10\\.300\\.0\\.0/16: not an IP address or CIDR`));
    expect(text).toContain(`${file}:7:28: networks.192.0.2.0/24.colour: unknown key; expected one of name, site, role, tenant`);
    expect(text).toContain('4 problems found');
  });

  it('accepts a good file', async () => {
    const main = join(tmp.dir, 'good.yaml');
    writeFileSync(join(tmp.dir, 'good-networks.yaml'), 'networks:\n  10.0.0.0/8: corp\n  "2001:db8::/32": { name: doc6, site: ams1 }\n');
    writeFileSync(main, 'enrich:\n  networks_file: good-networks.yaml\n  interface_roles: [{ role: core, name: "^Te" }]\n');
    expect((await validate(main)).code).toBe(0);
  });
});
