/**
 * tshark (Wireshark 4.0) as an independent oracle over the vendor-layout golden cases: both read the
 * same bytes. tshark prints what is on the wire (both families of a dual-stack template, total and
 * initiator/responder counters, options sampling intervals); our records must be what the README's
 * rules make of exactly that: the non-zero address family, the volume by the first-present rule,
 * an interval of 0 as rate 1.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCaptured } from './helpers/decode.js';
import { hexToBytes } from './helpers/hex.js';
import { makeTmpDir } from './helpers/net.js';
import { udpFrames, writePcap } from './helpers/pcap-sflow.js';

const PORT = 2055;
type Leaf = string | string[];
type Tree = { [k: string]: Leaf | Tree | Tree[] };
type Rec = Map<string, string[]>;

/** tshark's records (objects holding cflow leaves for an address or a sampling interval), in order. */
function tsharkRecords(pcap: string): Rec[] {
  const json = JSON.parse(execFileSync('tshark', ['-r', pcap, '-d', `udp.port==${PORT},cflow`, '-T', 'json', '--no-duplicate-keys'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { _source: { layers: Tree } }[];
  const out: Rec[] = [];
  const walk = (t: Tree): void => {
    const leaves: Rec = new Map();
    for (const [k, v] of Object.entries(t)) if (typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'))) leaves.set(k, ([] as string[]).concat(v as Leaf));
    if (leaves.has('cflow.srcaddr') || leaves.has('cflow.srcaddrv6') || leaves.has('cflow.sampling_interval')) out.push(leaves);
    for (const v of Object.values(t)) {
      if (Array.isArray(v)) for (const x of v) if (typeof x === 'object') walk(x);
      if (typeof v === 'object' && !Array.isArray(v)) walk(v);
    }
  };
  for (const p of json) walk(p._source.layers);
  return out;
}

const first = (r: Rec, k: string): string | undefined => r.get(k)?.[0];
const num = (r: Rec, k: string): number | undefined => (r.has(k) ? Number(first(r, k)) : undefined);
/** The non-zero one of an IPv4/IPv6 pair as tshark prints them; the IPv4 one when both are zero. */
function family(r: Rec, v4: string, v6: string): string | undefined {
  const a = first(r, v4);
  const b = first(r, v6);
  return a !== undefined && a !== '0.0.0.0' ? a : b !== undefined && b !== '::' ? b : (a ?? b);
}
function volume(r: Rec, delta: string, total: string, pair: [string, string]): number | undefined {
  const x = num(r, delta) ?? num(r, total);
  if (x !== undefined) return x;
  const [a, b] = pair.map((k) => num(r, k));
  return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
}

const CASES = ['v9-dual-stack-template', 'ipfix-total-counters', 'ipfix-firewall-bidirectional-counters', 'v9-sampling-interval-zero', 'v9-zero-padding-after-last-set'];

describe('vendor-layout golden cases agree with tshark', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    tmp = await makeTmpDir('netvigil-vendor-tshark-');
  });
  afterAll(async () => tmp?.cleanup());

  for (const name of CASES) {
    it(name, async () => {
      const dir = join('collectors/netflow/testcases', name);
      const payloads = readdirSync(dir).filter((f) => f.endsWith('.hex')).sort().map((f) => hexToBytes(readFileSync(join(dir, f), 'utf8')));
      const pcap = join(tmp.dir, `${name}.pcap`);
      writePcap(pcap, udpFrames(payloads, { dstPort: PORT }));
      const theirs = tsharkRecords(pcap);
      const r = await decodeCaptured([pcap]);
      expect(r.err).toBe('');
      const ours = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(ours.map((o) => o['type'])).toEqual(theirs.map((t) => (t.has('cflow.srcaddr') || t.has('cflow.srcaddrv6') ? 'flow' : 'options')));
      let rate = 1;
      theirs.forEach((t, i) => {
        const o = ours[i] ?? {};
        const interval = num(t, 'cflow.sampling_interval');
        if (o['type'] === 'options') {
          if (interval !== undefined) rate = Math.max(1, interval);
          return;
        }
        const want: Record<string, unknown> = {
          src_addr: family(t, 'cflow.srcaddr', 'cflow.srcaddrv6'),
          dst_addr: family(t, 'cflow.dstaddr', 'cflow.dstaddrv6'),
          next_hop: family(t, 'cflow.nexthop', 'cflow.nexthopv6'),
          bgp_next_hop: family(t, 'cflow.bgpnexthop', 'cflow.bgpnexthopv6'),
          src_port: num(t, 'cflow.srcport'),
          dst_port: num(t, 'cflow.dstport'),
          bytes: volume(t, 'cflow.octets', 'cflow.permanent_octets', ['cflow.initiator_octets', 'cflow.responder_octets']),
          packets: volume(t, 'cflow.packets', 'cflow.permanent_packets', ['cflow.initiator_packets', 'cflow.responder_packets']),
          sampling_rate: interval !== undefined ? Math.max(1, interval) : rate,
        };
        for (const k of Object.keys(want)) if (want[k] === undefined) delete want[k];
        expect(Object.keys(want).length, `tshark record ${i}`).toBeGreaterThan(5);
        expect(o, `record ${i}`).toMatchObject(want);
      });
      expect(theirs.length).toBeGreaterThan(0);
    });
  }
});
