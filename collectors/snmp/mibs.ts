/**
 * MIB name <-> OID resolution through net-snmp's module store: its base modules, the MIBs it bundles
 * (IANAifType-MIB, IF-MIB under net-snmp/lib/mibs) and every file in the directories the user names.
 *
 * net-snmp's loader has two sharp edges (seen with net-snmp 3.29): modules must be loaded in
 * dependency order, and one failed load can leave the store unusable. So files are loaded in passes
 * (a file whose imports are not there yet is retried after the others), and after a failure the store
 * is rebuilt from the files that did load. A broken file is reported by name and skipped.
 */
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import snmp from 'net-snmp';

export interface MibProblem {
  file: string;
  message: string;
}

interface Store {
  loadFromFile(file: string): void;
  getModules(includeBase: boolean): Record<string, Record<string, unknown>>;
}

const SMI_V1 = /^(RFC1155-SMI|RFC1158-MIB|RFC-1212|RFC1213-MIB|RFC-1215)\b/;
const MIB_FILE = /\.(mib|my|txt)$|^[A-Z][A-Za-z0-9-]*$/;

export function bundledMibDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('net-snmp')), 'lib', 'mibs');
}

/** net-snmp prints parse complaints with console.log; capture them into the error instead. */
function quietly<T>(fn: () => T): { value?: T; error?: string } {
  const saved = console.log;
  const said: string[] = [];
  console.log = (...a: unknown[]) => void said.push(a.map(String).join(' '));
  try {
    return { value: fn() };
  } catch (e) {
    const first = said.find((s) => s.trim()) ?? '';
    return { error: `${first.replace(/!+$/, '')}${first ? '; ' : ''}${(e as Error).message}` };
  } finally {
    console.log = saved;
  }
}

function newStore(): Store {
  return snmp.createModuleStore() as Store;
}

export class MibResolver {
  private readonly byName = new Map<string, string>();
  private readonly byOid = new Map<string, string>();
  /** OIDs of value-carrying objects (OBJECT-TYPE, accessible): their suffix is an instance. */
  private readonly leaves = new Set<string>();

  private constructor(store: Store) {
    for (const [mod, objs] of Object.entries(store.getModules(true))) {
      for (const [name, o] of Object.entries(objs)) {
        const oid = (o as { OID?: unknown } | null)?.OID;
        if (typeof oid !== 'string' || !/^\d+(\.\d+)*$/.test(oid)) continue;
        this.byName.set(`${mod}::${name}`, oid);
        if (!this.byName.has(name)) this.byName.set(name, oid);
        // Several base modules define the same nodes; prefer the SMIv2 names over RFC 1155/1213 ones.
        const had = this.byOid.get(oid);
        if (had === undefined || (SMI_V1.test(had) && !SMI_V1.test(mod))) this.byOid.set(oid, `${mod}::${name}`);
        const def = o as { MACRO?: unknown; 'MAX-ACCESS'?: unknown; ACCESS?: unknown };
        if (def.MACRO === 'OBJECT-TYPE' && (def['MAX-ACCESS'] ?? def.ACCESS) !== 'not-accessible') this.leaves.add(oid);
      }
    }
  }

  /** Loads bundled MIBs plus every MIB file found in `dirs`; never throws for a bad file. */
  static load(dirs: readonly string[] = []): { resolver: MibResolver; problems: MibProblem[] } {
    const files: string[] = ['IANAifType-MIB.mib', 'IF-MIB.mib'].map((f) => join(bundledMibDir(), f));
    const problems: MibProblem[] = [];
    for (const d of dirs) {
      let names: string[];
      try {
        names = readdirSync(d).sort();
      } catch (e) {
        problems.push({ file: d, message: `cannot read MIB directory: ${(e as Error).message}` });
        continue;
      }
      for (const n of names) {
        const f = join(d, n);
        if (MIB_FILE.test(n) && statSync(f, { throwIfNoEntry: false })?.isFile()) files.push(f);
      }
    }
    const loaded: string[] = [];
    let store = newStore();
    let pending = files;
    let lastError = new Map<string, string>();
    while (pending.length) {
      const failed: string[] = [];
      lastError = new Map();
      for (const f of pending) {
        const r = quietly(() => store.loadFromFile(f));
        if (r.error === undefined) {
          loaded.push(f);
          continue;
        }
        failed.push(f);
        lastError.set(f, r.error);
        store = newStore();
        for (const ok of loaded) quietly(() => store.loadFromFile(ok));
      }
      if (failed.length === pending.length) break;
      pending = failed;
    }
    for (const [file, message] of lastError) problems.push({ file, message: `MIB not loaded: ${message}` });
    return { resolver: new MibResolver(store), problems };
  }

  /** `IF-MIB::ifHCInOctets`, `ifHCInOctets` or a numeric OID (leading dot allowed) -> numeric OID. */
  toOid(nameOrOid: string): string | undefined {
    const s = nameOrOid.trim().replace(/^\./, '');
    if (/^\d+(\.\d+)*$/.test(s)) return s;
    // allow an instance suffix on a name, e.g. SNMPv2-MIB::sysUpTime.0
    const m = /^(.*?)((?:\.\d+)*)$/.exec(s);
    const base = m?.[1] ?? s;
    const oid = this.byName.get(base);
    return oid === undefined ? undefined : oid + (m?.[2] ?? '');
  }

  /** Instance OID of a known object -> the object's name and the instance; undefined otherwise. */
  objectOf(oid: string): { name: string; instance: string } | undefined {
    const parts = oid.split('.');
    for (let n = parts.length; n > 0; n--) {
      const prefix = parts.slice(0, n).join('.');
      const name = this.byOid.get(prefix);
      if (name === undefined) continue;
      return this.leaves.has(prefix) ? { name, instance: parts.slice(n).join('.') } : undefined;
    }
    return undefined;
  }

  /** Numeric OID -> `MODULE::name` plus instance suffix, by longest known prefix. */
  toName(oid: string): string | undefined {
    const parts = oid.split('.');
    for (let n = parts.length; n > 0; n--) {
      const name = this.byOid.get(parts.slice(0, n).join('.'));
      if (name !== undefined) return n === parts.length ? name : `${name}.${parts.slice(n).join('.')}`;
    }
    return undefined;
  }
}
