/**
 * `bgp_peers`: one snmp_bgp_peer series per BGP peer, whichever MIB the device answers. BGP4-MIB
 * (RFC 4273) knows IPv4 peers of the default instance only; the BGP4V2 family
 * (draft-ietf-idr-bgp4-mibv2 as vendors implemented it: CISCO-BGP4-MIB cbgpPeer2, ARISTA-BGP4V2-MIB,
 * BGP4-V2-MIB-JUNIPER) adds IPv6 peers, routing instances and per-AFI/SAFI prefix counts. A peer
 * both families report is written once, from the v2 table (merge below). Vendor tables are walked
 * only when their state column has rows, so other devices pay one request per family.
 */
import type { DeviceMetricRecord, Fields, Tags } from '../../../src/record/record.js';
import type { TableSpec } from '../profiles.js';
import { AFI, SAFI, indexParts, inetFromIndex } from './inet-index.js';
import { deriveState, healthHeader, tag, type FieldDoc, type HealthProfile } from './types.js';

/** BGP FSM states, RFC 4271 section 8.2.2, numbered alike by every MIB here. */
const BGP_STATES = { 1: 'idle', 2: 'connect', 3: 'active', 4: 'opensent', 5: 'openconfirm', 6: 'established' };
const peerState = (f: Fields): void => {
  deriveState(BGP_STATES, [6])(f);
  if (typeof f.ok === 'boolean') f.established = f.ok;
  delete f.ok;
};

type Family = 'bgp4' | 'cisco2' | 'arista2' | 'juniper2';
/** Where a row's peer comes from; `_`-tags are join keys the merge removes. */
const mark = (t: Tags, mib: Family, peer: string | undefined, instance?: string, defaultInstance?: string): void => {
  t._mib = mib;
  if (peer !== undefined) t.peer = peer;
  if (instance !== undefined && instance !== defaultInstance) t.routing_instance = instance;
};
/**
 * Index `instance? . type . len? . addr [. afi . safi]` -> peer (and afi/safi) tags. An index that
 * does not decode to exactly that shape keeps its raw text as the peer: nothing is guessed at.
 */
function addressIndex(t: Tags, mib: Family, opts: { instance: boolean; prefixed: boolean; defaultInstance?: string; skipLocal?: boolean; afiSafi?: boolean }): void {
  const raw = t._index;
  delete t._index;
  const parts = indexParts(raw);
  let at = opts.instance ? 1 : 0;
  if (opts.skipLocal) at += inetFromIndex(parts, at, opts.prefixed)?.used ?? parts.length;
  const found = inetFromIndex(parts, at, opts.prefixed);
  const a = found && parts.length === at + found.used + (opts.afiSafi ? 2 : 0) ? found : undefined;
  mark(t, mib, a?.text ?? raw, opts.instance && a ? String(parts[0]) : undefined, opts.defaultInstance);
  if (a && opts.afiSafi) afiSafi(t, parts.slice(at + a.used));
}
const afiSafi = (t: Tags, rest: readonly number[]): void => {
  t.afi = AFI[String(rest[0])] ?? String(rest[0]);
  t.safi = SAFI[String(rest[1])] ?? String(rest[1]);
};

const BGP4 = '1.3.6.1.2.1.15.3.1';
const CBGP2 = '1.3.6.1.4.1.9.9.187.1.2.5.1';
const ARISTA = '1.3.6.1.4.1.30065.4.1.1';
const JNX = '1.3.6.1.4.1.2636.5.1.1.2';
const col = (oid: string, name: string, isTag = false) => ({ oid, name, ...(isTag ? { tag: true } : {}) });
/** in/out updates and messages, established transitions: the same five counters in every family. */
const counters = (oids: readonly string[]) => ['in_updates', 'out_updates', 'in_messages', 'out_messages', 'established_transitions'].map((n, i) => col(oids[i] ?? '', n));
const seq = (base: string, from: number) => [0, 1, 2, 3, 4].map((i) => `${base}.${from + i}`);

