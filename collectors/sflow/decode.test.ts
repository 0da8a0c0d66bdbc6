import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/errors.js';
import { decodeSflow } from './index.js';
import { ethernet, ipv4, tcp, udp } from './testpackets.js';
import type { CounterSample, DiscardSample, FlowSample } from './types.js';
import {
  Xdr, counterSample, datagram, discardSample, extGateway, extRouter, extSwitch, flowSample, genericCounters, record,
  sampledEthernet, sampledHeader, sampledIp,
} from './testutil.js';

const frame = ethernet({ etherType: 0x0800, payload: ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, payload: tcp(1111, 22, 0x18) }) });

function onlyFlow(buf: Uint8Array): FlowSample {
  const d = decodeSflow(buf);
  const s = d.samples[0];
  if (s?.kind !== 'flow') throw new Error('expected a flow sample');
  return s;
}

describe('sFlow v5 datagram header', () => {
  it('reads IPv4 and IPv6 agent addresses, sub-agent, sequence and uptime', () => {
    const a = decodeSflow(datagram({ agent: '198.51.100.7', subAgentId: 3, sequence: 77, uptimeMs: 123456, samples: [] }));
    expect(a).toEqual({ version: 5, agent: '198.51.100.7', agentAddressType: 1, subAgentId: 3, sequence: 77, uptimeMs: 123456, samples: [] });
    const b = decodeSflow(datagram({ agent: '2001:db8::5', sequence: 0xffffffff, samples: [] }));
    expect(b.agent).toBe('2001:db8::5');
    expect(b.agentAddressType).toBe(2);
    expect(b.sequence).toBe(0xffffffff);
  });

  it('rejects other versions and bad address types with a DecodeError naming the field', () => {
    const v4 = new Xdr().u32(4).u32(1).u32(0x01020304).u32(0).u32(1).u32(1).u32(0).bytes();
    expect(() => decodeSflow(v4)).toThrow(DecodeError);
    const badAddr = new Xdr().u32(5).u32(7).u32(0).bytes();
    try {
      decodeSflow(badAddr);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
      expect((e as DecodeError).field).toBe('agent_address');
      expect((e as DecodeError).reason).toBe('bad_address_type');
    }
  });

  it('rejects a sample count that cannot fit and a sample length past the end', () => {
    const lying = new Xdr().u32(5).addr('1.2.3.4').u32(0).u32(1).u32(1).u32(1_000_000).bytes();
    expect(() => decodeSflow(lying)).toThrow(/bad_count/);
    const long = new Xdr().u32(5).addr('1.2.3.4').u32(0).u32(1).u32(1).u32(1).u32(1).u32(9999).u32(0).bytes();
    expect(() => decodeSflow(long)).toThrow(/truncated/);
  });
});

