/** Source allowlist (flow exporters, trap senders): IPv4 and IPv6 CIDRs matched against a datagram's source address. */
import { addressBytes } from './address.js';

interface Net {
  bytes: Uint8Array;
  bits: number;
}

/** Parses "10.0.0.0/8", "2001:db8::/32" or a bare address; throws on anything else. */
export function parseCidr(s: string): Net {
  const [addr = '', len] = s.split('/');
  const bytes = addressBytes(addr);
  if (!bytes) throw new Error(`not an IP address or CIDR: ${JSON.stringify(s)}`);
  const bits = len === undefined ? bytes.length * 8 : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) throw new Error(`bad prefix length in ${JSON.stringify(s)}`);
  return { bytes, bits };
}

export function isCidr(s: string): boolean {
  try {
    parseCidr(s);
    return true;
  } catch {
    return false;
  }
}

export class Allowlist {
  private readonly nets: Net[];
  /** Verdict cache per source address; bounded so spoofed sources cannot grow it without limit. */
  private readonly cache = new Map<string, boolean>();

  constructor(cidrs: readonly string[]) {
    this.nets = cidrs.map(parseCidr);
  }

  allows(addr: string): boolean {
    const hit = this.cache.get(addr);
    if (hit !== undefined) return hit;
    const b = addressBytes(addr);
    const ok = b !== undefined && this.nets.some((n) => matches(n, b));
    if (this.cache.size > 4096) this.cache.clear();
    this.cache.set(addr, ok);
    return ok;
  }
}

function matches(n: Net, b: Uint8Array): boolean {
  if (n.bytes.length !== b.length) return false;
  let bits = n.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((n.bytes[i] as number) & mask) !== ((b[i] as number) & mask)) return false;
  }
  return true;
}
