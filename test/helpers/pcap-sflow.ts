/**
 * Classic pcap writer for the sFlow tests (LINKTYPE_ETHERNET): wraps UDP payloads (sFlow
 * datagrams) in Ethernet/IPv4/UDP so tshark can decode them, and writes arbitrary frames (the
 * synthetic traffic pmacctd samples).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { SflowDatagram } from '../../collectors/sflow/index.js';
import { ethernet, ipv4, udp } from '../../collectors/sflow/testpackets.js';

export interface PcapFrame {
  /** Seconds since the epoch (fractional). */
  ts: number;
  data: Uint8Array;
}

/** libpcap file format: 24-byte global header, then a 16-byte header per packet (little endian). */
export function pcapBytes(frames: readonly PcapFrame[], snaplen = 65535): Uint8Array {
  let size = 24;
  for (const f of frames) size += 16 + Math.min(f.data.byteLength, snaplen);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, snaplen, true);
  dv.setUint32(20, 1, true); // LINKTYPE_ETHERNET
  let o = 24;
  for (const f of frames) {
    const sec = Math.floor(f.ts);
    const cap = Math.min(f.data.byteLength, snaplen);
    dv.setUint32(o, sec, true);
    dv.setUint32(o + 4, Math.round((f.ts - sec) * 1e6), true);
    dv.setUint32(o + 8, cap, true);
    dv.setUint32(o + 12, f.data.byteLength, true);
    out.set(f.data.subarray(0, cap), o + 16);
    o += 16 + cap;
  }
  return out;
}

export function writePcap(path: string, frames: readonly PcapFrame[]): void {
  writeFileSync(path, pcapBytes(frames));
}

/** UDP payloads (e.g. sFlow datagrams) from `src` to `dst:port`, one frame each. */
export function udpFrames(payloads: readonly Uint8Array[], opts: { src?: string; dst?: string; srcPort?: number; dstPort: number; ts?: number }): PcapFrame[] {
  const t0 = opts.ts ?? 1_700_000_000;
  return payloads.map((p, i) => ({
    ts: t0 + i / 1000,
    data: ethernet({
      etherType: 0x0800,
      payload: ipv4({ src: opts.src ?? '127.0.0.1', dst: opts.dst ?? '127.0.0.1', proto: 17, payload: udp(opts.srcPort ?? 40000, opts.dstPort, p) }),
    }),
  }));
}

// ---- tshark as an independent oracle ----

