import { describe, expect, it } from 'vitest';
import { decodeSflow, normalizeSflow, toJsonl } from './index.js';
import { ethernet, ipv6, tcp, udp, ipv4 } from './testpackets.js';
import {
  counterSample, datagram, discardSample, extGateway, extRouter, extSwitch, flowSample, genericCounters, record,
  sampledHeader, u32Block,
} from './testutil.js';

const T = 1_700_000_000_123;
const v6frame = ethernet({
  vlans: [{ vid: 30 }],
  etherType: 0x86dd,
  payload: ipv6({ src: '2001:db8::1', dst: '2001:db8::2', proto: 6, trafficClass: 0x20, payload: tcp(5000, 443, 0x10) }),
});

describe('normalizeSflow', () => {
  it('makes one flow record per flow sample with the agreed schema', () => {
    const d = decodeSflow(datagram({
      agent: '192.0.2.10', subAgentId: 2, sequence: 100, uptimeMs: 5000,
      samples: [flowSample({ sequence: 7, sourceIndex: 5, samplingRate: 1000, samplePool: 9000, input: 5, output: 6, records: [
        sampledHeader(v6frame, 1522),
        extRouter('2001:db8::fe', 48, 64),
        extGateway({ nextHop: '2001:db8::fd', as: 65000, srcAs: 64600, srcPeerAs: 64601, path: [[2, [64700, 64701]]], communities: [(65000 * 65536) + 1] }),
      ] })],
    }));
    const recs = normalizeSflow(d, '198.51.100.1', T);
    expect(recs).toHaveLength(1);
    const r = recs[0];
    expect(r?.kind).toBe('flow');
    expect(r?.measurement).toBe('flow');
    expect(r?.time).toBe(T);
    expect(r?.timeSource).toBe('collector');
    expect(r?.tags).toEqual({ exporter: '198.51.100.1', version: 'sflow5', domain: '2' });
    expect(r?.fields).toMatchObject({
      src_addr: '2001:db8::1', dst_addr: '2001:db8::2', next_hop: '2001:db8::fe', src_port: 5000n, dst_port: 443n,
      proto: 6n, tcp_flags: 0x10n, tos: 0x20n, bytes: 1522n, packets: 1n, sampling_rate: 1000n, in_if: 5n, out_if: 6n,
      src_as: 64600n, dst_as: 64701n, vlan: 30n, start_ms: BigInt(T), end_ms: BigInt(T), uptime_ms: 5000n,
      agent_addr: '192.0.2.10', as_path: '64700 64701', communities: '65000:1', src_mask: 48n, dst_mask: 64n,
    });
  });

  it('prefers extended_switch VLAN, defaults an unknown sampling rate to 1, and leaves out non-ifIndex outputs', () => {
    const d = decodeSflow(datagram({ samples: [flowSample({ samplingRate: 0, output: [2, 3], records: [sampledHeader(v6frame, 100), extSwitch(99, 0, 98, 0)] })] }));
    const f = normalizeSflow(d, '10.0.0.1', T)[0]?.fields ?? {};
    expect(f.vlan).toBe(99n);
    expect(f.dst_vlan).toBe(98n);
    expect(f.sampling_rate).toBe(1n);
    expect(f.out_if).toBeUndefined();
    expect(f.out_if_count).toBe(3n);
  });

  it('makes an interface record with SNMP field names from generic + Ethernet counters', () => {
    const d = decodeSflow(datagram({
      agent: '192.0.2.20',
      samples: [counterSample({ sourceIndex: 4, records: [
        genericCounters({ ifIndex: 4, ifType: 6, speed: 1_000_000_000n, status: 1, inOctets: 2n ** 50n, inUcast: 10, inMcast: 2, inBcast: 1, inErrors: 3, inDiscards: 4, inUnknown: 0xffffffff, outOctets: 7n, outUcast: 8, outErrors: 9, outDiscards: 0 }),
        u32Block(2, [0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        record(1005, (x) => x.string('xe-0/0/4')),
      ] })],
    }));
    const recs = normalizeSflow(d, '10.9.9.9', T);
    expect(recs).toHaveLength(1);
    const r = recs[0];
    expect(r?.kind).toBe('interface');
    expect(r?.measurement).toBe('interface');
    expect(r?.tags).toEqual({ device: '192.0.2.20', agent: '192.0.2.20', if_index: '4', source: 'sflow' });
    expect(r?.fields).toMatchObject({
      in_octets: 2n ** 50n, out_octets: 7n, in_ucast_pkts: 10n, in_mcast_pkts: 2n, in_bcast_pkts: 1n, out_ucast_pkts: 8n,
      in_errors: 3n, out_errors: 9n, in_discards: 4n, out_discards: 0n, speed: 1_000_000_000n, admin_status: 1n,
      oper_status: 2n, if_type: 6n, if_direction: 1n, promiscuous: 0n, dot3_fcs_errors: 5n, if_name: 'xe-0/0/4',
    });
    expect(r?.fields.in_unknown_protos).toBeUndefined();
  });

  it('makes sflow_host and sflow_vlan device records', () => {
    const d = decodeSflow(datagram({
      agent: '192.0.2.30',
      samples: [counterSample({ sourceType: 2, sourceIndex: 1, records: [
        record(2000, (x) => x.string('db-2').fixed(new Uint8Array(16)).u32(3).u32(2).string('6.1')),
        record(1001, (x) => x.u32(2500).u32(2000).u32(1500).u64(100n).u64(50n)),
        record(5, (x) => x.u32(12).u64(1000n).u32(1).u32(2).u32(3).u32(4)),
      ] })],
    }));
    const recs = normalizeSflow(d, '192.0.2.30', T);
    const host = recs.find((r) => r.measurement === 'sflow_host');
    const vlan = recs.find((r) => r.measurement === 'sflow_vlan');
    expect(host?.kind).toBe('device');
    expect(host?.tags).toMatchObject({ device: '192.0.2.30', hostname: 'db-2', source_id: '2:1' });
    expect(host?.fields).toMatchObject({ cpu_5s_percent: 25, mem_total: 100n, os_release: '6.1', machine_type: 3n });
    expect(vlan?.tags).toMatchObject({ vlan: '12' });
    expect(vlan?.fields).toMatchObject({ octets: 1000n, ucast_pkts: 1n, discards: 4n });
  });

  it('makes flow_discard records with the reason name as a tag', () => {
    const f = ethernet({ etherType: 0x0800, payload: ipv4({ src: '10.1.1.1', dst: '10.2.2.2', proto: 17, payload: udp(1, 53) }) });
    const d = decodeSflow(datagram({ samples: [discardSample({ input: 3, reason: 257, drops: 2, records: [sampledHeader(f, 70)] })] }));
    const r = normalizeSflow(d, '10.0.0.9', T)[0];
    expect(r?.kind).toBe('flow');
    expect(r?.measurement).toBe('flow_discard');
    expect(r?.tags).toEqual({ exporter: '10.0.0.9', version: 'sflow5', domain: '0', reason: 'ttl_exceeded' });
    expect(r?.fields).toMatchObject({ reason_code: 257n, discard_drops: 2n, in_if: 3n, src_addr: '10.1.1.1', dst_port: 53n, bytes: 70n });
  });

  it('uses the exporter as device when the agent address is unknown (type 0)', () => {
    const d = decodeSflow(datagram({ agent: '', samples: [counterSample({ records: [genericCounters({ ifIndex: 1, inOctets: 1n, inUcast: 1, outOctets: 1n, outUcast: 1 })] })] }));
    expect(d.agentAddressType).toBe(0);
    const r = normalizeSflow(d, '203.0.113.5', T)[0];
    expect(r?.tags.device).toBe('203.0.113.5');
    expect(r?.tags.agent).toBeUndefined();
  });
});

describe('toJsonl', () => {
  it('writes one object per sample with the decode keys, unscaled, 64-bit counters exact', () => {
    const d = decodeSflow(datagram({
      samples: [
        flowSample({ samplingRate: 256, input: 1, output: 2, records: [sampledHeader(v6frame, 300)] }),
        counterSample({ records: [genericCounters({ ifIndex: 9, inOctets: 2n ** 60n, inUcast: 5, outOctets: 6n, outUcast: 7, inErrors: 1, outErrors: 2 })] }),
        discardSample({ reason: 3, records: [] }),
      ],
    }));
    const [flow, ctr, disc] = toJsonl(d);
    expect(flow).toMatchObject({ version: 'sflow5', type: 'flow', src_addr: '2001:db8::1', dst_port: 443, bytes: 300, packets: 1, sampling_rate: 256, in_if: 1, out_if: 2, vlan: 30 });
    expect(ctr).toMatchObject({ type: 'counters', if_index: 9, in_octets: (2n ** 60n).toString(), out_octets: 6, in_packets: 5, out_packets: 7, in_errors: 1, out_errors: 2 });
    expect(disc).toMatchObject({ type: 'discard', reason: 'port_unreachable', reason_code: 3 });
    expect(() => JSON.stringify(toJsonl(d))).not.toThrow();
  });
});
