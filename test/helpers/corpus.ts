/**
 * The real-world corpus (test/corpus/<case>/): loading a case, and tshark's decode of the same
 * datagrams as an independent check of each case's expected.jsonl. tshark (Wireshark 4.0) runs
 * two-pass (-2) so a data set that arrives before its template in the capture still decodes, as
 * RFC 3954 §9 / RFC 7011 §8 let a collector do.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hexToBytes } from './hex.js';
import { udpFrames, writePcap } from './pcap-sflow.js';

export type Expected = Record<string, number | string | boolean>;
/** One tshark record (NetFlow/IPFIX) or sample (sFlow): its leaf fields, datagram header ones included. */
export type Flat = Map<string, string[]>;

export interface CorpusCase {
  name: string;
  dir: string;
  proto: 'cflow' | 'sflow';
  datagrams: Uint8Array[];
  expected: Expected[];
}

export function loadCase(root: string, name: string): CorpusCase {
  const dir = join(root, name);
  const datagrams = readdirSync(dir).filter((f) => /^input-\d+\.hex$/.test(f)).sort().map((f) => hexToBytes(readFileSync(join(dir, f), 'utf8')));
  const expected = readFileSync(join(dir, 'expected.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Expected);
  const first = datagrams[0];
  // sFlow v5 starts with the 32-bit version 5; NetFlow/IPFIX with a 16-bit 5, 9 or 10
  const proto = first && first[0] === 0 && first[1] === 0 && first[2] === 0 && first[3] === 5 ? 'sflow' : 'cflow';
  return { name, dir, proto, datagrams, expected };
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function push(m: Flat, k: string, v: string): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

/** Every leaf under `o` into `out` (a key seen twice keeps both values, in order). */
function leaves(o: Json, out: Flat): void {
  if (o === null || typeof o !== 'object') return;
  for (const [k, v] of Array.isArray(o) ? o.map((x): [string, Json] => ['', x]) : Object.entries(o)) {
    if (v !== null && typeof v === 'object') {
      if (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object')) for (const x of v) push(out, k, String(x));
      else leaves(v, out);
    } else if (k) push(out, k, String(v));
  }
}

/** A NetFlow v5 record is tshark's "pdu i/n", a v9/IPFIX data record "Flow n". */
const CFLOW_RECORD = /^(pdu \d+\/\d+|Flow \d+)$/;

/**
 * Data records of one datagram. The last systemInitTimeMilliseconds an options record gave (in
 * capture order) is added to later records as `_sys_init_time`, so IPFIX uptime stamps can be
 * made absolute the way a collector does.
 */
function cflowRecords(layer: { [k: string]: Json }, header: Flat, out: Flat[], state: { sysInit?: string }): void {
  const walk = (o: Json): void => {
    if (o === null || typeof o !== 'object') return;
    for (const [k, v] of Array.isArray(o) ? o.map((x): [string, Json] => ['', x]) : Object.entries(o)) {
      if (v === null || typeof v !== 'object') continue;
      if (CFLOW_RECORD.test(k)) {
        for (const one of Array.isArray(v) ? v : [v]) {
          const f: Flat = new Map(header);
          leaves(one, f);
          const init = f.get('cflow.sys_init_time')?.[0];
          if (init !== undefined) state.sysInit = init;
          if (state.sysInit !== undefined) f.set('_sys_init_time', [state.sysInit]);
          out.push(f);
        }
      } else walk(v);
    }
  };
  walk(layer);
}

function sflowSamples(layer: { [k: string]: Json }, header: Flat, out: Flat[]): void {
  for (const [k, v] of Object.entries(layer)) {
    if (v === null || typeof v !== 'object' || !/sample/i.test(k)) continue;
    for (const one of Array.isArray(v) ? v : [v]) {
      const f: Flat = new Map(header);
      push(f, '_title', k);
      leaves(one, f);
      out.push(f);
    }
  }
}

/**
 * The case's datagrams as UDP from 192.0.2.10:40000 to 127.0.0.1:`port` in a pcap, decoded by
 * tshark: flow records (NetFlow/IPFIX, options records included) or samples (sFlow), in order.
 */
export function tsharkUnits(c: CorpusCase, pcapPath: string, port: number): Flat[] {
  writePcap(pcapPath, udpFrames(c.datagrams, { src: '192.0.2.10', dstPort: port }));
  const text = execFileSync('tshark', ['-2', '-r', pcapPath, '-d', `udp.port==${port},${c.proto}`, '-T', 'json', '--no-duplicate-keys'], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const packets = JSON.parse(text) as { _source: { layers: { [k: string]: { [k: string]: Json } | undefined } } }[];
  const out: Flat[] = [];
  const state: { sysInit?: string } = {};
  for (const p of packets) {
    const layer = p._source.layers[c.proto];
    if (!layer) continue;
    const header: Flat = new Map();
    for (const [k, v] of Object.entries(layer)) if (v === null || typeof v !== 'object') push(header, k, String(v));
    const ts = layer['cflow.timestamp_tree'];
    if (ts) leaves(ts, header);
    if (c.proto === 'cflow') cflowRecords(layer, header, out, state);
    else sflowSamples(layer, header, out);
  }
  return out;
}