/** One sample as tshark shows it: its title and every leaf field by name (all values, in order). */
export interface TsharkSample {
  title: string;
  f: Map<string, string[]>;
}
export interface TsharkDatagram {
  f: Map<string, string[]>;
  samples: TsharkSample[];
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function leaves(o: Json, out: Map<string, string[]>): void {
  if (o === null || typeof o !== 'object') return;
  const entries: [string, Json][] = Array.isArray(o) ? o.map((v) => ['', v]) : Object.entries(o);
  for (const [k, v] of entries) {
    if (v !== null && typeof v === 'object') {
      if (Array.isArray(v) && v.every((x) => typeof x !== 'object')) for (const x of v) push(out, k, String(x));
      else leaves(v, out);
    } else if (k) push(out, k, String(v));
  }
}
function push(m: Map<string, string[]>, k: string, v: string): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

/** Decodes the UDP payloads to `port` in a pcap with `tshark -T json` (bounded to 60 s). */
export function tsharkSflow(pcapPath: string, port: number): TsharkDatagram[] {
  const text = execFileSync('tshark', ['-r', pcapPath, '-d', `udp.port==${port},sflow`, '-T', 'json', '--no-duplicate-keys'], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const packets = JSON.parse(text) as { _source: { layers: { sflow?: { [k: string]: Json } } } }[];
  const out: TsharkDatagram[] = [];
  for (const p of packets) {
    const s = p._source.layers.sflow;
    if (!s) continue;
    const d: TsharkDatagram = { f: new Map(), samples: [] };
    for (const [k, v] of Object.entries(s)) {
      if (v !== null && typeof v === 'object' && /sample/i.test(k)) {
        for (const one of Array.isArray(v) ? v : [v]) {
          const f = new Map<string, string[]>();
          leaves(one, f);
          d.samples.push({ title: k, f });
        }
      } else if (typeof v !== 'object') push(d.f, k, String(v));
    }
    out.push(d);
  }
  return out;
}

/** First value of a tshark field as a number (hex like 0x0018 accepted), or undefined. */
export function tnum(f: Map<string, string[]>, ...names: string[]): number | undefined {
  for (const n of names) {
    const v = f.get(n)?.[0];
    if (v !== undefined) return Number(v);
  }
  return undefined;
}
export function tstr(f: Map<string, string[]>, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = f.get(n)?.[0];
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * Compares one decoded datagram with tshark's view of the same bytes, sample for sample (matched
 * by kind, sequence number and source index). Returns the disagreements and how many samples and
 * fields were compared, so a test can also assert that the comparison was not vacuous.
 */
export function agreeWithTshark(d: SflowDatagram, t: TsharkDatagram): { problems: string[]; samples: number; fields: number } {
  const problems: string[] = [];
  let fields = 0;
  let samples = 0;
  const eq = (what: string, ours: unknown, theirs: unknown): void => {
    fields++;
    const a = ours === undefined ? undefined : String(ours);
    const b = theirs === undefined ? undefined : String(theirs);
    if (a !== b) problems.push(`${what}: ours ${a}, tshark ${b}`);
  };
  eq('agent', d.agent, tstr(t.f, 'sflow_245.agent', 'sflow_245.agent.v6'));
  eq('sub_agent_id', d.subAgentId, tnum(t.f, 'sflow_245.sub_agent_id'));
  eq('sequence', d.sequence, tnum(t.f, 'sflow_245.sequence_number'));
  eq('uptime', d.uptimeMs, tnum(t.f, 'sflow_245.sysuptime'));
  eq('num_samples', d.samples.length, tnum(t.f, 'sflow_245.numsamples'));
  for (const s of d.samples) {
    if (s.kind !== 'flow' && s.kind !== 'counters') continue;
    const kind = s.kind === 'flow' ? 'flow_sample' : 'counters_sample';
    const ts = t.samples.find((x) => tnum(x.f, `sflow.${kind}.sequence_number`) === s.sequence && tnum(x.f, `sflow.${kind}.index`, `sflow.${kind}.source_id_index`) === s.source.index);
    const id = `${s.kind} seq ${s.sequence} src ${s.source.index}`;
    if (!ts) {
      problems.push(`${id}: not found in tshark output`);
      continue;
    }
    samples++;
    const f = ts.f;
    if (s.kind === 'counters') {
      const g = s.generic;
      if (g) {
        const pairs: [string, unknown][] = [
          ['ifindex', g.ifIndex], ['iftype', g.ifType], ['ifspeed', g.ifSpeed], ['ifdirection', g.ifDirection],
          ['ifadmin_status', g.ifStatus & 1], ['ifoper_status', (g.ifStatus >> 1) & 1], ['ifinoct', g.inOctets],
          ['ifinpkt', g.inUcastPkts], ['ifinmcast', g.inMulticastPkts], ['ifinbcast', g.inBroadcastPkts],
          ['ifindisc', g.inDiscards], ['ifinerr', g.inErrors], ['ifinunk', g.inUnknownProtos], ['ifoutoct', g.outOctets],
          ['ifoutpkt', g.outUcastPkts], ['ifoutmcast', g.outMulticastPkts], ['ifoutbcast', g.outBroadcastPkts],
          ['ifoutdisc', g.outDiscards], ['ifouterr', g.outErrors], ['ifpromisc', g.promiscuous],
        ];
        for (const [k, v] of pairs) eq(`${id} ${k}`, v, tstr(f, `sflow_245.${k}`));
      }
      const vlan = s.blocks.find((b) => b.name === 'vlan');
      if (vlan) {
        eq(`${id} vlan_id`, vlan.values.vlan_id, tstr(f, 'sflow_245.vlan_id'));
        eq(`${id} vlan octets`, vlan.values.octets, tstr(f, 'sflow_245.octets'));
        eq(`${id} vlan ucast`, vlan.values.ucast_pkts, tstr(f, 'sflow_245.ucastPkts'));
      }
      const eth = s.blocks.find((b) => b.name === 'ethernet');
      if (eth) {
        eq(`${id} dot3 fcs`, eth.values.dot3_fcs_errors, tstr(f, 'sflow_245.dot3StatsFCSErrors'));
        eq(`${id} dot3 frame too long`, eth.values.dot3_frame_too_longs, tstr(f, 'sflow_245.dot3StatsFrameTooLongs'));
      }
      continue;
    }
    const p = s.packet;
    eq(`${id} sampling_rate`, s.samplingRate, tnum(f, 'sflow.flow_sample.sampling_rate'));
    eq(`${id} sample_pool`, s.samplePool, tnum(f, 'sflow.flow_sample.sample_pool'));
    eq(`${id} drops`, s.drops, tnum(f, 'sflow.flow_sample.dropped_packets'));
    eq(`${id} input`, s.input.value, tnum(f, 'sflow.flow_sample.input_interface_value', 'sflow.flow_sample.input_interface'));
    eq(`${id} output format`, s.output.format, tnum(f, 'sflow.flow_sample.output_interface_format', 'sflow.flow_sample.output_interface.format'));
    eq(`${id} output`, s.output.value, tnum(f, 'sflow.flow_sample.output_interface_value'));
    eq(`${id} frame_length`, p.frameLength, tnum(f, 'sflow_245.header.frame_length'));
    eq(`${id} header_protocol`, p.headerProtocol, tnum(f, 'sflow_245.header_protocol'));
    eq(`${id} src_addr`, p.srcAddr, tstr(f, 'ip.src', 'ipv6.src'));
    eq(`${id} dst_addr`, p.dstAddr, tstr(f, 'ip.dst', 'ipv6.dst'));
    eq(`${id} src_port`, p.icmpType === undefined ? p.srcPort : undefined, tnum(f, 'tcp.srcport', 'udp.srcport'));
    eq(`${id} dst_port`, p.icmpType === undefined ? p.dstPort : undefined, tnum(f, 'tcp.dstport', 'udp.dstport'));
    const theirProto = f.has('tcp.srcport') ? 6 : f.has('udp.srcport') ? 17 : f.has('icmpv6.type') ? 58 : tnum(f, 'ip.proto');
    eq(`${id} proto`, p.proto, theirProto);
    const flags = tnum(f, 'tcp.flags');
    eq(`${id} tcp_flags`, p.proto === 6 ? p.tcpFlags : undefined, flags === undefined ? undefined : flags & 0xff);
    eq(`${id} tos`, p.tos, tnum(f, 'ip.dsfield', 'ipv6.tclass'));
    eq(`${id} vlan`, p.vlan, tnum(f, 'ieee8021ad.id', 'vlan.id'));
    eq(`${id} icmp_type`, p.icmpType, tnum(f, 'icmp.type', 'icmpv6.type'));
    eq(`${id} mpls`, p.mplsLabels?.join(','), f.get('mpls.label')?.join(','));
    eq(`${id} ext switch vlan in`, p.srcVlan, tnum(f, 'sflow_245.vlan.in'));
    eq(`${id} next hop`, p.nextHop ?? p.bgpNextHop, tstr(f, 'sflow_245.nexthop', 'sflow_245.nexthop.v6'));
    eq(`${id} src_as`, p.srcAs, tnum(f, 'sflow_245.srcAS'));
    eq(`${id} local_pref`, p.localPref, tnum(f, 'sflow_245.localpref'));
  }
  return { problems, samples, fields };
}
