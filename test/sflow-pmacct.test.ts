import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSflow, normalizeSflow, type FlowSample, type SflowDatagram } from '../collectors/sflow/index.js';
import { ethernet, icmp, ipv4, ipv6, tcp, udp } from '../collectors/sflow/testpackets.js';
import { makeTmpDir } from './helpers/net.js';
import { agreeWithTshark, tsharkSflow, udpFrames, writePcap, type PcapFrame } from './helpers/pcap-sflow.js';
import { runSfprobe, type SfprobeRun } from './helpers/pmacct.js';

/**
 * A real sFlow exporter: Debian's pmacctd (sfprobe plugin, sampling 1/1) reads a pcap of synthetic
 * traffic we generate and sends sFlow v5 to a loopback socket. We check (1) every generated packet
 * comes back as exactly one flow sample with its addresses, ports, protocol, VLAN and length, and
 * (2) tshark decodes the same datagrams to the same values, sample for sample.
 */

interface Sent {
  src: string;
  dst: string;
  proto: number;
  srcPort?: number;
  dstPort?: number;
  vlan?: number;
  flags?: number;
  length: number;
}

function traffic(): { frames: PcapFrame[]; sent: Sent[] } {
  const frames: PcapFrame[] = [];
  const sent: Sent[] = [];
  const add = (s: Omit<Sent, 'length'>, data: Uint8Array): void => {
    frames.push({ ts: 1_700_000_000 + frames.length * 0.01, data });
    sent.push({ ...s, length: data.byteLength });
  };
  for (let i = 0; i < 12; i++) {
    const src = `10.20.${i}.1`;
    const flags = [0x02, 0x12, 0x10, 0x18, 0x11, 0x04][i % 6] ?? 0x10;
    const size = i === 5 ? 1400 : 40 + 30 * i;
    add({ src, dst: '10.30.0.2', proto: 6, srcPort: 30000 + i, dstPort: 443, flags }, ethernet({ etherType: 0x0800, payload: ipv4({ src, dst: '10.30.0.2', proto: 6, tos: i * 4, payload: tcp(30000 + i, 443, flags, new Uint8Array(size)) }) }));
  }
  for (let i = 0; i < 8; i++) {
    const src = `172.16.${i}.9`;
    add({ src, dst: '172.17.0.1', proto: 17, srcPort: 5000 + i, dstPort: 53, vlan: 100 + i }, ethernet({ vlans: [{ vid: 100 + i, pcp: i % 8 }], etherType: 0x0800, payload: ipv4({ src, dst: '172.17.0.1', proto: 17, payload: udp(5000 + i, 53, new Uint8Array(10 + i)) }) }));
  }
  for (let i = 0; i < 6; i++) {
    const src = `2001:db8:${i + 1}::10`;
    const ext: [number, Uint8Array][] = i % 2 ? [[0, new Uint8Array(6)]] : [];
    add({ src, dst: '2001:db8:ffff::1', proto: i % 3 ? 17 : 6, srcPort: 40000 + i, dstPort: 8080 }, ethernet({ etherType: 0x86dd, payload: ipv6({ src, dst: '2001:db8:ffff::1', proto: i % 3 ? 17 : 6, ext, payload: i % 3 ? udp(40000 + i, 8080, new Uint8Array(64)) : tcp(40000 + i, 8080, 0x02) }) }));
  }
  for (let i = 0; i < 4; i++) {
    const src = `192.168.50.${i + 1}`;
    add({ src, dst: '192.168.60.1', proto: 1 }, ethernet({ etherType: 0x0800, payload: ipv4({ src, dst: '192.168.60.1', proto: 1, payload: icmp(8, 0) }) }));
  }
  return { frames, sent };
}