const arista = (measurement: string, columns: TableSpec['columns'], derive?: (f: Fields) => void, afiSafi = false): TableSpec => ({
  measurement,
  indexTag: '_index',
  requires: `${ARISTA}.2.1.13`,
  columns,
  // ARISTA-BGP4V2-MIB: INDEX { instance, remoteAddrType, remoteAddr } (+ afi, safi); instance 1 is the default VRF.
  derive: (f, t) => (derive?.(f), addressIndex(t, 'arista2', { instance: true, prefixed: true, defaultInstance: '1', afiSafi })),
});
/** Juniper's counter, time and prefix tables are indexed by jnxBgpM2PeerIndex: the merge joins them to the peer row. */
const juniperByPeerIndex = (measurement: string, columns: TableSpec['columns']): TableSpec => ({
  measurement,
  indexTag: '_index',
  requires: `${JNX}.1.1.1.2`,
  columns,
  derive(_f, t) {
    const [peerIndex, ...rest] = indexParts(t._index);
    delete t._index;
    t._mib = 'juniper2';
    t._peer_index = String(peerIndex);
    if (rest.length >= 2) afiSafi(t, rest);
  },
});

const TABLES: TableSpec[] = [
  {
    measurement: 'snmp_bgp_peer',
    indexTag: 'peer',
    requires: `${BGP4}.2`,
    columns: [col(`${BGP4}.9`, 'remote_as', true), col(`${BGP4}.2`, 'state'), col(`${BGP4}.3`, 'admin_status'), ...counters([10, 11, 12, 13, 15].map((c) => `${BGP4}.${c}`)), col(`${BGP4}.16`, 'established_seconds')],
    derive: (f, t) => (peerState(f), mark(t, 'bgp4', undefined)),
  },
  {
    measurement: 'snmp_bgp_peer',
    indexTag: '_index',
    requires: `${CBGP2}.3`,
    // CISCO-BGP4-MIB cbgpPeer2Entry: INDEX { cbgpPeer2Type, cbgpPeer2RemoteAddr } (length-prefixed InetAddress).
    columns: [col(`${CBGP2}.11`, 'remote_as', true), col(`${CBGP2}.3`, 'state'), col(`${CBGP2}.4`, 'admin_status'), ...counters([13, 14, 15, 16, 18].map((c) => `${CBGP2}.${c}`)), col(`${CBGP2}.19`, 'established_seconds')],
    derive: (f, t) => (peerState(f), addressIndex(t, 'cisco2', { instance: false, prefixed: true })),
  },
  arista('snmp_bgp_peer', [col(`${ARISTA}.2.1.10`, 'remote_as', true), col(`${ARISTA}.2.1.13`, 'state'), col(`${ARISTA}.2.1.12`, 'admin_status')], peerState),
  arista('snmp_bgp_peer', counters(seq(`${ARISTA}.7.1`, 1))),
  arista('snmp_bgp_peer', [col(`${ARISTA}.4.1.1`, 'established_seconds')]),
  arista('snmp_bgp_prefixes', [col(`${ARISTA}.8.1.3`, 'received_prefixes'), col(`${ARISTA}.8.1.4`, 'accepted_prefixes'), col(`${ARISTA}.8.1.5`, 'advertised_prefixes')], undefined, true),
  {
    measurement: 'snmp_bgp_peer',
    indexTag: '_index',
    requires: `${JNX}.1.1.1.2`,
    // jnxBgpM2PeerEntry: INDEX { routingInstance, localAddrType, localAddr, remoteAddrType, remoteAddr }, no length sub-ids.
    columns: [col(`${JNX}.1.1.1.13`, 'remote_as', true), col(`${JNX}.1.1.1.14`, '_peer_index', true), col(`${JNX}.1.1.1.2`, 'state'), col(`${JNX}.1.1.1.3`, 'admin_status')],
    derive: (f, t) => (peerState(f), addressIndex(t, 'juniper2', { instance: true, prefixed: false, defaultInstance: '0', skipLocal: true })),
  },
  juniperByPeerIndex('snmp_bgp_peer', counters(seq(`${JNX}.6.1.1`, 1))),
  juniperByPeerIndex('snmp_bgp_peer', [col(`${JNX}.4.1.1.1`, 'established_seconds')]),
  juniperByPeerIndex('snmp_bgp_prefixes', [col(`${JNX}.6.2.1.7`, 'received_prefixes'), col(`${JNX}.6.2.1.8`, 'accepted_prefixes'), col(`${JNX}.6.2.1.10`, 'advertised_prefixes')]),
];

