/**
 * The crafted datagrams behind collectors/sflow/testcases/<case>/input-*.bin. Kept as code so a
 * case can be regenerated (UPDATE_GOLDEN=1 npx vitest run collectors/sflow/golden.test.ts) and so
 * the golden test can check the committed bytes still match their description here.
 */
import { ethernet, icmp, ipv4, ipv6, mpls, tcp, udp } from './testpackets.js';
import {
  counterSample, datagram, discardSample, extGateway, extRouter, extSwitch, flowSample, genericCounters, record,
  sampledEthernet, sampledHeader, sampledIp, u32Block, type Xdr,
} from './testutil.js';

export interface GoldenCase {
  name: string;
  datagrams: Uint8Array[];
}

const tcpFrame = ethernet({
  src: '00:1c:73:00:00:01',
  dst: '00:1c:73:00:00:02',
  etherType: 0x0800,
  payload: ipv4({ src: '10.10.1.5', dst: '172.16.0.9', proto: 6, tos: 0x10, ttl: 63, payload: tcp(51514, 443, 0x18, new Uint8Array(60)) }),
});

const qinqV6 = ethernet({
  vlans: [{ tpid: 0x88a8, vid: 100, pcp: 3 }, { vid: 201 }],
  etherType: 0x86dd,
  payload: ipv6({
    src: '2001:db8:10::5',
    dst: '2001:db8:20::9',
    proto: 17,
    trafficClass: 0xb8,
    flowLabel: 0xabcde,
    ext: [
      [0, new Uint8Array(6)],
      [60, new Uint8Array(6)],
    ],
    payload: udp(40000, 4789, new Uint8Array(32)),
  }),
});

const mplsIcmp = ethernet({
  etherType: 0x8847,
  payload: mpls([24001, 16], ipv4({ src: '192.0.2.33', dst: '198.51.100.44', proto: 1, payload: icmp(8, 0) })),
});

function hostCpu(x: Xdr): void {
  x.f32(1.5).f32(0.75).f32(0.25).u32(3).u32(412).u32(2).u32(2600).u32(86400);
  for (const v of [5000, 10, 2000, 90000, 30, 5, 7, 123456, 654321, 42, 0, 0]) x.u32(v);
}