describe('sFlow flow samples', () => {
  it('decodes a compact flow sample with a raw header', () => {
    const s = onlyFlow(datagram({
      samples: [flowSample({ sequence: 9, sourceType: 0, sourceIndex: 17, samplingRate: 512, samplePool: 4096, drops: 2, input: 17, output: 4, records: [sampledHeader(frame, 1518)] })],
    }));
    expect(s).toMatchObject({ kind: 'flow', expanded: false, sequence: 9, source: { type: 0, index: 17 }, samplingRate: 512, samplePool: 4096, drops: 2 });
    expect(s.input).toEqual({ format: 0, value: 17 });
    expect(s.output).toEqual({ format: 0, value: 4 });
    expect(s.packet).toMatchObject({ headerProtocol: 1, frameLength: 1518, stripped: 4, headerLength: frame.byteLength });
    expect(s.packet).toMatchObject({ srcAddr: '10.0.0.1', dstAddr: '10.0.0.2', srcPort: 1111, dstPort: 22, tcpFlags: 0x18 });
  });

  it('decodes the expanded form with 32-bit source index and interface formats', () => {
    const s = onlyFlow(datagram({
      samples: [flowSample({ expanded: true, sourceType: 0, sourceIndex: 0x01000005, input: 0x01000005, output: [2, 7], records: [sampledHeader(frame, 64)] })],
    }));
    expect(s.expanded).toBe(true);
    expect(s.source.index).toBe(0x01000005);
    expect(s.input).toEqual({ format: 0, value: 0x01000005 });
    expect(s.output).toEqual({ format: 2, value: 7 });
  });

  it('splits the compact interface word into format and value (discarded / multiple)', () => {
    const s = onlyFlow(datagram({ samples: [flowSample({ input: 0x3fffffff, output: [1, 258], records: [] })] }));
    expect(s.input).toEqual({ format: 0, value: 0x3fffffff });
    expect(s.output).toEqual({ format: 1, value: 258 });
  });

  it('decodes sampled_ipv4 / sampled_ipv6 / sampled_ethernet records', () => {
    const v4 = onlyFlow(datagram({ samples: [flowSample({ records: [sampledIp({ length: 1500, proto: 17, src: '192.0.2.1', dst: '192.0.2.2', srcPort: 53, dstPort: 999, tos: 4 })] })] }));
    expect(v4.packet).toMatchObject({ ipVersion: 4, ipLength: 1500, proto: 17, srcAddr: '192.0.2.1', dstAddr: '192.0.2.2', srcPort: 53, dstPort: 999, tos: 4 });
    const v6 = onlyFlow(datagram({ samples: [flowSample({ records: [sampledIp({ length: 80, proto: 6, src: '2001:db8::a', dst: '2001:db8::b', srcPort: 1, dstPort: 2, tcpFlags: 0x11 })] })] }));
    expect(v6.packet).toMatchObject({ ipVersion: 6, srcAddr: '2001:db8::a', dstAddr: '2001:db8::b', tcpFlags: 0x11 });
    const eth = onlyFlow(datagram({ samples: [flowSample({ records: [sampledEthernet(1514, '00:00:5e:00:53:01', '00:00:5e:00:53:02', 0x86dd)] })] }));
    expect(eth.packet).toMatchObject({ frameLength: 1514, srcMac: '00:00:5e:00:53:01', dstMac: '00:00:5e:00:53:02', etherType: 0x86dd });
  });

  it('decodes extended switch, router and gateway records', () => {
    const s = onlyFlow(datagram({
      samples: [flowSample({
        records: [
          sampledHeader(frame, 100),
          extSwitch(10, 3, 20, 5),
          extRouter('203.0.113.1', 24, 16),
          extGateway({ nextHop: '2001:db8::99', as: 65000, srcAs: 64512, srcPeerAs: 64513, path: [[2, [174, 3356, 15169]]], communities: [(65000 << 16) | 100], localPref: 200 }),
        ],
      })],
    }));
    expect(s.packet).toMatchObject({ srcVlan: 10, srcPriority: 3, dstVlan: 20, dstPriority: 5 });
    expect(s.packet).toMatchObject({ nextHop: '203.0.113.1', srcMaskLen: 24, dstMaskLen: 16 });
    expect(s.packet).toMatchObject({ bgpNextHop: '2001:db8::99', routerAs: 65000, srcAs: 64512, srcPeerAs: 64513, dstPeerAs: 174, dstAs: 15169, localPref: 200 });
    expect(s.packet.asPath).toEqual([174, 3356, 15169]);
    expect(s.packet.communities).toEqual([65000 * 65536 + 100]);
  });

  it('takes the router AS as destination when the AS path is empty (local route)', () => {
    const s = onlyFlow(datagram({ samples: [flowSample({ records: [extGateway({ nextHop: '10.0.0.1', as: 65001, srcAs: 0, srcPeerAs: 0, path: [] })] })] }));
    expect(s.packet.dstAs).toBe(65001);
  });

  it('skips unknown flow records and unknown (vendor) samples by their length', () => {
    const d = decodeSflow(datagram({
      samples: [
        { format: (9 << 12) | 1, body: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) },
        flowSample({ records: [record(2209, (x) => x.u32(1).u32(2).u32(3)), record((4413 << 12) | 7, (x) => x.u32(1)), sampledHeader(frame, 70)] }),
      ],
    }));
    expect(d.samples[0]).toEqual({ kind: 'unknown', enterprise: 9, format: 1, length: 8 });
    const s = d.samples[1] as FlowSample;
    expect(s.packet.skippedRecords).toBe(2);
    expect(s.packet.dstPort).toBe(22);
  });

  it('fails a record whose inner fields overrun its own length, even if the datagram has bytes left', () => {
    const short = { format: 1001, body: new Xdr().u32(1).u32(2).bytes() };
    const buf = datagram({ samples: [flowSample({ records: [short, sampledHeader(frame, 70)] })] });
    expect(() => decodeSflow(buf)).toThrow(/extended_switch/);
  });
});

describe('sFlow counter and discard samples', () => {
  it('decodes generic interface counters (compact and expanded)', () => {
    for (const expanded of [false, true]) {
      const d = decodeSflow(datagram({
        samples: [counterSample({ expanded, sequence: 5, sourceIndex: 3, records: [genericCounters({ ifIndex: 3, speed: 10_000_000_000n, status: 1, inOctets: 2n ** 40n, inUcast: 1000, inErrors: 7, outOctets: 12345n, outUcast: 99, outDiscards: 1 })] })],
      }));
      const s = d.samples[0] as CounterSample;
      expect(s).toMatchObject({ kind: 'counters', expanded, sequence: 5, source: { type: 0, index: 3 } });
      expect(s.generic).toMatchObject({ ifIndex: 3, ifSpeed: 10_000_000_000n, ifStatus: 1, inOctets: 2n ** 40n, inUcastPkts: 1000, inErrors: 7, outOctets: 12345n, outUcastPkts: 99, outDiscards: 1 });
    }
  });

  it('decodes a discarded packet sample (sflow_drops.txt) with its reason and header', () => {
    const d = decodeSflow(datagram({ samples: [discardSample({ sequence: 4, sourceIndex: 8, drops: 3, input: 8, output: 0, reason: 258, records: [sampledHeader(frame, 60), record(1038, (x) => x.string('ip_rcv_core'))] })] }));
    const s = d.samples[0] as DiscardSample;
    expect(s).toMatchObject({ kind: 'discard', sequence: 4, source: { type: 0, index: 8 }, drops: 3, inputIf: 8, outputIf: 0, reason: 258 });
    expect(s.packet).toMatchObject({ srcAddr: '10.0.0.1', dstPort: 22, functionName: 'ip_rcv_core' });
  });

  it('decodes several samples in one datagram in order', () => {
    const u = ethernet({ etherType: 0x0800, payload: ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto: 17, payload: udp(5, 6) }) });
    const d = decodeSflow(datagram({ samples: [flowSample({ sequence: 1, records: [sampledHeader(frame, 80)] }), counterSample({ records: [] }), flowSample({ sequence: 2, records: [sampledHeader(u, 90)] })] }));
    expect(d.samples.map((s) => s.kind)).toEqual(['flow', 'counters', 'flow']);
    expect((d.samples[2] as FlowSample).packet.dstPort).toBe(6);
  });
});
