/**
 * IANA IPFIX Information Elements (https://www.iana.org/assignments/ipfix, RFC 7012 §3 for the
 * abstract data types). NetFlow v9 field types 1..127 (RFC 3954 §8) share these numbers, so one table
 * serves both. Only the elements we name are listed; any other id is kept raw under `ie_<id>`
 * (enterprise elements under `e<PEN>_<id>`), never dropped.
 */

/** Abstract data types of RFC 7012 §3.1, collapsed to what the decoder must treat differently. */
export enum Kind {
  Unsigned = 0,
  Signed = 1,
  Float = 2,
  Boolean = 3,
  Mac = 4,
  Octets = 5,
  String = 6,
  DateSeconds = 7,
  DateMillis = 8,
  DateMicros = 9,
  DateNanos = 10,
  Ipv4 = 11,
  Ipv6 = 12,
  /** basicList / subTemplateList / subTemplateMultiList (RFC 6313): skipped by length. */
  List = 13,
}

export interface ElementInfo {
  readonly name: string;
  readonly kind: Kind;
}

type Row = readonly [number, string, Kind];
const U = Kind.Unsigned;
const S = Kind.String;
const O = Kind.Octets;
const V4 = Kind.Ipv4;
const V6 = Kind.Ipv6;

const ROWS: readonly Row[] = [
  [1, 'octetDeltaCount', U], [2, 'packetDeltaCount', U], [3, 'deltaFlowCount', U],
  [4, 'protocolIdentifier', U], [5, 'ipClassOfService', U], [6, 'tcpControlBits', U],
  [7, 'sourceTransportPort', U], [8, 'sourceIPv4Address', V4], [9, 'sourceIPv4PrefixLength', U],
  [10, 'ingressInterface', U], [11, 'destinationTransportPort', U], [12, 'destinationIPv4Address', V4],
  [13, 'destinationIPv4PrefixLength', U], [14, 'egressInterface', U], [15, 'ipNextHopIPv4Address', V4],
  [16, 'bgpSourceAsNumber', U], [17, 'bgpDestinationAsNumber', U], [18, 'bgpNextHopIPv4Address', V4],
  [19, 'postMCastPacketDeltaCount', U], [20, 'postMCastOctetDeltaCount', U], [21, 'flowEndSysUpTime', U],
  [22, 'flowStartSysUpTime', U], [23, 'postOctetDeltaCount', U], [24, 'postPacketDeltaCount', U],
  [25, 'minimumIpTotalLength', U], [26, 'maximumIpTotalLength', U], [27, 'sourceIPv6Address', V6],
  [28, 'destinationIPv6Address', V6], [29, 'sourceIPv6PrefixLength', U], [30, 'destinationIPv6PrefixLength', U],
  [31, 'flowLabelIPv6', U], [32, 'icmpTypeCodeIPv4', U], [33, 'igmpType', U], [34, 'samplingInterval', U],
  [35, 'samplingAlgorithm', U], [36, 'flowActiveTimeout', U], [37, 'flowIdleTimeout', U], [38, 'engineType', U],
  [39, 'engineId', U], [40, 'exportedOctetTotalCount', U], [41, 'exportedMessageTotalCount', U],
  [42, 'exportedFlowRecordTotalCount', U], [43, 'ipv4RouterSc', V4], [44, 'sourceIPv4Prefix', V4],
  [45, 'destinationIPv4Prefix', V4], [46, 'mplsTopLabelType', U], [47, 'mplsTopLabelIPv4Address', V4],
  [48, 'samplerId', U], [49, 'samplerMode', U], [50, 'samplerRandomInterval', U], [51, 'classId', U],
  [52, 'minimumTTL', U], [53, 'maximumTTL', U], [54, 'fragmentIdentification', U], [55, 'postIpClassOfService', U],
  [56, 'sourceMacAddress', Kind.Mac], [57, 'postDestinationMacAddress', Kind.Mac], [58, 'vlanId', U],
  [59, 'postVlanId', U], [60, 'ipVersion', U], [61, 'flowDirection', U], [62, 'ipNextHopIPv6Address', V6],
  [63, 'bgpNextHopIPv6Address', V6], [64, 'ipv6ExtensionHeaders', U], [70, 'mplsTopLabelStackSection', O],
  [71, 'mplsLabelStackSection2', O], [72, 'mplsLabelStackSection3', O], [73, 'mplsLabelStackSection4', O],
  [74, 'mplsLabelStackSection5', O], [75, 'mplsLabelStackSection6', O], [76, 'mplsLabelStackSection7', O],
  [77, 'mplsLabelStackSection8', O], [78, 'mplsLabelStackSection9', O], [79, 'mplsLabelStackSection10', O],
  [80, 'destinationMacAddress', Kind.Mac], [81, 'postSourceMacAddress', Kind.Mac], [82, 'interfaceName', S],
  [83, 'interfaceDescription', S], [84, 'samplerName', S], [85, 'octetTotalCount', U], [86, 'packetTotalCount', U],
  [87, 'flagsAndSamplerId', U], [88, 'fragmentOffset', U], [89, 'forwardingStatus', U],
  [90, 'mplsVpnRouteDistinguisher', O], [91, 'mplsTopLabelPrefixLength', U], [92, 'srcTrafficIndex', U],
  [93, 'dstTrafficIndex', U], [94, 'applicationDescription', S], [95, 'applicationId', O], [96, 'applicationName', S],
  [98, 'postIpDiffServCodePoint', U], [99, 'multicastReplicationFactor', U], [100, 'className', S],
  [101, 'classificationEngineId', U], [102, 'layer2packetSectionOffset', U], [103, 'layer2packetSectionSize', U],
  [104, 'layer2packetSectionData', O], [128, 'bgpNextAdjacentAsNumber', U], [129, 'bgpPrevAdjacentAsNumber', U],
  [130, 'exporterIPv4Address', V4], [131, 'exporterIPv6Address', V6], [132, 'droppedOctetDeltaCount', U],
  [133, 'droppedPacketDeltaCount', U], [134, 'droppedOctetTotalCount', U], [135, 'droppedPacketTotalCount', U],
  [136, 'flowEndReason', U], [137, 'commonPropertiesId', U], [138, 'observationPointId', U],
  [139, 'icmpTypeCodeIPv6', U], [140, 'mplsTopLabelIPv6Address', V6], [141, 'lineCardId', U], [142, 'portId', U],
  [143, 'meteringProcessId', U], [144, 'exportingProcessId', U], [145, 'templateId', U], [146, 'wlanChannelId', U],
  [147, 'wlanSSID', S], [148, 'flowId', U], [149, 'observationDomainId', U],
  [150, 'flowStartSeconds', Kind.DateSeconds], [151, 'flowEndSeconds', Kind.DateSeconds],
  [152, 'flowStartMilliseconds', Kind.DateMillis], [153, 'flowEndMilliseconds', Kind.DateMillis],
  [154, 'flowStartMicroseconds', Kind.DateMicros], [155, 'flowEndMicroseconds', Kind.DateMicros],
  [156, 'flowStartNanoseconds', Kind.DateNanos], [157, 'flowEndNanoseconds', Kind.DateNanos],
  [158, 'flowStartDeltaMicroseconds', U], [159, 'flowEndDeltaMicroseconds', U],
  [160, 'systemInitTimeMilliseconds', Kind.DateMillis], [161, 'flowDurationMilliseconds', U],
  [162, 'flowDurationMicroseconds', U], [163, 'observedFlowTotalCount', U], [164, 'ignoredPacketTotalCount', U],
  [165, 'ignoredOctetTotalCount', U], [166, 'notSentFlowTotalCount', U], [167, 'notSentPacketTotalCount', U],
  [168, 'notSentOctetTotalCount', U], [169, 'destinationIPv6Prefix', V6], [170, 'sourceIPv6Prefix', V6],
  [171, 'postOctetTotalCount', U], [172, 'postPacketTotalCount', U], [173, 'flowKeyIndicator', U],
  [174, 'postMCastPacketTotalCount', U], [175, 'postMCastOctetTotalCount', U], [176, 'icmpTypeIPv4', U],
  [177, 'icmpCodeIPv4', U], [178, 'icmpTypeIPv6', U], [179, 'icmpCodeIPv6', U], [180, 'udpSourcePort', U],
  [181, 'udpDestinationPort', U], [182, 'tcpSourcePort', U], [183, 'tcpDestinationPort', U],
  [184, 'tcpSequenceNumber', U], [185, 'tcpAcknowledgementNumber', U], [186, 'tcpWindowSize', U],
  [187, 'tcpUrgentPointer', U], [188, 'tcpHeaderLength', U], [189, 'ipHeaderLength', U], [190, 'totalLengthIPv4', U],
  [191, 'payloadLengthIPv6', U], [192, 'ipTTL', U], [193, 'nextHeaderIPv6', U], [194, 'mplsPayloadLength', U],
  [195, 'ipDiffServCodePoint', U], [196, 'ipPrecedence', U], [197, 'fragmentFlags', U],
  [198, 'octetDeltaSumOfSquares', U], [199, 'octetTotalSumOfSquares', U], [200, 'mplsTopLabelTTL', U],
  [201, 'mplsLabelStackLength', U], [202, 'mplsLabelStackDepth', U], [203, 'mplsTopLabelExp', U],
  [204, 'ipPayloadLength', U], [205, 'udpMessageLength', U], [206, 'isMulticast', U], [207, 'ipv4IHL', U],
  [208, 'ipv4Options', U], [209, 'tcpOptions', U], [210, 'paddingOctets', O], [211, 'collectorIPv4Address', V4],
  [212, 'collectorIPv6Address', V6], [213, 'exportInterface', U], [214, 'exportProtocolVersion', U],
  [215, 'exportTransportProtocol', U], [216, 'collectorTransportPort', U], [217, 'exporterTransportPort', U],
  [218, 'tcpSynTotalCount', U], [219, 'tcpFinTotalCount', U], [220, 'tcpRstTotalCount', U],
  [221, 'tcpPshTotalCount', U], [222, 'tcpAckTotalCount', U], [223, 'tcpUrgTotalCount', U],
  [224, 'ipTotalLength', U], [225, 'postNATSourceIPv4Address', V4], [226, 'postNATDestinationIPv4Address', V4],
  [227, 'postNAPTSourceTransportPort', U], [228, 'postNAPTDestinationTransportPort', U],
  [229, 'natOriginatingAddressRealm', U], [230, 'natEvent', U], [231, 'initiatorOctets', U],
  [232, 'responderOctets', U], [233, 'firewallEvent', U], [234, 'ingressVRFID', U], [235, 'egressVRFID', U],
  [236, 'VRFname', S], [237, 'postMplsTopLabelExp', U], [238, 'tcpWindowScale', U], [239, 'biflowDirection', U],
  [240, 'ethernetHeaderLength', U], [241, 'ethernetPayloadLength', U], [242, 'ethernetTotalLength', U],
  [243, 'dot1qVlanId', U], [244, 'dot1qPriority', U], [245, 'dot1qCustomerVlanId', U],
  [246, 'dot1qCustomerPriority', U], [251, 'postDot1qVlanId', U], [252, 'ingressPhysicalInterface', U],
  [253, 'egressPhysicalInterface', U], [254, 'postDot1qCustomerVlanId', U], [256, 'ethernetType', U],
  [291, 'basicList', Kind.List], [292, 'subTemplateList', Kind.List], [293, 'subTemplateMultiList', Kind.List],
  [298, 'initiatorPackets', U], [299, 'responderPackets', U], [300, 'observationDomainName', S],
  [301, 'selectionSequenceId', U], [302, 'selectorId', U], [303, 'informationElementId', U],
  [304, 'selectorAlgorithm', U], [305, 'samplingPacketInterval', U], [306, 'samplingPacketSpace', U],
  [307, 'samplingTimeInterval', U], [308, 'samplingTimeSpace', U], [309, 'samplingSize', U],
  [310, 'samplingPopulation', U], [311, 'samplingProbability', Kind.Float],
  [322, 'observationTimeSeconds', Kind.DateSeconds], [323, 'observationTimeMilliseconds', Kind.DateMillis],
  [324, 'observationTimeMicroseconds', Kind.DateMicros], [325, 'observationTimeNanoseconds', Kind.DateNanos],
  [346, 'privateEnterpriseNumber', U], [352, 'layer2OctetDeltaCount', U], [353, 'layer2OctetTotalCount', U],
];

