/**
 * The networks file (`enrich.networks_file`): CIDR -> name, site, role, tenant, as Akvorado's
 * `networks` and pmacct's networks_file give them. The longest prefix holding an address wins; an
 * attribute a network leaves out is inherited from the closest network that covers it, so a /24
 * can rename a part of a /16 without repeating its site and tenant.
 *
 *   networks:
 *     10.0.0.0/8: { name: corp, site: par1, role: internal, tenant: acme }
 *     10.9.0.0/16: { name: lab }            # site par1, role internal, tenant acme inherited
 *     "2001:db8::/32": { name: doc6, site: ams1 }
 */
import { z } from 'zod';
import type { NetworkDirectory, NetworkInfo } from '../collector.js';
import { loadYamlFile } from '../config/yaml.js';
import { addressBytes } from '../wire/address.js';
import { parseCidr } from '../wire/cidr.js';
import { isIp6Key } from '../wire/ip6key.js';
import { ipv4ToString, ipv6ToString } from '../wire/reader.js';
import { PrefixTable } from '../wire/prefixtable.js';

export const NETWORK_ATTRS = ['name', 'site', 'role', 'tenant'] as const;

const attr = z.string().min(1).max(256);
const attrs = z.union([attr.transform((name) => ({ name })), z.strictObject({ name: attr.optional(), site: attr.optional(), role: attr.optional(), tenant: attr.optional() })]);

/** The network a CIDR denotes, as canonical text; undefined with a reason when it is not one. */
function canonical(key: string): { text: string; bytes: Uint8Array; bits: number } | { error: string } {
  let net;
  try {
    net = parseCidr(key);
  } catch (e) {
    return { error: (e as Error).message };
  }
  if (!key.includes('/')) return { error: `expected a network like ${key}/${net.bytes.length * 8} (a prefix length is required)` };
  const masked = Uint8Array.from(net.bytes, (b, i) => {
    const keep = Math.min(8, Math.max(0, net.bits - 8 * i));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  const text = `${masked.length === 4 ? ipv4ToString((((masked[0] ?? 0) << 24) | ((masked[1] ?? 0) << 16) | ((masked[2] ?? 0) << 8) | (masked[3] ?? 0)) >>> 0) : ipv6ToString(masked)}/${net.bits}`;
  if (masked.some((b, i) => b !== net.bytes[i])) return { error: `host bits set: the network is ${text}` };
  return { text, bytes: masked, bits: net.bits };
}

export const networksFileSchema = z
  .strictObject({ networks: z.record(z.string(), attrs).default({}) })
  .superRefine((f, ctx) => {
    const seen = new Map<string, string>();
    for (const key of Object.keys(f.networks)) {
      const c = canonical(key);
      if ('error' in c) {
        ctx.addIssue({ code: 'custom', path: ['networks', key], message: c.error });
        continue;
      }
      const first = seen.get(c.text);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['networks', key], message: `the same network as "${first}" (${c.text}), listed twice` });
      else seen.set(c.text, key);
    }
  });

/** An immutable longest-prefix table of one networks file. */
export class Networks {
  private readonly table = new PrefixTable<NetworkInfo>();

  /** The networks as given, so a flow worker thread can build the same table (collectors/flow/worker-tables.ts). */
  constructor(readonly source: Readonly<Record<string, Partial<NetworkInfo>>>) {
    // shortest first, so every network's covering networks are in the table when it inherits from them
    const list = Object.entries(source)
      .map(([key, a]) => ({ c: canonical(key), a }))
      .filter((x): x is { c: { text: string; bytes: Uint8Array; bits: number }; a: Partial<NetworkInfo> } => !('error' in x.c))
      .sort((x, y) => x.c.bits - y.c.bits);
    for (const { c, a } of list) {
      const parent = this.table.findBytes(c.bytes, c.bits);
      const info: NetworkInfo = { ...parent };
      for (const k of NETWORK_ATTRS) if (a[k] !== undefined) info[k] = a[k];
      this.table.insert(c.bytes, c.bits, Object.freeze(info));
    }
  }

  get size(): number {
    return this.table.size;
  }

  /** By an address key as flows carry it: IPv4 uint32, IPv6 key, or address text. */
  find(addr: number | string): NetworkInfo | undefined {
    if (typeof addr === 'number') return addr >= 0 && addr <= 0xffff_ffff ? this.table.find4(addr) : undefined;
    if (addr === '') return undefined;
    if (isIp6Key(addr)) return this.table.find6(addr);
    const b = addressBytes(addr);
    return b ? this.table.findBytes(b) : undefined;
  }
}

export function loadNetworks(file: string): Networks {
  return new Networks(loadYamlFile(file, networksFileSchema).networks);
}

/** The directory collectors hold: it keeps its identity while SIGHUP swaps the table under it. */
export class NetworkHolder implements NetworkDirectory {
  current: Networks | undefined;

  find(addr: number | string): NetworkInfo | undefined {
    return this.current?.find(addr);
  }

  get active(): boolean {
    return this.current !== undefined && this.current.size > 0;
  }

  source(): Readonly<Record<string, Partial<NetworkInfo>>> | undefined {
    return this.current?.source;
  }
}
