/**
 * The real-exporter bench's input (bench/flow-real.bench.ts) is what it says: softflowd reads the
 * synthesised 20,000-conversation mix and its NetFlow v9 export, decoded by tshark (not by our
 * code), holds at least 20,000 distinct flows, at least 5% of them IPv6, with TCP, UDP and ICMP;
 * and the bench's own record walker (capture.ts) counts exactly what tshark decodes.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse, readUdpPcap } from '../bench/flow-e2e/capture.js';
import { buildCaptures, type BuiltCapture } from '../bench/flow-e2e/exporters.js';
import { readFileSync } from 'node:fs';
import { makeTmpDir } from './helpers/net.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
let cap: BuiltCapture;

beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-flow-real-');
  [cap] = (await buildCaptures({ kind: 'mix', conversations: 20_000, seed: 7 }, ['softflowd-v9'], () => undefined, tmp.dir)) as [BuiltCapture];
}, 120_000);
afterAll(async () => tmp?.cleanup());

type Tree = { [k: string]: string | Tree };

/** Every flow record tshark decodes: the objects of its cflow tree holding `cflow.protocol`. */
function tsharkRecords(file: string): Tree[] {
  const json = JSON.parse(execFileSync('tshark', ['-r', file, '-d', 'udp.port==1-65535,cflow', '-T', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 512 << 20 })) as { _source: { layers: Tree } }[];
  const out: Tree[] = [];
  const walk = (t: Tree): void => {
    if (typeof t['cflow.protocol'] === 'string') out.push(t);
    else for (const v of Object.values(t)) if (typeof v === 'object') walk(v);
  };
  for (const p of json) walk(p._source.layers);
  return out;
}

describe('flow-real capture builder', () => {
  it('softflowd v9 export of the mix: >= 20k distinct flows, >= 5% IPv6, TCP/UDP/ICMP, counted as tshark does', () => {
    const recs = tsharkRecords(cap.file);
    const s = (t: Tree, k: string): string => (typeof t[k] === 'string' ? t[k] : '');
    const keys = new Set(recs.map((r) => [s(r, 'cflow.srcaddr') || s(r, 'cflow.srcaddrv6'), s(r, 'cflow.dstaddr') || s(r, 'cflow.dstaddrv6'), s(r, 'cflow.srcport'), s(r, 'cflow.dstport'), s(r, 'cflow.protocol')].join(' ')));
    const v6 = recs.filter((r) => s(r, 'cflow.srcaddrv6') !== '').length;
    const protos = new Set(recs.map((r) => s(r, 'cflow.protocol')));
    const hosts = new Set(recs.flatMap((r) => [s(r, 'cflow.srcaddr') || s(r, 'cflow.srcaddrv6'), s(r, 'cflow.dstaddr') || s(r, 'cflow.dstaddrv6')]));
    expect(keys.size).toBeGreaterThanOrEqual(20_000);
    expect(v6 / recs.length).toBeGreaterThanOrEqual(0.05);
    expect([...protos].sort()).toEqual(expect.arrayContaining(['1', '17', '58', '6']));
    expect(hosts.size).toBeGreaterThan(10_000);
    // the walker the bench judges receivers by agrees with tshark, record for record
    const info = analyse(readUdpPcap(readFileSync(cap.file)));
    expect(info.stats.records).toBe(recs.length);
    expect(info.stats.ipv6Records).toBe(v6);
    expect(info.packets.reduce((a, b) => a + b, 0)).toBe(recs.reduce((a, r) => a + Number(s(r, 'cflow.packets')), 0));
  }, 120_000);
});