const peerKey = (t: Tags) => `${t.routing_instance ?? ''}|${t.peer ?? ''}`;
const strip = (r: DeviceMetricRecord): DeviceMetricRecord => {
  for (const k of Object.keys(r.tags)) if (k.startsWith('_')) delete r.tags[k];
  return r;
};

/**
 * Joins each family's rows per peer (Juniper's by jnxBgpM2PeerIndex), then keeps one series per
 * peer: a v2 family's row over BGP4-MIB's for the same address in the default instance.
 */
export function mergeBgp(records: DeviceMetricRecord[]): DeviceMetricRecord[] {
  const byJnxIndex = new Map<string, Tags>();
  for (const r of records) if (r.tags._mib === 'juniper2' && r.tags.peer !== undefined && r.tags._peer_index !== undefined) byJnxIndex.set(r.tags._peer_index, r.tags);
  const main = new Map<string, DeviceMetricRecord>();
  const extra: DeviceMetricRecord[] = [];
  const prefixes: DeviceMetricRecord[] = [];
  for (const r of records) {
    if (r.tags._mib === 'juniper2' && r.tags.peer === undefined) {
      const owner = byJnxIndex.get(r.tags._peer_index ?? '');
      if (!owner) continue; // a counter row whose peer row is gone: nothing to name it by
      mark(r.tags, 'juniper2', owner.peer, owner.routing_instance);
    }
    if (r.measurement === 'snmp_bgp_prefixes') prefixes.push(r);
    else if (r.fields.state !== undefined) main.set(`${r.tags._mib}|${peerKey(r.tags)}`, r);
    else extra.push(r);
  }
  for (const r of extra) {
    const m = main.get(`${r.tags._mib}|${peerKey(r.tags)}`);
    if (m) Object.assign(m.fields, r.fields);
  }
  const out: DeviceMetricRecord[] = [];
  const seen = new Set<string>();
  const rank = (r: DeviceMetricRecord) => (r.tags._mib === 'bgp4' ? 1 : 0);
  for (const r of [...main.values()].sort((a, b) => rank(a) - rank(b))) {
    const k = peerKey(r.tags);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(strip(r));
  }
  return [...out, ...prefixes.map(strip)];
}

