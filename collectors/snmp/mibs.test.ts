import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MibResolver } from './mibs.js';

// Two small MIBs written for this test: B imports from A, and sorts before it, so loading needs a
// second pass; plus one broken file that must be reported by name without breaking the others.
const A = `NETVIGIL-A-MIB DEFINITIONS ::= BEGIN
IMPORTS MODULE-IDENTITY, OBJECT-TYPE, Integer32, enterprises FROM SNMPv2-SMI;
nvA MODULE-IDENTITY
    LAST-UPDATED "202601010000Z" ORGANIZATION "netvigil" CONTACT-INFO "none" DESCRIPTION "test"
    ::= { enterprises 99999 }
nvTemp OBJECT-TYPE SYNTAX Integer32 MAX-ACCESS read-only STATUS current DESCRIPTION "t" ::= { nvA 1 }
END
`;
const B = `NETVIGIL-B-MIB DEFINITIONS ::= BEGIN
IMPORTS OBJECT-TYPE, Integer32 FROM SNMPv2-SMI nvA FROM NETVIGIL-A-MIB;
nvFan OBJECT-TYPE SYNTAX Integer32 MAX-ACCESS read-only STATUS current DESCRIPTION "f" ::= { nvA 2 }
END
`;
const BROKEN = `NETVIGIL-BROKEN-MIB DEFINITIONS ::= BEGIN
IMPORTS thing FROM NO-SUCH-MIB;
nvBad OBJECT IDENTIFIER ::= { nowhere 1
END
`;

describe('MibResolver', () => {
  it('resolves bundled IF-MIB names both ways, with instances', () => {
    const { resolver, problems } = MibResolver.load();
    expect(problems).toEqual([]);
    expect(resolver.toOid('IF-MIB::ifHCInOctets')).toBe('1.3.6.1.2.1.31.1.1.1.6');
    expect(resolver.toOid('ifHCInOctets')).toBe('1.3.6.1.2.1.31.1.1.1.6');
    expect(resolver.toOid('SNMPv2-MIB::sysUpTime.0')).toBe('1.3.6.1.2.1.1.3.0');
    expect(resolver.toOid('.1.3.6.1.2.1.1.5.0')).toBe('1.3.6.1.2.1.1.5.0');
    expect(resolver.toOid('IF-MIB::nosuch')).toBeUndefined();
    expect(resolver.toName('1.3.6.1.2.1.31.1.1.1.6.12')).toBe('IF-MIB::ifHCInOctets.12');
    expect(resolver.toName('1.3.6.1.6.3.1.1.5.3')).toBe('IF-MIB::linkDown');
  });

  it('loads user MIBs in dependency order and reports a broken file by name without losing the others', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netvigil-mibs-'));
    writeFileSync(join(dir, 'A-broken.mib'), BROKEN);
    writeFileSync(join(dir, 'B-fan.mib'), B);
    writeFileSync(join(dir, 'C-temp.mib'), A);
    const { resolver, problems } = MibResolver.load([dir]);
    expect(problems.map((p) => p.file)).toEqual([join(dir, 'A-broken.mib')]);
    expect(problems[0]?.message).toMatch(/MIB not loaded/);
    expect(resolver.toOid('NETVIGIL-A-MIB::nvTemp')).toBe('1.3.6.1.4.1.99999.1');
    expect(resolver.toOid('NETVIGIL-B-MIB::nvFan')).toBe('1.3.6.1.4.1.99999.2');
    expect(resolver.toOid('IF-MIB::ifName')).toBe('1.3.6.1.2.1.31.1.1.1.1');
  });

  it('reports an unreadable MIB directory', () => {
    const { problems } = MibResolver.load(['/nonexistent/netvigil-mibs']);
    expect(problems[0]?.message).toMatch(/cannot read MIB directory/);
  });
});
