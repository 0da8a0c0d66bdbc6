/** Exporter allowlist: IPv4 and IPv6 CIDRs matched against a datagram's source address. */
import { isIP } from 'node:net';

interface Net {
  bytes: Uint8Array;
  bits: number;
}

function parseAddr(s: string): Uint8Array | undefined {
  const v = isIP(s);
  if (v === 4) return Uint8Array.from(s.split('.').map(Number));
  if (v !== 6) return undefined;
  // expand "::" and an embedded dotted quad (RFC 4291 §2.2)
  let text = s;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const q = dotted[1].split('.').map(Number);
    text = text.slice(0, -dotted[1].length) + `${(((q[0] ?? 0) << 8) | (q[1] ?? 0)).toString(16)}:${(((q[2] ?? 0) << 8) | (q[3] ?? 0)).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    const n = parseInt(w, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 255;
  });
  return out;
}

/** Parses "10.0.0.0/8", "2001:db8::/32" or a bare address; throws on anything else. */
export function parseCidr(s: string): Net {
  const [addr = '', len] = s.split('/');
  const bytes = parseAddr(addr);
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
    const b = parseAddr(addr);
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
