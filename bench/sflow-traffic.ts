/**
 * The sFlow flow sample the benchmarks send, shaped like a switch's: a 128-byte raw header of
 * Ethernet + 802.1Q + IPv4 or IPv6 + TCP or UDP, plus extended_switch (as Arista/Juniper/pmacct
 * send). Sample i varies addresses, ports, VLAN and interface so receivers cannot cache a result.
 */
import { ethernet, ipv4, ipv6, tcp, udp } from '../collectors/sflow/testpackets.js';
import { extSwitch, flowSample, sampledHeader, type Tlv } from '../collectors/sflow/testutil.js';

export function switchFlowSample(i: number, sequence: number): Tlv {
  const l4 = i % 3 ? tcp(1024 + (i % 50000), 443, 0x18, new Uint8Array(1400)) : udp(1024 + (i % 50000), 53, new Uint8Array(1400));
  const proto = i % 3 ? 6 : 17;
  const vlans = [{ vid: 10 + (i % 100) }];
  const pkt =
    i % 5 === 0
      ? ethernet({ vlans, etherType: 0x86dd, payload: ipv6({ src: `2001:db8::${(i % 65535).toString(16)}`, dst: '2001:db8:1::1', proto, payload: l4 }) })
      : ethernet({ vlans, etherType: 0x0800, payload: ipv4({ src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, dst: '192.0.2.1', proto, payload: l4 }) });
  return flowSample({
    sequence,
    sourceIndex: 1 + (i % 48),
    samplingRate: 4096,
    samplePool: sequence * 4096,
    input: 1 + (i % 48),
    output: 49,
    records: [sampledHeader(pkt.subarray(0, 128), pkt.byteLength + 4), extSwitch(10 + (i % 100), 0, 10 + (i % 100), 0)],
  });
}
