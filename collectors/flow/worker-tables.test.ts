/**
 * The copies of the enrichment tables flow workers get (worker-tables.ts): sent once per change,
 * split by owner, resolved like the main thread's directory (SNMP before options data), and the
 * interface directory's version moving only when a role a worker would see may have changed.
 * Interface data here is generated (the directory's rules are under test, not a poll).
 */
import { describe, expect, it } from 'vitest';
import { EnrichState } from '../../src/enrich/config.js';
import { InterfaceTable } from '../../src/enrich/interfaces.js';
import { NetworkHolder, Networks } from '../../src/enrich/networks.js';
import { shardOf } from './shard.js';
import { nothingSent, TableFeed, WorkerTables } from './worker-tables.js';

const RULES = [
  { role: 'uplink', descr: 'uplink' },
  { role: 'capture', name: '^cap' },
];

function directory(): InterfaceTable {
  const t = new InterfaceTable();
  new EnrichState(t).apply({ interface_roles: RULES }, '/');
  return t;
}

describe('flow worker tables', () => {
  it('the directory version moves when a role or the interface set changes, not on a poll that changed neither', () => {
    const t = directory();
    const v0 = t.version;
    t.update('edge1', ['192.0.2.1'], 'snmp', [{ ifIndex: 1, name: 'ge-0/0/0', descr: 'uplink a' }]);
    const v1 = t.version;
    expect(v1).toBeGreaterThan(v0);
    t.update('edge1', ['192.0.2.1'], 'snmp', [{ ifIndex: 1, name: 'ge-0/0/0', descr: 'uplink a', speed: 1e9 }]);
    expect(t.version).toBe(v1);
    t.update('edge1', ['192.0.2.1'], 'snmp', [{ ifIndex: 1, name: 'ge-0/0/0', descr: 'spare' }]);
    expect(t.version).toBeGreaterThan(v1);
    const v2 = t.version;
    t.update('edge1', ['192.0.2.1'], 'snmp', [{ ifIndex: 1, name: 'ge-0/0/0', descr: 'spare' }, { ifIndex: 2, name: 'x' }]);
    expect(t.version).toBeGreaterThan(v2);
    const v3 = t.version;
    t.update('edge1', ['192.0.2.1', '192.0.2.9'], 'snmp', [{ ifIndex: 1, name: 'ge-0/0/0', descr: 'spare' }, { ifIndex: 2, name: 'x' }]);
    expect(t.version).toBeGreaterThan(v3);
  });

  it('sends each worker its own exporters once per change; the worker resolves SNMP before options data', () => {
    const t = directory();
    const nets = new NetworkHolder();
    nets.current = new Networks({ '10.0.0.0/8': { name: 'corp', site: 'par1' } });
    const addrs = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'];
    for (const a of addrs) t.update(`dev-${a}`, [a], 'snmp', [{ ifIndex: 1, descr: 'uplink' }, { ifIndex: 2, descr: 'core' }]);
    const feed = new TableFeed({ networks: nets, interfaces: t }, ['src_site', 'in_role']);
    const sent = [nothingSent(), nothingSent()];
    const workers = [new WorkerTables(), new WorkerTables()];
    for (const i of [0, 1]) {
      const m = feed.changes(sent[i]!, i, 2);
      expect(m?.networks).toBe(nets.current.source);
      expect(m?.roles?.snmp.map(([a]) => a).sort()).toEqual(addrs.filter((a) => shardOf(a, 2) === i).sort());
      workers[i]!.apply(m!);
      expect(feed.changes(sent[i]!, i, 2)).toBeUndefined();
    }
    const a = addrs[0] as string;
    const w = workers[shardOf(a, 2)] as WorkerTables;
    expect(w.networks.find(0x0a010203)?.site).toBe('par1');
    expect(w.interfaces.lookup(a, 1)?.role).toBe('uplink');
    // SNMP knows ifIndex 2 without a role: options data naming it does not give it one (as in the main thread)
    w.interfaces.update(a, [a], 'flow', [{ ifIndex: 2, name: 'cap0' }, { ifIndex: 3, name: 'cap1' }]);
    t.update(a, [a], 'flow', [{ ifIndex: 2, name: 'cap0' }, { ifIndex: 3, name: 'cap1' }]);
    for (const i of [1, 2, 3]) expect(w.interfaces.lookup(a, i)?.role).toBe(t.lookup(a, i)?.role);
    expect(w.interfaces.lookup(a, 3)?.role).toBe('capture');
    // new rules (SIGHUP): sent again, and the worker reclassifies what its exporters named
    new EnrichState(t).apply({ interface_roles: [{ role: 'mirror', name: 'cap1' }] }, '/');
    nets.current = undefined;
    const m = feed.changes(sent[shardOf(a, 2)]!, shardOf(a, 2), 2);
    expect(m?.networks).toBeNull();
    w.apply(m!);
    expect(w.networks.active).toBe(false);
    for (const i of [1, 2, 3]) expect(w.interfaces.lookup(a, i)?.role).toBe(t.lookup(a, i)?.role);
    expect(w.interfaces.lookup(a, 3)?.role).toBe('mirror');
  });

  it('sends nothing for dimensions that need no table', () => {
    const t = directory();
    t.update('edge1', ['192.0.2.1'], 'snmp', [{ ifIndex: 1, descr: 'uplink' }]);
    expect(new TableFeed({ interfaces: t }, ['exporter', 'proto']).changes(nothingSent(), 0, 1)).toBeUndefined();
  });
});