describe('sFlow from a real exporter (pmacctd sfprobe)', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let run: SfprobeRun;
  let decoded: SflowDatagram[];
  const { frames, sent } = traffic();

  beforeAll(async () => {
    tmp = await makeTmpDir('netvigil-sflow-pmacct-');
    const pcapPath = join(tmp.dir, 'traffic.pcap');
    writePcap(pcapPath, frames);
    run = await runSfprobe({ dir: tmp.dir, pcapPath, agentIp: '127.0.0.1', subAgentId: 7 });
    decoded = run.datagrams.map((d) => decodeSflow(d));
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('sends one flow sample per packet, each matching the packet we generated', () => {
    expect(run.datagrams.length, run.output).toBeGreaterThan(0);
    const flows = decoded.flatMap((d) => d.samples.filter((s): s is FlowSample => s.kind === 'flow'));
    expect(flows).toHaveLength(sent.length);
    for (const d of decoded) {
      expect(d.agent).toBe('127.0.0.1');
      expect(d.subAgentId).toBe(7);
    }
    for (const want of sent) {
      const got = flows.filter((f) => f.packet.srcAddr === want.src);
      expect(got, want.src).toHaveLength(1);
      const s = got[0];
      if (!s) continue;
      const p = s.packet;
      expect(s.samplingRate).toBe(1);
      expect({ dst: p.dstAddr, proto: p.proto, srcPort: p.srcPort, dstPort: p.proto === 1 ? undefined : p.dstPort, vlan: p.vlan }).toEqual({
        dst: want.dst, proto: want.proto, srcPort: want.proto === 1 ? 0 : want.srcPort, dstPort: want.proto === 1 ? undefined : want.dstPort, vlan: want.vlan,
      });
      if (want.flags !== undefined) expect(p.tcpFlags).toBe(want.flags);
      // frame_length counts the FCS the agent stripped (memo §5 sampled_header).
      expect((p.frameLength ?? 0) - (p.stripped ?? 0)).toBe(want.length);
      expect(p.headerLength).toBeLessThanOrEqual(p.frameLength ?? 0);
    }
  });

  it('keeps datagram and sample sequence numbers gap-free (what loss accounting reads)', () => {
    const seqs = decoded.map((d) => d.sequence);
    seqs.forEach((s, i) => i > 0 && expect(s).toBe((seqs[i - 1] ?? 0) + 1));
    const sampleSeqs = decoded.flatMap((d) => d.samples.filter((s) => s.kind === 'flow').map((s) => (s.kind === 'flow' ? s.sequence : 0)));
    sampleSeqs.forEach((s, i) => i > 0 && expect(s).toBe((sampleSeqs[i - 1] ?? 0) + 1));
  });

  it('normalizes to flow records whose bytes add up to the sampled frames', () => {
    const recs = decoded.flatMap((d) => normalizeSflow(d, '127.0.0.1', Date.now())).filter((r) => r.measurement === 'flow');
    expect(recs).toHaveLength(sent.length);
    const total = recs.reduce((a, r) => a + (r.fields.bytes as bigint), 0n);
    const stripped = recs.reduce((a, r) => a + (r.fields.stripped as bigint), 0n);
    expect(total - stripped).toBe(BigInt(sent.reduce((a, s) => a + s.length, 0)));
    for (const r of recs) expect(r.tags).toMatchObject({ exporter: '127.0.0.1', version: 'sflow5', domain: '7' });
  });

  it('agrees with tshark on every datagram, sample for sample', () => {
    const pcap = join(tmp.dir, 'sflow.pcap');
    writePcap(pcap, udpFrames(run.datagrams, { dstPort: 6343 }));
    const theirs = tsharkSflow(pcap, 6343);
    expect(theirs).toHaveLength(run.datagrams.length);
    let samples = 0;
    decoded.forEach((d, i) => {
      const t = theirs[i];
      if (!t) throw new Error(`tshark lost datagram ${i}`);
      const r = agreeWithTshark(d, t);
      expect(r.problems).toEqual([]);
      samples += r.samples;
    });
    expect(samples).toBe(decoded.reduce((a, d) => a + d.samples.filter((s) => s.kind === 'flow' || s.kind === 'counters').length, 0));
  });
});
