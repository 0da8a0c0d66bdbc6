/**
 * Decoded sFlow v5 structures (sflow.org/sflow_version_5.txt, sflow_drops.txt, sflow_host.txt).
 *
 * These are the decoder's output, before normalization to Records. Numbers are the unsigned 32-bit
 * values off the wire; 64-bit counters are bigint so they stay exact.
 */

import { macToString } from '../../src/wire/reader.js';
import { addressKeyText } from './xdr.js';

/** Where a sample came from: sFlowDataSource (memo §5, "sflow_data_source"). */
export interface SourceId {
  /** 0 = ifIndex, 1 = smonVlanDataSource, 2 = entPhysicalEntry, 3 = logical entity. */
  type: number;
  index: number;
}

/**
 * An interface reference from a flow sample (memo §5 "interface" / "interface_expanded").
 * format 0: `value` is an ifIndex (0x3FFFFFFF = none / internal); 1: packet discarded, `value` is
 * the reason code; 2: multiple output interfaces, `value` is their count (0 = unknown).
 */
export interface IfRef {
  format: number;
  value: number;
}

/**
 * Everything decoded from the flow records of one flow or discard sample, merged into one flat
 * object: an agent may send the raw header and/or sampled_ipv4/6/ethernet plus extended records.
 * A value found in the raw header is not overwritten by a later sampled_* record.
 * The class keeps one hidden shape for every sample (all fields present, `undefined` when absent).
 */
export class SampledPacket {
  // sampled_header (format 1)
  headerProtocol: number | undefined = undefined;
  /** Original frame length on the wire (memo: "frame_length"), before the header was truncated. */
  frameLength: number | undefined = undefined;
  stripped: number | undefined = undefined;
  headerLength: number | undefined = undefined;
  // layer 2 (raw header or sampled_ethernet): MAC text made when first read (`setMacs`)
  private macBytes: Uint8Array | undefined = undefined;
  private dstMacAt = -1;
  private srcMacAt = -1;
  private srcMacText: string | undefined = undefined;
  private dstMacText: string | undefined = undefined;
  etherType: number | undefined = undefined;
  /** Outer 802.1Q / 802.1ad VLAN id and priority. */
  vlan: number | undefined = undefined;
  vlanPcp: number | undefined = undefined;
  /** Inner VLAN id of a QinQ frame. */
  innerVlan: number | undefined = undefined;
  mplsLabels: number[] | undefined = undefined;
  // layer 3
  ipVersion: number | undefined = undefined;
  /**
   * The addresses as keys: IPv4 as uint32, IPv6 as a byte key (src/wire/ip6key.ts). The flow view
   * keys by them; their text (`srcAddr`, `dstAddr`) is made only when a Record or decode reads it.
   */
  srcKey: number | string | undefined = undefined;
  dstKey: number | string | undefined = undefined;
  private srcAddrText: string | undefined = undefined;
  private dstAddrText: string | undefined = undefined;
  proto: number | undefined = undefined;
  tos: number | undefined = undefined;
  ttl: number | undefined = undefined;
  ipLength: number | undefined = undefined;
  flowLabel: number | undefined = undefined;
  fragOffset: number | undefined = undefined;
  // layer 4
  srcPort: number | undefined = undefined;
  dstPort: number | undefined = undefined;
  tcpFlags: number | undefined = undefined;
  icmpType: number | undefined = undefined;
  icmpCode: number | undefined = undefined;
  // extended_switch (1001)
  srcVlan: number | undefined = undefined;
  srcPriority: number | undefined = undefined;
  dstVlan: number | undefined = undefined;
  dstPriority: number | undefined = undefined;
  // extended_router (1002)
  nextHop: string | undefined = undefined;
  /** `nextHop` as a key (IPv4 uint32, IPv6 byte key, '' unknown). */
  nextHopKey: number | string | undefined = undefined;
  srcMaskLen: number | undefined = undefined;
  dstMaskLen: number | undefined = undefined;
  // extended_gateway (1003)
  bgpNextHop: string | undefined = undefined;
  bgpNextHopKey: number | string | undefined = undefined;
  routerAs: number | undefined = undefined;
  srcAs: number | undefined = undefined;
  srcPeerAs: number | undefined = undefined;
  dstAs: number | undefined = undefined;
  dstPeerAs: number | undefined = undefined;
  asPath: number[] | undefined = undefined;
  communities: number[] | undefined = undefined;
  localPref: number | undefined = undefined;
  // extended_user (1004), extended_url (1005)
  srcUser: string | undefined = undefined;
  dstUser: string | undefined = undefined;
  url: string | undefined = undefined;
  urlHost: string | undefined = undefined;
  // extended_mpls (1006), extended_nat (1007), extended_nat_port (1020), vlantunnel (1012)
  mplsNextHop: string | undefined = undefined;
  mplsInLabels: number[] | undefined = undefined;
  mplsOutLabels: number[] | undefined = undefined;
  natSrcAddr: string | undefined = undefined;
  natDstAddr: string | undefined = undefined;
  natSrcPort: number | undefined = undefined;
  natDstPort: number | undefined = undefined;
  vlanStack: number[] | undefined = undefined;
  // sflow_tunnels.txt (1029/1030) and sflow_drops.txt extensions (1036..1042)
  vniEgress: number | undefined = undefined;
  vniIngress: number | undefined = undefined;
  egressQueue: number | undefined = undefined;
  functionName: string | undefined = undefined;
  transitDelayNs: number | undefined = undefined;
  queueDepthBytes: number | undefined = undefined;
  linuxReason: string | undefined = undefined;
  /** Flow records whose format we do not decode: skipped by their length, counted here. */
  skippedRecords = 0;

