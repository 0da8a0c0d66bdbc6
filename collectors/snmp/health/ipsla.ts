/**
 * `cisco_ip_sla`: the latest result of each Cisco IP SLA probe (CISCO-RTTMON-MIB), tagged with
 * the probe's configured tag and type. rttMonLatestRttOperTable and rttMonCtrlAdminTable share the
 * index rttMonCtrlAdminIndex, so the tag rides in the same table spec.
 */
import { deriveState, drop, healthHeader, num, tag, type HealthProfile } from './types.js';

const RTT = '1.3.6.1.4.1.9.9.42.1.2';
/** CISCO-RTTMON-TC-MIB RttResponseSense; only ok(1) means the probe completed. */
const SENSE: Readonly<Record<number, string>> = {
  0: 'other',
  1: 'ok',
  2: 'disconnected',
  3: 'over_threshold',
  4: 'timeout',
  5: 'busy',
  6: 'not_connected',
  7: 'dropped',
  8: 'sequence_error',
  9: 'verify_error',
  10: 'application_specific',
  11: 'dns_server_timeout',
  12: 'tcp_connect_timeout',
  13: 'http_transaction_timeout',
  14: 'dns_query_error',
  15: 'http_error',
  16: 'error',
};
/** CISCO-RTTMON-TC-MIB RttMonRttType, the common ones by name. */
const RTT_TYPE: Readonly<Record<string, string>> = { '1': 'echo', '2': 'path_echo', '5': 'udp_echo', '6': 'tcp_connect', '7': 'http', '8': 'dns', '9': 'jitter', '11': 'dhcp', '12': 'ftp', '16': 'icmp_jitter' };

export const CISCO_IP_SLA: HealthProfile = {
  name: 'cisco_ip_sla',
  summary: 'Cisco IP SLA probes: latest round-trip time and result, with the probe tag and type',
  needs: 'CISCO-RTTMON-MIB rttMonLatestRttOperTable (1.3.6.1.4.1.9.9.42.1.2.10) and rttMonCtrlAdminTable (…42.1.2.1)',
  ...healthHeader('snmp_ip_sla'),
  tables: [
    {
      measurement: 'snmp_ip_sla',
      indexTag: 'probe',
      // Admin rows without a result make no record: a device without results costs one walk.
      requires: `${RTT}.10.1.2`,
      columns: [
        { oid: `${RTT}.1.1.3`, name: 'tag', tag: true },
        { oid: `${RTT}.1.1.4`, name: 'rtt_type', tag: true, display: (v) => RTT_TYPE[v] ?? v },
        { oid: `${RTT}.10.1.1`, name: 'completion' },
        { oid: `${RTT}.10.1.2`, name: 'state' },
      ],
      derive(f) {
        const ms = num(f, 'completion');
        drop(f, 'completion');
        deriveState(SENSE, [1])(f);
        // A probe that did not complete records no completion time (the column keeps an old or 0 value).
        if (f.ok === true && ms !== undefined) f.rtt_ms = ms;
      },
    },
  ],
  doc: [
    {
      measurement: 'snmp_ip_sla',
      tags: [
        tag('probe', 'row index (rttMonCtrlAdminIndex)'),
        tag('tag', 'rttMonCtrlAdminTag (1.3.6.1.4.1.9.9.42.1.2.1.1.3)'),
        tag('rtt_type', 'rttMonCtrlAdminRttType (…42.1.2.1.1.4): echo, udp_echo, tcp_connect, http, dns, jitter, icmp_jitter, … or the number'),
      ],
      fields: [
        { name: 'rtt_ms', source: 'rttMonLatestRttOperCompletionTime (…42.1.2.10.1.1), only when the result is ok', unit: 'milliseconds (microseconds if the probe is set to rttMonEchoAdminPrecision microseconds)' },
        { name: 'state', source: 'rttMonLatestRttOperSense (…42.1.2.10.1.2): 1 ok, 2 disconnected, 3 overThreshold, 4 timeout, …', unit: 'enum' },
        { name: 'state_name', source: 'state as a name', unit: 'string' },
        { name: 'ok', source: 'state = ok(1)', unit: 'bool' },
      ],
    },
  ],
};
