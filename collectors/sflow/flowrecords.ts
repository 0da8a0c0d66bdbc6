import { ip6Key } from '../../src/wire/ip6key.js';
import { Reader, macToString } from '../../src/wire/reader.js';
import { parseHeader } from './header.js';
import { SampledPacket } from './types.js';
import { addressKeyText, enter, leave, readAddress, readAddressKey, readString, readU32Array, words } from './xdr.js';

/**
 * Flow records inside a flow sample or discard sample (memo §5 "flow_record", opaque flow_data).
 * Each record is read through a sub-reader of its declared length, so a record can neither read
 * past its end nor desynchronise the next one; unknown formats are skipped by that length.
 */

// Enterprise 0 formats: with enterprise 0 the 32-bit data_format equals the format number.
const SAMPLED_HEADER = 1;
const SAMPLED_ETHERNET = 2;
const SAMPLED_IPV4 = 3;
const SAMPLED_IPV6 = 4;
const EX_SWITCH = 1001;
const EX_ROUTER = 1002;
const EX_GATEWAY = 1003;
const EX_USER = 1004;
const EX_URL = 1005;
const EX_MPLS = 1006;
const EX_NAT = 1007;
const EX_VLAN_TUNNEL = 1012;
const EX_NAT_PORT = 1020;
const EX_VNI_EGRESS = 1029;
const EX_VNI_INGRESS = 1030;
const EX_EGRESS_QUEUE = 1036;
const EX_FUNCTION = 1038;
const EX_TRANSIT = 1039;
const EX_QUEUE_DEPTH = 1040;
const EX_LINUX_REASON = 1042;

/** AS path segment types (memo §5 "as_path_segment_type"). */
const AS_SEQUENCE = 2;

const RECORD_HEAD = ['flow_record.format', 'flow_record.length'] as const;
const SAMPLED_HEADER_HEAD = [
  'sampled_header.protocol', 'sampled_header.frame_length', 'sampled_header.stripped', 'sampled_header.header_length',
] as const;
const SWITCH_FIELDS = [
  'extended_switch.src_vlan', 'extended_switch.src_priority', 'extended_switch.dst_vlan', 'extended_switch.dst_priority',
] as const;

/** Reads `count` flow records from `r` into one SampledPacket. */
export function readFlowRecords(r: Reader, count: number): SampledPacket {
  // Each record takes at least 8 bytes (format + length): a larger count is a lie.
  if (count * 8 > r.remaining) r.fail('flow_record_count', 'bad_count', `${count} records`);
  const p = new SampledPacket();
  for (let i = 0; i < count; i++) {
    const o = words(r, RECORD_HEAD);
    const tag = r.view.getUint32(o);
    const len = r.view.getUint32(o + 4);
    const outer = enter(r, len, 'flow_record.data');
    readFlowRecord(r, tag, p);
    leave(r, outer);
  }
  return p;
}

