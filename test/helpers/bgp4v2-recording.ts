/**
 * GENERATED (not device recordings): snmpsim data files for what no shippable real recording has:
 * the BGP4V2 tables of Juniper (jnxBgpM2, index without length sub-ids), Arista (aristaBgp4V2,
 * length-prefixed, an IPv6 link-local peer of type ipv6z, a malformed index) and Cisco (cbgpPeer2,
 * IPv6 peers), each next to a BGP4-MIB row for the same peer so the one-series-per-peer rule is
 * exercised; Cisco IP SLA probes (CISCO-RTTMON-MIB) that join a tag to a completed result; plus
 * JUNIPER-MIB jnxOperatingTable and Aruba WLSX-SWITCH-MIB rows, for which the stored
 * public recordings (DataDog's juniper-*, aruba-*) have no lines. Values are chosen to make the
 * arithmetic checkable by hand, and named in the test next to each assertion.
 */
const hex = (s: string) => Buffer.from(s).toString('hex');
const BGP4 = '1.3.6.1.2.1.15.3.1';
/** A BGP4-MIB peer row: state, admin, remote AS, established seconds. */
const bgp4 = (peer: string, state: number, as: number, est: number) => [`${BGP4}.2.${peer}|2|${state}`, `${BGP4}.3.${peer}|2|2`, `${BGP4}.9.${peer}|2|${as}`, `${BGP4}.16.${peer}|66|${est}`];

const J = '1.3.6.1.4.1.2636.5.1.1.2';
const JOP = '1.3.6.1.4.1.2636.3.1.13.1';
// jnxBgpM2PeerEntry index: instance . localType . local . remoteType . remote (no lengths)
const J_V4 = '0.1.192.0.2.254.1.192.0.2.1';
const J_V6 = '0.2.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.254.2.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1';
const J_VRF = '5.1.192.0.2.254.1.192.0.2.1';
const JUNIPER = [
  '1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.2636.1.1.1.2.25',
  // BGP4-MIB says 192.0.2.1 is active; jnxBgpM2 says established: the v2 row wins. 198.51.100.7 is in BGP4-MIB only.
  ...bgp4('192.0.2.1', 3, 64500, 0),
  ...bgp4('198.51.100.7', 6, 64510, 99),
  ...[
    [J_V4, 6, 2, 64500, 1],
    [J_V6, 6, 2, 64501, 2],
    [J_VRF, 1, 1, 64502, 3],
  ].flatMap(([i, state, admin, as, idx]) => [`${J}.1.1.1.2.${i}|2|${state}`, `${J}.1.1.1.3.${i}|2|${admin}`, `${J}.1.1.1.13.${i}|66|${as}`, `${J}.1.1.1.14.${i}|2|${idx}`]),
  // jnxBgpM2PeerFsmEstablishedTime by jnxBgpM2PeerIndex; counters (in/out updates, in/out messages, transitions) of peer 1
  `${J}.4.1.1.1.1|66|86400`,
  `${J}.4.1.1.1.2|66|3600`,
  `${J}.4.1.1.1.3|66|0`,
  ...[11, 12, 13, 14, 2].map((v, i) => `${J}.6.1.1.${i + 1}.1|65|${v}`),
  // jnxBgpM2PrefixCountersTable: peer index . afi . safi; in, accepted, out
  ...[
    ['1.1.1', 900, 850, 40],
    ['2.2.1', 120, 100, 7],
  ].flatMap(([i, inP, acc, out]) => [`${J}.6.2.1.7.${i}|66|${inP}`, `${J}.6.2.1.8.${i}|66|${acc}`, `${J}.6.2.1.10.${i}|66|${out}`]),
  // jnxOperatingTable: RE 0 (9.1.0.0), FPC 0 (7.1.0.0), PEM 0 (2.1.0.0), fan tray 0 fan 1 (4.1.1.0)
  ...[
    ['9.1.0.0', 'Routing Engine 0', 2, 38, 7, 41, 2048],
    ['7.1.0.0', 'FPC @ 0/*/*', 2, 45, 12, 30, 1024],
    ['2.1.0.0', 'PEM 0', 2, 0, 0, 0, 0],
    ['4.1.1.0', 'Fan Tray 0 Fan 1', 6, 0, 0, 0, 0],
  ].flatMap(([i, d, state, temp, cpu, buf, mb]) => [`${JOP}.5.${i}|4|${d}`, `${JOP}.6.${i}|2|${state}`, `${JOP}.7.${i}|66|${temp}`, `${JOP}.8.${i}|66|${cpu}`, `${JOP}.11.${i}|66|${buf}`, `${JOP}.15.${i}|2|${mb}`]),
];

