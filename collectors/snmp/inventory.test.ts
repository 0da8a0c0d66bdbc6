import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { devicesOf, loadInventory } from './inventory.js';

function write(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'netvigil-inv-')), 'devices.yaml');
  writeFileSync(f, text);
  return f;
}

const GOOD = `
defaults:
  interval: 30s
  timeout: 1s
  credentials: { community: "\${SNMP_COMMUNITY}" }
  tags: { site: par1, role: access }
groups:
  core:
    version: v3
    interval: 10s
    profiles: [system, interfaces, host]
    credentials:
      user: monitor
      auth_protocol: sha256
      auth_key: file:AUTHFILE
      priv_protocol: aes256r
      priv_key: privpriv99
      context: vlan-10
    tags: { role: core }
devices:
  - { name: sw1, address: 10.0.0.1 }
  - { name: core1, address: 10.0.0.2, group: core, port: 1161, flow_addresses: [10.9.9.2], tags: { rack: r7 } }
`;

describe('inventory', () => {
  it('merges defaults <- group <- device; tags key by key, credentials whole; resolves env and file refs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netvigil-sec-'));
    const secret = join(dir, 'auth');
    writeFileSync(secret, 'authauth99\n');
    const f = write(GOOD.replace('AUTHFILE', secret));
    const [sw1, core1] = devicesOf(loadInventory(f, { SNMP_COMMUNITY: 's3cret' }));
    expect(sw1).toMatchObject({ name: 'sw1', port: 161, intervalMs: 30_000, timeoutMs: 1000, retries: 1, budgetMs: 24_000, profiles: ['system', 'interfaces', 'health'], tags: { site: 'par1', role: 'access' } });
    expect(sw1?.credentials).toEqual({ version: 'v2c', community: 's3cret' });
    expect(core1).toMatchObject({ port: 1161, intervalMs: 10_000, profiles: ['system', 'interfaces', 'host'], tags: { site: 'par1', role: 'core', rack: 'r7' }, flowAddresses: ['10.9.9.2'] });
    expect(core1?.credentials).toEqual({ version: 'v3', user: 'monitor', auth_protocol: 'sha256', auth_key: 'authauth99', priv_protocol: 'aes256r', priv_key: 'privpriv99', context: 'vlan-10' });
  });

  it('reports every problem at once with line numbers', () => {
    const f = write(`
defaults:
  credentials: { community: public }
groups:
  g: { version: v3, credentials: { user: u, auth_protocol: sha, priv_protocol: aes, priv_key: short } }
devices:
  - { name: a, address: 10.0.0.1, profiles: [system, nosuch] }
  - { name: a, address: 10.0.0.2 }
  - { name: b, address: 10.0.0.3, group: missing }
  - { name: c, address: 10.0.0.4, group: g }
  - { name: d, address: 10.0.0.5, version: v2c, credentials: { user: x } }
  - { name: e, address: 10.0.0.6, interval: soon, colour: blue }
`);
    let err: ConfigError | undefined;
    try {
      loadInventory(f, {});
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msgs = err?.problems.map((p) => `${p.line ?? '?'} ${p.path}: ${p.message}`).join('\n') ?? '';
    expect(msgs).toMatch(/interval: expected a duration/);
    expect(msgs).toMatch(/devices\[5\]\.colour: unknown key/);
    // Semantic checks only run once the shape is right, so fix the shape and look again.
    const f2 = write(
      `defaults:\n  credentials: { community: public }\ngroups:\n  g: { version: v3, credentials: { user: u, auth_protocol: sha, priv_protocol: aes, priv_key: short } }\ndevices:\n` +
        `  - { name: a, address: 10.0.0.1, profiles: [system, nosuch] }\n  - { name: a, address: 10.0.0.2 }\n  - { name: b, address: 10.0.0.3, group: missing }\n  - { name: c, address: 10.0.0.4, group: g }\n  - { name: d, address: 10.0.0.5, version: v2c, credentials: { user: x } }\n`,
    );
    try {
      loadInventory(f2, {});
    } catch (e) {
      err = e as ConfigError;
    }
    const p2 = err?.problems ?? [];
    const find = (path: string) => p2.find((p) => p.path === path);
    expect(find('devices[0].profiles')?.message).toMatch(/unknown profile "nosuch"/);
    expect(find('devices[0].profiles')?.line).toBe(6);
    expect(find('devices[1].name')?.message).toMatch(/duplicate device name "a"/);
    expect(find('devices[2].group')?.message).toMatch(/unknown group "missing"/);
    expect(find('devices[3].credentials.auth_key')?.message).toMatch(/auth_protocol needs auth_key/);
    expect(find('devices[3].credentials.priv_key')?.message).toMatch(/at least 8/);
    expect(find('devices[4].credentials.community')?.message).toMatch(/needs credentials.community/);
  });

  it('a missing secret is reported, and the secret value never appears in the error', () => {
    const f = write(`defaults:\n  credentials: { community: "\${NOPE_COMMUNITY}" }\ndevices:\n  - { name: a, address: 10.0.0.1 }\n`);
    expect(() => loadInventory(f, {})).toThrow(/NOPE_COMMUNITY/);
    const g = write(`devices:\n  - { name: a, address: 10.0.0.1, version: v3, credentials: { user: u, auth_protocol: sha, auth_key: topsecret-but-ok, priv_protocol: aes, priv_key: short } }\n`);
    let msg = '';
    try {
      loadInventory(g, {});
    } catch (e) {
      msg = String((e as Error).message);
    }
    expect(msg).toMatch(/priv_key must be at least 8/);
    expect(msg).not.toContain('topsecret');
    expect(msg).not.toContain('short');
  });
});