function readFlowRecord(r: Reader, tag: number, p: SampledPacket): void {
  switch (tag) {
    case SAMPLED_HEADER: {
      const o = words(r, SAMPLED_HEADER_HEAD);
      const proto = r.view.getUint32(o);
      const frameLength = r.view.getUint32(o + 4);
      const stripped = r.view.getUint32(o + 8);
      const headerLength = r.view.getUint32(o + 12);
      const outer = enter(r, headerLength, 'sampled_header.header');
      if (p.headerProtocol === undefined) {
        p.headerProtocol = proto;
        p.frameLength = frameLength;
        p.stripped = stripped;
        p.headerLength = headerLength;
        parseHeader(r, proto, p);
      }
      // The XDR pad after the header bytes is covered by the record's own window.
      leave(r, outer);
      return;
    }
    case SAMPLED_ETHERNET: {
      const length = r.u32('sampled_ethernet.length');
      // mac_address is opaque[6]: a fixed opaque padded to 8 bytes (XDR).
      r.need(16, 'sampled_ethernet.mac');
      const src = macToString(r.bytes, r.pos);
      const dst = macToString(r.bytes, r.pos + 8);
      r.pos += 16;
      const type = r.u32('sampled_ethernet.type');
      p.frameLength ??= length;
      p.srcMac ??= src;
      p.dstMac ??= dst;
      p.etherType ??= type;
      return;
    }
    case SAMPLED_IPV4:
    case SAMPLED_IPV6: {
      const v6 = tag === SAMPLED_IPV6;
      const length = r.u32('sampled_ip.length');
      const proto = r.u32('sampled_ip.protocol');
      let srcKey: number | string;
      let dstKey: number | string;
      if (v6) {
        r.need(32, 'sampled_ipv6.addr');
        srcKey = ip6Key(r.bytes, r.pos);
        dstKey = ip6Key(r.bytes, r.pos + 16);
        r.pos += 32;
      } else {
        srcKey = r.u32('sampled_ipv4.src_ip');
        dstKey = r.u32('sampled_ipv4.dst_ip');
      }
      const srcPort = r.u32('sampled_ip.src_port');
      const dstPort = r.u32('sampled_ip.dst_port');
      const flags = r.u32('sampled_ip.tcp_flags');
      const tos = r.u32('sampled_ip.tos');
      if (p.srcKey === undefined) {
        p.ipVersion = v6 ? 6 : 4;
        p.ipLength = length;
        p.proto = proto;
        // address text is made from the keys when read (types.ts)
        p.srcKey = srcKey;
        p.dstKey = dstKey;
        p.srcPort = srcPort;
        p.dstPort = dstPort;
        p.tcpFlags = flags;
        p.tos = tos;
      }
      return;
    }
    case EX_SWITCH: {
      const o = words(r, SWITCH_FIELDS);
      p.srcVlan = r.view.getUint32(o);
      p.srcPriority = r.view.getUint32(o + 4);
      p.dstVlan = r.view.getUint32(o + 8);
      p.dstPriority = r.view.getUint32(o + 12);
      return;
    }
    case EX_ROUTER:
      p.nextHopKey = readAddressKey(r, 'extended_router.next_hop');
      p.nextHop = addressKeyText(p.nextHopKey);
      p.srcMaskLen = r.u32('extended_router.src_mask_len');
      p.dstMaskLen = r.u32('extended_router.dst_mask_len');
      return;
    case EX_GATEWAY:
      readGateway(r, p);
      return;
    case EX_USER:
      r.u32('extended_user.src_charset');
      p.srcUser = readString(r, 'extended_user.src_user');
      r.u32('extended_user.dst_charset');
      p.dstUser = readString(r, 'extended_user.dst_user');
      return;
    case EX_URL:
      r.u32('extended_url.direction');
      p.url = readString(r, 'extended_url.url', 4096);
      p.urlHost = readString(r, 'extended_url.host');
      return;
    case EX_MPLS:
      p.mplsNextHop = readAddress(r, 'extended_mpls.nexthop');
      p.mplsInLabels = readU32Array(r, 'extended_mpls.in_stack');
      p.mplsOutLabels = readU32Array(r, 'extended_mpls.out_stack');
      return;
    case EX_NAT:
      p.natSrcAddr = readAddress(r, 'extended_nat.src_address');
      p.natDstAddr = readAddress(r, 'extended_nat.dst_address');
      return;
    case EX_NAT_PORT:
      p.natSrcPort = r.u32('extended_nat_port.src_port');
      p.natDstPort = r.u32('extended_nat_port.dst_port');
      return;
    case EX_VLAN_TUNNEL:
      p.vlanStack = readU32Array(r, 'extended_vlantunnel.stack');
      return;
    case EX_VNI_EGRESS:
      p.vniEgress = r.u32('extended_vni_egress.vni');
      return;
    case EX_VNI_INGRESS:
      p.vniIngress = r.u32('extended_vni_ingress.vni');
      return;
    case EX_EGRESS_QUEUE:
      p.egressQueue = r.u32('extended_egress_queue.queue');
      return;
    case EX_FUNCTION:
      p.functionName = readString(r, 'extended_function.symbol');
      return;
    case EX_TRANSIT:
      p.transitDelayNs = r.u32('extended_transit.delay');
      return;
    case EX_QUEUE_DEPTH:
      p.queueDepthBytes = r.u32('extended_queue_depth.depth');
      return;
    case EX_LINUX_REASON:
      p.linuxReason = readString(r, 'extended_linux_drop_reason.reason');
      return;
    default:
      p.skippedRecords++;
      return;
  }
}

/**
 * memo §5 extended_gateway. The destination AS is the last AS of the path and the destination
 * peer AS the first; with an empty path the destination is the router's own AS (route is local).
 */
function readGateway(r: Reader, p: SampledPacket): void {
  p.bgpNextHopKey = readAddressKey(r, 'extended_gateway.nexthop');
  p.bgpNextHop = addressKeyText(p.bgpNextHopKey);
  p.routerAs = r.u32('extended_gateway.as');
  p.srcAs = r.u32('extended_gateway.src_as');
  p.srcPeerAs = r.u32('extended_gateway.src_peer_as');
  const segments = r.u32('extended_gateway.dst_as_path');
  if (segments * 8 > r.remaining) r.fail('extended_gateway.dst_as_path', 'bad_count', `${segments} segments`);
  const path: number[] = [];
  let lastSequence: number | undefined;
  for (let i = 0; i < segments; i++) {
    const type = r.u32('as_path.type');
    const ases = readU32Array(r, 'as_path.as');
    for (const as of ases) path.push(as);
    if (type === AS_SEQUENCE && ases.length) lastSequence = ases[ases.length - 1];
  }
  p.asPath = path;
  p.dstPeerAs = path.length ? path[0] : p.routerAs;
  p.dstAs = lastSequence ?? (path.length ? path[path.length - 1] : p.routerAs);
  p.communities = readU32Array(r, 'extended_gateway.communities');
  p.localPref = r.u32('extended_gateway.localpref');
}
