/**
 * Instructions per networks-file lookup, for callgrind (on a shared 2-core machine a wall-clock
 * figure measures the neighbours): builds a table of 1,000 IPv4 and 1,000 IPv6 generated prefixes
 * (/8../32 and /16../64, seeded) and looks up N addresses of the kind given, half inside a listed
 * network. Run it with N = 0 and with N, and divide the difference in instructions by N:
 *
 *   npm run build
 *   for n in 0 200000; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \
 *     node dist/bench/networks-lookup.js v4 $n 2>&1 | grep Collected; done
 *
 * Kinds: `v4` (uint32, the flow path), `v6` (IPv6 keys, the flow path), `text` (address text, what
 * the enrichment stage does once per aggregate series or raw flow).
 */
import { Networks } from '../src/enrich/networks.js';
import { ipv4ToString, ipv6ToString } from '../src/wire/reader.js';
import { ip6Key } from '../src/wire/ip6key.js';

const [kind = 'v4', nArg = '100000'] = process.argv.slice(2);
const n = Number(nArg);
let seed = 11;
const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const table: Record<string, { name: string }> = {};
const v4: [number, number][] = [];
const v6: [Uint8Array, number][] = [];
while (v4.length < 1000) {
  const bits = 8 + Math.floor(rnd() * 25);
  const net = (Math.floor(rnd() * 2 ** 32) & ((0xffffffff << (32 - bits)) >>> 0)) >>> 0;
  const key = `${ipv4ToString(net)}/${bits}`;
  if (table[key]) continue;
  table[key] = { name: key };
  v4.push([net, bits]);
}
while (v6.length < 1000) {
  const bits = 16 + Math.floor(rnd() * 49);
  const b = Uint8Array.from({ length: 16 }, (_, i) => (i * 8 < bits ? Math.floor(rnd() * 256) & (i * 8 + 8 <= bits ? 0xff : (0xff << (8 - (bits - i * 8))) & 0xff) : 0));
  const key = `${ipv6ToString(b)}/${bits}`;
  if (table[key]) continue;
  table[key] = { name: key };
  v6.push([b, bits]);
}
const nets = new Networks(table);
// the probe addresses are made before the loop, so the loop is lookups only
const probes: (number | string)[] = [];
for (let i = 0; i < 4096; i++) {
  if (kind === 'v6') {
    const [b] = v6[Math.floor(rnd() * v6.length)] as [Uint8Array, number];
    const a = Uint8Array.from(b);
    if (i % 2) for (let j = 8; j < 16; j++) a[j] = Math.floor(rnd() * 256);
    else a[0] = Math.floor(rnd() * 256);
    probes.push(ip6Key(a, 0));
  } else {
    const [net, bits] = v4[Math.floor(rnd() * v4.length)] as [number, number];
    const a = i % 2 ? (net + Math.floor(rnd() * 2 ** (32 - bits))) >>> 0 : Math.floor(rnd() * 2 ** 32);
    probes.push(kind === 'text' ? ipv4ToString(a) : a);
  }
}
let hits = 0;
for (let i = 0; i < n; i++) if (nets.find(probes[i & 4095] as number | string) !== undefined) hits++;
console.log(`${kind}: ${n} lookups, ${hits} in a listed network`);
