import { describe, expect, it } from 'vitest';
import { Reader } from '../../src/wire/reader.js';
import { HEADER_ETHERNET, HEADER_IPV4, HEADER_IPV6, HEADER_MPLS, parseHeader } from './header.js';
import { ethernet, icmp, ipv4, ipv6, mpls, tcp, udp } from './testpackets.js';
import { SampledPacket } from './types.js';

function parse(bytes: Uint8Array, proto = HEADER_ETHERNET): SampledPacket {
  const p = new SampledPacket();
  parseHeader(new Reader(bytes, 'sflow'), proto, p);
  return p;
}

describe('sFlow raw packet header', () => {
  it('parses Ethernet + IPv4 + TCP', () => {
    const frame = ethernet({
      src: '00:11:22:33:44:55',
      dst: 'aa:bb:cc:dd:ee:ff',
      etherType: 0x0800,
      payload: ipv4({ src: '10.1.2.3', dst: '192.168.9.8', proto: 6, tos: 0xb8, ttl: 61, payload: tcp(40000, 443, 0x12) }),
    });
    const p = parse(frame);
    expect(p.srcMac).toBe('00:11:22:33:44:55');
    expect(p.dstMac).toBe('aa:bb:cc:dd:ee:ff');
    expect(p.etherType).toBe(0x0800);
    expect(p).toMatchObject({ ipVersion: 4, srcAddr: '10.1.2.3', dstAddr: '192.168.9.8', proto: 6, tos: 0xb8, ttl: 61 });
    expect(p).toMatchObject({ srcPort: 40000, dstPort: 443, tcpFlags: 0x12, ipLength: 40 });
    expect(p.vlan).toBeUndefined();
  });

  it('parses 802.1Q and QinQ tags (outer first) and IPv4 options', () => {
    const payload = ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto: 17, options: new Uint8Array(8).fill(1), payload: udp(53, 5353) });
    const one = parse(ethernet({ vlans: [{ vid: 42, pcp: 5 }], etherType: 0x0800, payload }));
    expect(one).toMatchObject({ vlan: 42, vlanPcp: 5, srcPort: 53, dstPort: 5353, proto: 17 });
    expect(one.innerVlan).toBeUndefined();
    const two = parse(ethernet({ vlans: [{ tpid: 0x88a8, vid: 100 }, { vid: 200 }], etherType: 0x0800, payload }));
    expect(two).toMatchObject({ vlan: 100, innerVlan: 200, srcAddr: '1.1.1.1', dstPort: 5353 });
  });

  it('parses MPLS label stacks in Ethernet and as header_protocol 13', () => {
    const inner = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, payload: udp(1000, 2000) });
    const p = parse(ethernet({ etherType: 0x8847, payload: mpls([16001, 24005], inner) }));
    expect(p.mplsLabels).toEqual([16001, 24005]);
    expect(p).toMatchObject({ srcAddr: '10.0.0.1', dstPort: 2000 });
    const q = parse(mpls([3], inner), HEADER_MPLS);
    expect(q.mplsLabels).toEqual([3]);
    expect(q.dstAddr).toBe('10.0.0.2');
  });

  it('walks IPv6 extension headers to TCP', () => {
    const pkt = ipv6({
      src: '2001:db8::1',
      dst: '2001:db8:0:1::2',
      proto: 6,
      trafficClass: 0x28,
      flowLabel: 0x12345,
      ext: [
        [0, new Uint8Array(6)],
        [60, new Uint8Array(14)],
        [43, new Uint8Array(6)],
      ],
      payload: tcp(1234, 80, 0x02),
    });
    const p = parse(pkt, HEADER_IPV6);
    expect(p).toMatchObject({ ipVersion: 6, srcAddr: '2001:db8::1', dstAddr: '2001:db8:0:1::2', proto: 6, tos: 0x28, flowLabel: 0x12345 });
    expect(p).toMatchObject({ srcPort: 1234, dstPort: 80, tcpFlags: 2 });
  });

  it('stops at a non-first IPv6 fragment and at a non-first IPv4 fragment', () => {
    const frag = new Uint8Array(6);
    frag[0] = 0x00;
    frag[1] = 0x08; // offset 1 (x8 bytes)
    const p = parse(ipv6({ src: '::1', dst: '::2', proto: 17, ext: [[44, frag]], payload: udp(1, 2) }), HEADER_IPV6);
    expect(p.proto).toBe(17);
    expect(p.fragOffset).toBe(1);
    expect(p.srcPort).toBeUndefined();
    const q = parse(ipv4({ src: '1.2.3.4', dst: '5.6.7.8', proto: 17, fragOffset: 10, payload: udp(1, 2) }), HEADER_IPV4);
    expect(q.fragOffset).toBe(10);
    expect(q.srcPort).toBeUndefined();
  });

  it('reads ICMP and ICMPv6 type/code (also as dst_port, NetFlow style)', () => {
    const p = parse(ipv4({ src: '1.2.3.4', dst: '5.6.7.8', proto: 1, payload: icmp(3, 1) }), HEADER_IPV4);
    expect(p).toMatchObject({ icmpType: 3, icmpCode: 1, srcPort: 0, dstPort: 0x0301 });
    const q = parse(ipv6({ src: 'fe80::1', dst: 'ff02::1', proto: 58, payload: icmp(135, 0) }), HEADER_IPV6);
    expect(q).toMatchObject({ proto: 58, icmpType: 135, dstPort: 135 << 8 });
  });

  it('keeps what it parsed when the header is cut short, never throws', () => {
    const frame = ethernet({ etherType: 0x0800, payload: ipv4({ src: '9.9.9.9', dst: '8.8.8.8', proto: 6, payload: tcp(1, 2, 0) }) });
    for (let n = 0; n <= frame.byteLength; n++) {
      const p = parse(frame.subarray(0, n));
      if (n >= 34) expect(p.dstAddr).toBe('8.8.8.8');
      if (n < 34) expect(p.srcAddr).toBeUndefined();
      if (n >= 48) expect(p.dstPort).toBe(2);
    }
  });

  it('follows an 802.3 LLC/SNAP frame to its ethertype', () => {
    const snapPayload = Uint8Array.of(0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00);
    const ip = ipv4({ src: '3.3.3.3', dst: '4.4.4.4', proto: 17, payload: udp(7, 9) });
    const full = new Uint8Array(snapPayload.byteLength + ip.byteLength);
    full.set(snapPayload);
    full.set(ip, snapPayload.byteLength);
    const p = parse(ethernet({ etherType: full.byteLength, payload: full }));
    expect(p).toMatchObject({ etherType: 0x0800, srcAddr: '3.3.3.3', dstPort: 9 });
  });

  it('writes addresses and MACs as canonical text (RFC 5952: longest zero run, first on a tie, mapped IPv4 dotted)', () => {
    const cases: [string, string][] = [
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['1:0:0:0:0:0:0:0', '1::'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['0:0:0:0:0:ffff:c000:201', '::ffff:192.0.2.1'],
      ['0:0:0:0:0:fffe:c000:201', '::fffe:c000:201'],
      ['fe80:0:0:0:abcd:ef:100:ff', 'fe80::abcd:ef:100:ff'],
    ];
    for (const [src, want] of cases) {
      const p = parse(ipv6({ src, dst: '::', proto: 59, payload: new Uint8Array(0) }), HEADER_IPV6);
      expect(p.srcAddr).toBe(want);
    }
    const q = parse(ethernet({ src: '0a:0b:c0:ff:00:01', dst: 'ff:ff:ff:ff:ff:ff', etherType: 0x0800, payload: ipv4({ src: '0.255.10.1', dst: '255.0.0.9', proto: 59, payload: new Uint8Array(0) }) }));
    expect(q).toMatchObject({ srcMac: '0a:0b:c0:ff:00:01', dstMac: 'ff:ff:ff:ff:ff:ff', srcAddr: '0.255.10.1', dstAddr: '255.0.0.9' });
  });
});