export function goldenCases(): GoldenCase[] {
  return [
    {
      name: 'ipv4-header-switch-router',
      datagrams: [
        datagram({
          agent: '192.0.2.1', subAgentId: 0, sequence: 1001, uptimeMs: 3_600_000,
          samples: [
            flowSample({ sequence: 51, sourceIndex: 7, samplingRate: 512, samplePool: 26112, drops: 0, input: 7, output: 12, records: [
              sampledHeader(tcpFrame, 1518, 1, 4),
              extSwitch(10, 0, 20, 0),
              extRouter('10.10.1.1', 24, 16),
            ] }),
            flowSample({ sequence: 52, sourceIndex: 7, samplingRate: 512, samplePool: 26624, input: 7, output: 0x3fffffff, records: [
              sampledHeader(mplsIcmp, 102, 1, 4),
            ] }),
          ],
        }),
      ],
    },
    {
      name: 'ipv6-agent-expanded-qinq-gateway',
      datagrams: [
        datagram({
          agent: '2001:db8::1', subAgentId: 4, sequence: 77, uptimeMs: 120_000,
          samples: [
            flowSample({ expanded: true, sequence: 9, sourceType: 0, sourceIndex: 0x01000010, samplingRate: 4096, samplePool: 40960, drops: 1, input: 0x01000010, output: [2, 3], records: [
              sampledHeader(qinqV6, 150, 1, 4),
              extGateway({ nextHop: '2001:db8::fe', as: 65010, srcAs: 64496, srcPeerAs: 64497, path: [[2, [64500, 64501, 64502]]], communities: [(65010 * 65536) + 300, (65010 * 65536) + 301], localPref: 150 }),
            ] }),
          ],
        }),
      ],
    },
    {
      name: 'sampled-ip-records-and-unknowns',
      datagrams: [
        datagram({
          agent: '198.51.100.2', sequence: 5, uptimeMs: 1000,
          samples: [
            { format: (2636 << 12) | 1, body: new Uint8Array(12) },
            flowSample({ sequence: 1, sourceIndex: 3, samplingRate: 1000, input: 3, output: 4, records: [
              sampledEthernet(1514, '02:00:00:00:00:0a', '02:00:00:00:00:0b', 0x0800),
              sampledIp({ length: 1500, proto: 17, src: '203.0.113.7', dst: '203.0.113.8', srcPort: 123, dstPort: 123, tos: 0 }),
              record(2209, (x) => x.u32(1).u32(2)),
            ] }),
            flowSample({ sequence: 2, sourceIndex: 3, samplingRate: 1000, input: 3, output: 4, records: [
              sampledIp({ length: 60, proto: 6, src: '2001:db8::7', dst: '2001:db8::8', srcPort: 22, dstPort: 50000, tcpFlags: 0x12 }),
            ] }),
          ],
        }),
      ],
    },
    {
      name: 'interface-counters',
      datagrams: [1, 2].map((n) =>
        datagram({
          agent: '192.0.2.50', sequence: 300 + n, uptimeMs: 30_000 * n,
          samples: [
            counterSample({ sequence: n, sourceIndex: 5, records: [
              genericCounters({ ifIndex: 5, ifType: 6, speed: 10_000_000_000n, direction: 1, status: 3, inOctets: 123_456_789_012n * BigInt(n), inUcast: 1000 * n, inMcast: 10, inBcast: 2, inDiscards: 1, inErrors: 0, inUnknown: 0xffffffff, outOctets: 98_765_432_100n * BigInt(n), outUcast: 900 * n, outMcast: 5, outBcast: 1, outDiscards: 3, outErrors: 4, promiscuous: 2 }),
              u32Block(2, [0, 1, 0, 0, 0xffffffff, 0, 0, 0, 0, 0, 2, 0, 0]),
            ] }),
            counterSample({ expanded: true, sequence: n, sourceType: 0, sourceIndex: 0x02000001, records: [
              record(5, (x) => x.u32(100).u64(5_000_000n * BigInt(n)).u32(40 * n).u32(4).u32(1).u32(0)),
              record(1005, (x) => x.string('Port-Channel1')),
            ] }),
          ],
        }),
      ),
    },
    {
      name: 'host-sflow-vm',
      datagrams: [
        datagram({
          agent: '10.0.0.5', subAgentId: 100000, sequence: 12, uptimeMs: 86_400_000,
          samples: [
            counterSample({ sequence: 3, sourceType: 2, sourceIndex: 1, records: [
              record(2000, (x) => x.string('hv-01').fixed(Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i)).u32(3).u32(2).string('6.1.0-18-amd64')),
              record(2003, hostCpu),
              record(2004, (x) => x.u64(16n << 30n).u64(4n << 30n).u64(1n << 28n).u64(1n << 27n).u64(6n << 30n).u64(2n << 30n).u64(2n << 30n).u32(1).u32(2).u32(0).u32(0)),
              record(2005, (x) => x.u64(500n << 30n).u64(200n << 30n).u32(8123).u32(1000).u64(1n << 32n).u32(500).u32(2000).u64(3n << 32n).u32(900)),
              record(2006, (x) => x.u64(9_000_000_000n).u32(7_000_000).u32(0).u32(12).u64(3_000_000_000n).u32(5_000_000).u32(0).u32(0)),
              record(2100, (x) => x.u32(2600).u32(2).u64(16n << 30n).u64(8n << 30n).u32(2)),
            ] }),
            counterSample({ sequence: 3, sourceType: 3, sourceIndex: 2, records: [
              record(2002, (x) => x.u32(2).u32(1)),
              record(2101, (x) => x.u32(1).u32(7200000).u32(2)),
              record(2102, (x) => x.u64(2n << 30n).u64(4n << 30n)),
              record(2104, (x) => x.u64(1000n).u32(10).u32(0).u32(0).u64(2000n).u32(20).u32(0).u32(1)),
            ] }),
          ],
        }),
      ],
    },
    {
      name: 'discards',
      datagrams: [
        datagram({
          agent: '192.0.2.9', sequence: 40, uptimeMs: 500_000,
          samples: [
            discardSample({ sequence: 1, sourceIndex: 2, drops: 0, input: 2, output: 0, reason: 258, records: [
              sampledHeader(tcpFrame, 1518, 1, 4),
              record(1036, (x) => x.u32(3)),
            ] }),
            discardSample({ sequence: 2, sourceIndex: 2, drops: 5, input: 2, output: 0, reason: 6, records: [
              sampledHeader(qinqV6, 150, 1, 4),
              record(1038, (x) => x.string('fib_table_lookup')),
            ] }),
            discardSample({ sequence: 3, sourceIndex: 0, drops: 0, input: 0, output: 0, reason: 999, records: [] }),
          ],
        }),
      ],
    },
  ];
}