  /*
   * Text made on first read: aggregation needs none of it, and making MAC and address text for
   * every sample was ~10% of the sFlow path. The datagram bytes are only read during its handling.
   */
  /** Ethernet destination and source addresses at `dstAt` / `srcAt` of `b`. */
  setMacs(b: Uint8Array, dstAt: number, srcAt: number): void {
    this.macBytes = b;
    this.dstMacAt = dstAt;
    this.srcMacAt = srcAt;
  }

  get srcMac(): string | undefined {
    if (this.srcMacText === undefined && this.macBytes && this.srcMacAt >= 0) this.srcMacText = macToString(this.macBytes, this.srcMacAt);
    return this.srcMacText;
  }

  set srcMac(s: string | undefined) {
    this.srcMacText = s;
    this.srcMacAt = -1;
  }

  get dstMac(): string | undefined {
    if (this.dstMacText === undefined && this.macBytes && this.dstMacAt >= 0) this.dstMacText = macToString(this.macBytes, this.dstMacAt);
    return this.dstMacText;
  }

  set dstMac(s: string | undefined) {
    this.dstMacText = s;
    this.dstMacAt = -1;
  }

  get srcAddr(): string | undefined {
    if (this.srcAddrText === undefined && this.srcKey !== undefined) this.srcAddrText = addressKeyText(this.srcKey);
    return this.srcAddrText;
  }

  set srcAddr(s: string | undefined) {
    this.srcAddrText = s;
  }

  get dstAddr(): string | undefined {
    if (this.dstAddrText === undefined && this.dstKey !== undefined) this.dstAddrText = addressKeyText(this.dstKey);
    return this.dstAddrText;
  }

  set dstAddr(s: string | undefined) {
    this.dstAddrText = s;
  }
}

interface SampleBase {
  /** Per-source sample sequence number (memo §5: reset when the source restarts). */
  sequence: number;
  source: SourceId;
  /** True for the expanded encodings (formats 3 and 4). */
  expanded: boolean;
}

export interface FlowSample extends SampleBase {
  kind: 'flow';
  samplingRate: number;
  /** Total packets that could have been sampled (memo: sample_pool). */
  samplePool: number;
  /** Samples lost for lack of resources at the agent. */
  drops: number;
  input: IfRef;
  output: IfRef;
  packet: SampledPacket;
}

/** sflow_drops.txt §2: one discarded packet, with why. */
export interface DiscardSample extends SampleBase {
  kind: 'discard';
  /** Discard events not reported (rate limiting) since the last one. */
  drops: number;
  inputIf: number;
  outputIf: number;
  reason: number;
  packet: SampledPacket;
}

/** Generic interface counters (counter format 1). */
export interface IfCounters {
  ifIndex: number;
  ifType: number;
  ifSpeed: bigint;
  /** 0 unknown, 1 full-duplex, 2 half-duplex, 3 in, 4 out. */
  ifDirection: number;
  /** bit 0: admin up, bit 1: oper up. */
  ifStatus: number;
  inOctets: bigint;
  inUcastPkts: number;
  inMulticastPkts: number;
  inBroadcastPkts: number;
  inDiscards: number;
  inErrors: number;
  inUnknownProtos: number;
  outOctets: bigint;
  outUcastPkts: number;
  outMulticastPkts: number;
  outBroadcastPkts: number;
  outDiscards: number;
  outErrors: number;
  promiscuous: number;
}

/** A fixed-layout counter block decoded through a table (see counters.ts): field name -> value. */
export interface CounterBlock {
  /** Short name of the structure, e.g. `ethernet`, `host_cpu`. */
  name: string;
  /** Which Record it belongs to: the interface's counters, a VLAN's, or the host/device's. */
  group: 'interface' | 'vlan' | 'host';
  format: number;
  /** Integer counters as bigint, gauges (load, percent) as number; all-ones ("unknown", memo §5) left out. */
  values: { [field: string]: number | bigint };
}

/** host_descr (counter format 2000, sflow_host.txt). */
export interface HostDescr {
  hostname: string;
  uuid: string;
  machineType: number;
  osName: number;
  osRelease: string;
}

export interface CounterSample extends SampleBase {
  kind: 'counters';
  generic: IfCounters | undefined;
  /** All other decoded counter structures, in wire order. */
  blocks: CounterBlock[];
  hostDescr: HostDescr | undefined;
  /** host_parent (2002): the container of this host / VM. */
  parent: SourceId | undefined;
  /** port_name (1005). */
  portName: string | undefined;
  /** Counter records whose format we do not decode: skipped by their length. */
  skippedRecords: number;
}

/** A sample whose format we do not decode (vendor enterprise or unassigned): skipped by length. */
export interface UnknownSample {
  kind: 'unknown';
  enterprise: number;
  format: number;
  length: number;
}

export type SflowSample = FlowSample | DiscardSample | CounterSample | UnknownSample;

/**
 * One sFlow v5 datagram (memo §5 "sample_datagram_v5").
 *
 * Loss accounting: `sequence` counts datagrams per (agent, subAgentId); every sample carries its
 * own `sequence` per (agent, subAgentId, source type, source index, sample kind). Gaps in either
 * are losses; a value that goes backwards with `uptimeMs` also going backwards is an agent restart.
 */
export interface SflowDatagram {
  version: 5;
  /** Agent address in canonical text ('' when the agent sent address type 0 = unknown). */
  agent: string;
  /** 1 IPv4, 2 IPv6, 0 unknown. */
  agentAddressType: number;
  subAgentId: number;
  sequence: number;
  /** Milliseconds since the agent booted. */
  uptimeMs: number;
  samples: SflowSample[];
}
