/**
 * IP address text -> network-order bytes (4 for IPv4, 16 for IPv6), or undefined when the text is not
 * an address. Shared by the exporter allowlist and by tests that build datagrams.
 */
import { isIP } from 'node:net';

export function addressBytes(s: string): Uint8Array | undefined {
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