const A = '1.3.6.1.4.1.30065.4.1.1';
// aristaBgp4V2PeerEntry index: instance . type . length . address
const A_V4 = '1.1.4.10.0.0.1';
const A_LL = '1.4.20.254.128.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.5';
const A_BAD = '1.1.5.10.0.0.2.9';
const ARISTA = [
  '1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.30065.1.3011.7280.3.24',
  ...bgp4('10.0.0.1', 6, 65001, 500),
  ...[
    [A_V4, 6, 65001],
    [A_LL, 2, 65002],
    [A_BAD, 6, 65003],
  ].flatMap(([i, state, as]) => [`${A}.2.1.10.${i}|66|${as}`, `${A}.2.1.12.${i}|2|2`, `${A}.2.1.13.${i}|2|${state}`]),
  `${A}.4.1.1.${A_V4}|66|7200`,
  ...[21, 22, 23, 24, 3].map((v, i) => `${A}.7.1.${i + 1}.${A_V4}|65|${v}`),
  // aristaBgp4V2PrefixGaugesTable: peer index . afi . safi; in, accepted, out
  `${A}.8.1.3.${A_V4}.1.1|66|1000`,
  `${A}.8.1.4.${A_V4}.1.1|66|990`,
  `${A}.8.1.5.${A_V4}.1.1|66|12`,
];

const C2 = '1.3.6.1.4.1.9.9.187.1.2';
const RTT = '1.3.6.1.4.1.9.9.42.1.2';
// cbgpPeer2Entry index: type . length . address
const C_V4 = '1.4.192.0.2.1';
const C_V6 = '2.16.32.1.13.184.0.1.0.0.0.0.0.0.0.0.0.2';
const CISCO = [
  '1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.9.1.1208',
  ...bgp4('192.0.2.1', 6, 64500, 100),
  ...[
    [C_V4, 6, 64500, 100],
    [C_V6, 6, 64520, 200],
  ].flatMap(([i, state, as, est]) => [`${C2}.5.1.3.${i}|2|${state}`, `${C2}.5.1.4.${i}|2|2`, `${C2}.5.1.11.${i}|66|${as}`, `${C2}.5.1.19.${i}|66|${est}`]),
  // cbgpPeerAddrFamilyPrefixTable (v1) and cbgpPeer2AddrFamilyPrefixTable: accepted, denied, advertised
  '1.3.6.1.4.1.9.9.187.1.2.4.1.1.192.0.2.1.1.1|66|5',
  ...[
    [`${C_V4}.1.1`, 800, 1, 30],
    [`${C_V6}.2.1`, 300, 0, 9],
  ].flatMap(([i, acc, den, adv]) => [`${C2}.8.1.1.${i}|66|${acc}`, `${C2}.8.1.2.${i}|65|${den}`, `${C2}.8.1.6.${i}|66|${adv}`]),
  // IP SLA probe 7 "wan1" jitter(9): ok(1) in 23 ms; probe 8 "dns1" dns(8): timeout(4), its completion column a stale 5000
  ...[
    [7, 'wan1', 9, 23, 1],
    [8, 'dns1', 8, 5000, 4],
  ].flatMap(([i, t, type, ms, sense]) => [`${RTT}.1.1.3.${i}|4|${t}`, `${RTT}.1.1.4.${i}|2|${type}`, `${RTT}.10.1.1.${i}|66|${ms}`, `${RTT}.10.1.2.${i}|2|${sense}`]),
];

const W = '1.3.6.1.4.1.14823.2.2.1.1.1';
const ARUBA = [
  '1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.14823.1.1.32',
  // wlsxSysXProcessorTable row 1; wlsxSysXMemoryTable row 1 (kB): 1048576 total, 786432 used, 262144 free
  `${W}.9.1.2.1|4x|${hex('MIPS 1')}`,
  `${W}.9.1.3.1|2|23`,
  `${W}.11.1.2.1|66|1048576`,
  `${W}.11.1.3.1|66|786432`,
  `${W}.11.1.4.1|66|262144`,
];

const oidKey = (l: string) => (l.split('|')[0] ?? '').split('.').map(Number);
const byOid = (a: string, b: string) => {
  const x = oidKey(a);
  const y = oidKey(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
  return x.length - y.length;
};
const rec = (lines: readonly string[]) => [...lines].sort(byOid).join('\n') + '\n';

/** community -> recording text, in OID order (snmpsim's GETNEXT relies on it). */
export function bgp4v2Recordings(): Record<string, string> {
  return { gen_juniper: rec(JUNIPER), gen_arista: rec(ARISTA), gen_cisco: rec(CISCO), gen_aruba: rec(ARUBA) };
}
