import { describe, expect, it } from 'vitest';
import { hexToBytes } from '../../test/helpers/hex.js';
import { Allowlist, isCidr } from './cidr.js';
import { readPcap, readPcapng, udpFromFrame } from './pcap.js';

describe('exporter allowlist', () => {
  it('matches IPv4 and IPv6 prefixes, bare addresses, and refuses junk', () => {
    const a = new Allowlist(['10.0.0.0/8', '192.0.2.7', '2001:db8:abcd::/48', '::ffff:198.51.100.0/120']);
    expect(a.allows('10.200.1.1')).toBe(true);
    expect(a.allows('11.0.0.1')).toBe(false);
    expect(a.allows('192.0.2.7')).toBe(true);
    expect(a.allows('192.0.2.8')).toBe(false);
    expect(a.allows('2001:db8:abcd:12::1')).toBe(true);
    expect(a.allows('2001:db8:abce::1')).toBe(false);
    expect(a.allows('::ffff:198.51.100.9')).toBe(true);
    expect(a.allows('not an address')).toBe(false);
    expect(isCidr('10.0.0.0/33')).toBe(false);
    expect(isCidr('2001:db8::/129')).toBe(false);
    expect(isCidr('300.1.1.1')).toBe(false);
  });
});


describe('capture reading', () => {
  it('finds UDP in QinQ-tagged Ethernet carrying IPv6 with a hop-by-hop header', () => {
    const frame = hexToBytes(`
      020000000002 020000000001 88a8 0064 8100 00c8 86dd
      60000000 0014 00 40 20010db8000000000000000000000001 20010db8000000000000000000000002
      11 00 0000 00000000
      0802 0807 000c 0000 cafe babe`);
    const u = udpFromFrame(1, frame);
    expect(u).toEqual({ src: '2001:db8::1', srcPort: 2050, dst: '2001:db8::2', dstPort: 2055, payload: hexToBytes('cafebabe') });
  });

  it('reports fragments and non-UDP instead of guessing', () => {
    const ipv4 = (flags: string, proto: string) => hexToBytes(`45000020 0001 ${flags} 40 ${proto} 0000 c0000201 c0000202 0001 0002 000c 0000 01020304`);
    expect(udpFromFrame(101, ipv4('2000', '11'))).toMatch(/fragment/);
    expect(udpFromFrame(101, ipv4('0000', '06'))).toMatch(/not UDP/);
    expect(udpFromFrame(101, ipv4('0000', '11'))).toMatchObject({ src: '192.0.2.1', payload: hexToBytes('01020304') });
  });

  it('reads a little-endian pcapng section with a Linux cooked v2 interface', () => {
    const le32 = (v: number) => [v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >>> 24) & 255];
    const pkt = [...hexToBytes('0800 0000 00000001 0001 00 06 000000000000 0000'), ...hexToBytes('45000020 0000 0000 40 11 0000 7f000001 7f000002 1000 2000 000c 0000 aabbccdd')];
    const shb = [...le32(0x0a0d0d0a), ...le32(28), ...le32(0x1a2b3c4d), 1, 0, 0, 0, ...le32(0xffffffff), ...le32(0xffffffff), ...le32(28)];
    const idb = [...le32(1), ...le32(20), 0x14, 0x01, 0, 0, ...le32(65535), ...le32(20)];
    const epbLen = 32 + pkt.length;
    const epb = [...le32(6), ...le32(epbLen), ...le32(0), ...le32(0), ...le32(1_000_000), ...le32(pkt.length), ...le32(pkt.length), ...pkt, ...le32(epbLen)];
    const r = readPcapng(Uint8Array.from([...shb, ...idb, ...epb]));
    expect(r.skipped).toEqual([]);
    expect(r.datagrams).toEqual([{ packet: 1, timeMs: 1000, src: '127.0.0.1', srcPort: 4096, dst: '127.0.0.2', dstPort: 8192, payload: hexToBytes('aabbccdd') }]);
  });
});

describe('capture reading under fuzzing', () => {
  it('never throws on random or mutated captures', async () => {
    const fc = (await import('fast-check')).default;
    const pcapHdr = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0];
    const ngHdr = [0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a];
    fc.assert(
      fc.property(fc.constantFrom(0, 1, 12, 101, 113, 228, 229, 276), fc.uint8Array({ maxLength: 600 }), fc.boolean(), (link, body, ng) => {
        const buf = Uint8Array.from(ng ? [...ngHdr, ...body] : [...pcapHdr, link, 0, 0, 0, ...body]);
        const r = ng ? readPcapng(buf) : readPcap(buf);
        expect(r.datagrams.length + r.skipped.length).toBeGreaterThanOrEqual(0);
        udpFromFrame(link, body);
      }),
      { numRuns: 3000 },
    );
  });
});
