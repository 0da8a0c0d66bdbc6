/**
 * The state files split by owning worker and joined again (shard.ts): every entry goes to exactly
 * one worker, the one the exporter's datagrams are routed to, and the join is the file again.
 * Entries are generated (IPv4 and IPv6 exporters, several ports and domains each).
 */
import { describe, expect, it } from 'vitest';
import { joinParts, OPTIONS_LISTS, ownLoss, ownOptions, ownTemplates, sessionAddress, shardOf, TEMPLATE_LISTS } from './shard.js';
import type { LossState } from './losspersist.js';

const exporters = [...Array.from({ length: 40 }, (_, i) => `10.1.${i >> 4}.${i}`), ...Array.from({ length: 20 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`)];

describe('flow worker shards', () => {
  it('reads the exporter out of a template session, IPv6 included', () => {
    expect(sessionAddress('192.0.2.1:2055')).toBe('192.0.2.1');
    expect(sessionAddress('2001:db8::1:9995')).toBe('2001:db8::1');
  });

  it('spreads exporters over the workers and keeps one exporter in one', () => {
    const n = 3;
    const counts = [0, 0, 0];
    for (const e of exporters) counts[shardOf(e, n)] = (counts[shardOf(e, n)] ?? 0) + 1;
    for (const c of counts) expect(c).toBeGreaterThan(5);
    expect(shardOf('10.1.0.1', n)).toBe(shardOf('10.1.0.1', n));
  });

  it('splits templates, options and loss streams by owner; the parts join to the whole', () => {
    const n = 3;
    const templates = { format: 'netvigil-templates-1', templates: exporters.flatMap((e) => [2055, 4739].map((port) => ({ exporter: `${e}:${port}`, domain: 1, updatedAt: 0, def: { id: 256 } }))) };
    const options = {
      format: 'netvigil-flow-options-1',
      sampling: exporters.map((e) => [`${e}|0|*`, 100]),
      sysInit: exporters.map((e) => [`${e}|0`, 5]),
      interfaces: exporters.map((e) => [e, [{ ifIndex: 1 }]]),
    };
    const loss: LossState = { v: 1, savedAt: 1, streams: exporters.map((e) => ({ exporter: e, version: '9', domain: '0', expected: 1, uptimeMs: 0, received: 1, lost: 0, duplicates: 0, resets: 0 })) };
    const tParts = [0, 1, 2].map((i) => ownTemplates(templates, n, i) as typeof templates);
    const oParts = [0, 1, 2].map((i) => ownOptions(options, n, i) as typeof options);
    const lParts = [0, 1, 2].map((i) => ownLoss(loss, n, i) as LossState);
    tParts.forEach((p, i) => {
      for (const t of p.templates) expect(shardOf(sessionAddress(t.exporter), n)).toBe(i);
    });
    oParts.forEach((p, i) => {
      for (const [k] of p.interfaces) expect(shardOf(k as string, n)).toBe(i);
    });
    lParts.forEach((p, i) => {
      for (const s of p.streams) expect(shardOf(s.exporter, n)).toBe(i);
    });
    const sorted = (a: readonly unknown[]): string[] => a.map((x) => JSON.stringify(x)).sort();
    const tJoined = joinParts(tParts, TEMPLATE_LISTS) as typeof templates;
    expect(tJoined.format).toBe(templates.format);
    expect(sorted(tJoined.templates)).toEqual(sorted(templates.templates));
    const oJoined = joinParts(oParts, OPTIONS_LISTS) as typeof options;
    for (const k of OPTIONS_LISTS) expect(sorted(oJoined[k])).toEqual(sorted(options[k]));
    expect(sorted(lParts.flatMap((p) => p.streams))).toEqual(sorted(loss.streams));
  });
});