/** camelCase IANA name -> snake_case record field name (`sourceIPv4Address` -> `source_ipv4_address`). */
export function snakeCase(name: string): string {
  return name
    .replace(/IPv([46])/g, 'Ipv$1')
    .replace(/^VRFname$/, 'vrfName')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

const TABLE: ReadonlyMap<number, ElementInfo> = new Map(ROWS.map(([id, name, kind]) => [id, { name, kind }]));

/** Registry entry for an IANA element (enterprise 0), or undefined when we do not name it. */
export function ianaElement(id: number): ElementInfo | undefined {
  return TABLE.get(id);
}

/**
 * Stable record field name of an element: the IANA name in snake_case, `ie_<id>` for an IANA id we do
 * not list, `e<PEN>_<id>` for an enterprise-specific one (RFC 7011 §3.2).
 */
export function elementFieldName(id: number, pen: number): string {
  if (pen !== 0) return `e${pen}_${id}`;
  const info = TABLE.get(id);
  return info ? snakeCase(info.name) : `ie_${id}`;
}

/**
 * NetFlow v9 options scope field types (RFC 3954 §6.2) live in their own number space, so they are
 * named apart from the element table.
 */
export function v9ScopeName(type: number): string {
  switch (type) {
    case 1: return 'scope_system';
    case 2: return 'scope_interface';
    case 3: return 'scope_line_card';
    case 4: return 'scope_cache';
    case 5: return 'scope_template';
    default: return `scope_${type}`;
  }
}

/** Length that means "variable" in a template field specifier (RFC 7011 §7). */
export const VARIABLE_LENGTH = 65535;