const PEER_FIELDS: FieldDoc[] = [
  { name: 'state', source: 'bgpPeerState (1.3.6.1.2.1.15.3.1.2) / cbgpPeer2State (1.3.6.1.4.1.9.9.187.1.2.5.1.3) / aristaBgp4V2PeerState (1.3.6.1.4.1.30065.4.1.1.2.1.13) / jnxBgpM2PeerState (1.3.6.1.4.1.2636.5.1.1.2.1.1.1.2): 1 idle … 6 established', unit: 'enum' },
  { name: 'state_name', source: 'state as a name', unit: 'string' },
  { name: 'established', source: 'state = established(6)', unit: 'bool' },
  { name: 'admin_status', source: 'bgpPeerAdminStatus (…15.3.1.3) / cbgpPeer2AdminStatus (….5.1.4) / aristaBgp4V2PeerAdminStatus (…2.1.12) / jnxBgpM2PeerStatus (…1.1.1.3): 1 stop/halted, 2 start/running', unit: 'enum' },
  { name: 'in_updates', source: 'bgpPeerInUpdates (…15.3.1.10) / cbgpPeer2InUpdates (….5.1.13) / aristaBgp4V2PeerInUpdates (…7.1.1) / jnxBgpM2PeerInUpdates (…6.1.1.1)', unit: 'counter (messages)' },
  { name: 'out_updates', source: 'OutUpdates: …15.3.1.11 / ….5.1.14 / …7.1.2 / …6.1.1.2', unit: 'counter (messages)' },
  { name: 'in_messages', source: 'InTotalMessages: …15.3.1.12 / ….5.1.15 / …7.1.3 / …6.1.1.3', unit: 'counter (messages)' },
  { name: 'out_messages', source: 'OutTotalMessages: …15.3.1.13 / ….5.1.16 / …7.1.4 / …6.1.1.4', unit: 'counter (messages)' },
  { name: 'established_transitions', source: 'FsmEstablishedTransitions: …15.3.1.15 / ….5.1.18 / …7.1.5 / …6.1.1.5', unit: 'counter' },
  { name: 'established_seconds', source: 'FsmEstablishedTime: …15.3.1.16 / ….5.1.19 / aristaBgp4V2PeerFsmEstablishedTime (…4.1.1) / jnxBgpM2PeerFsmEstablishedTime (…4.1.1.1); time in, or since last in, Established', unit: 'seconds' },
];

export const BGP_PEERS: HealthProfile = {
  name: 'bgp_peers',
  summary: 'state, time in Established, updates and messages of each BGP peer (IPv4 and IPv6), and per-AFI/SAFI prefix counts where a BGP4V2 MIB has them; one series per peer',
  needs: 'BGP4-MIB bgpPeerTable (1.3.6.1.2.1.15.3), or a BGP4V2 table: CISCO-BGP4-MIB cbgpPeer2Table (1.3.6.1.4.1.9.9.187.1.2.5), ARISTA-BGP4V2-MIB (1.3.6.1.4.1.30065.4.1), BGP4-V2-MIB-JUNIPER (1.3.6.1.4.1.2636.5.1.1.2)',
  ...healthHeader('snmp_bgp_peer'),
  tables: TABLES,
  merge: mergeBgp,
  doc: [
    {
      measurement: 'snmp_bgp_peer',
      tags: [
        tag('peer', 'peer address as text (IPv4 dotted, IPv6 RFC 5952): bgpPeerRemoteAddr, or the InetAddressType + InetAddress of the v2 row index'),
        tag('routing_instance', 'v2 routing instance / VRF index, only when not the default (Arista 1, Juniper 0)'),
        tag('remote_as', 'bgpPeerRemoteAs (…15.3.1.9) / cbgpPeer2RemoteAs (….5.1.11) / aristaBgp4V2PeerRemoteAs (…2.1.10) / jnxBgpM2PeerRemoteAs (…1.1.1.13)'),
      ],
      fields: PEER_FIELDS,
    },
    {
      measurement: 'snmp_bgp_prefixes',
      tags: [tag('peer', 'as snmp_bgp_peer'), tag('routing_instance', 'as snmp_bgp_peer'), tag('afi', 'index: ipv4 (1), ipv6 (2), l2vpn (25)'), tag('safi', 'index: unicast (1), multicast (2), vpn (128), evpn (70), …')],
      fields: [
        { name: 'received_prefixes', source: 'aristaBgp4V2PrefixInPrefixes (1.3.6.1.4.1.30065.4.1.1.8.1.3) / jnxBgpM2PrefixInPrefixes (1.3.6.1.4.1.2636.5.1.1.2.6.2.1.7)', unit: 'prefixes' },
        { name: 'accepted_prefixes', source: 'aristaBgp4V2PrefixInPrefixesAccepted (…8.1.4) / jnxBgpM2PrefixInPrefixesAccepted (…6.2.1.8)', unit: 'prefixes' },
        { name: 'advertised_prefixes', source: 'aristaBgp4V2PrefixOutPrefixes (…8.1.5) / jnxBgpM2PrefixOutPrefixes (…6.2.1.10)', unit: 'prefixes' },
      ],
    },
  ],
};
