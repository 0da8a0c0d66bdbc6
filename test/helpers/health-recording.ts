/**
 * GENERATED (not a device recording): one snmpsim data file with every kind of health value the
 * profiles and the "Device health" dashboard handle (CPU, memory, temperatures, fans and PSUs,
 * optics, ENTITY-STATE, BGP peers, LLDP), for the edge cases and the dashboard query tests that no
 * shippable real recording covers. sysObjectID is a Cisco one so the Cisco profiles run too.
 */
const hex = (s: string) => Buffer.from(s).toString('hex');
const EDGE_LINES = [
  // CISCO-PROCESS-MIB CPU 1: 1 min 12 %, 5 min 9 %; CISCO-MEMORY-POOL-MIB Processor: 300 MB used, 100 MB free
  '1.3.6.1.4.1.9.9.109.1.1.1.1.7.1|66|12',
  '1.3.6.1.4.1.9.9.109.1.1.1.1.8.1|66|9',
  '1.3.6.1.4.1.9.9.48.1.1.1.2.1|4|Processor',
  '1.3.6.1.4.1.9.9.48.1.1.1.5.1|66|300000000',
  '1.3.6.1.4.1.9.9.48.1.1.1.6.1|66|100000000',
  // CISCO-ENVMON-MIB: fan 1 normal, PSU 2 critical
  '1.3.6.1.4.1.9.9.13.1.4.1.2.1|4|Fan 1',
  '1.3.6.1.4.1.9.9.13.1.4.1.3.1|2|1',
  '1.3.6.1.4.1.9.9.13.1.5.1.2.2|4|PSU 2',
  '1.3.6.1.4.1.9.9.13.1.5.1.3.2|2|3',
  '1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.9.1.2494',
  // entPhysicalName; 14 has an empty name, so its entPhysicalDescr names it
  `1.3.6.1.2.1.47.1.1.1.1.7.10|4|Inlet Temp`,
  `1.3.6.1.2.1.47.1.1.1.1.7.11|4|Te1/1 Rx Power`,
  `1.3.6.1.2.1.47.1.1.1.1.7.12|4|3.3V rail`,
  `1.3.6.1.2.1.47.1.1.1.1.7.13|4|Te1/2 Tx Power`,
  `1.3.6.1.2.1.47.1.1.1.1.7.14|4|`,
  `1.3.6.1.2.1.47.1.1.1.1.2.14|4|Fan 1`,
  // ENTITY-SENSOR: type|scale|precision|value|status|unitsDisplay
  ...[
    [10, 8, 9, 1, 253, 1, 'C'],
    [12, 4, 8, 0, 3300, 1, 'V'],
    [13, 1, 9, 2, -250, 1, 'dBm'],
    [14, 10, 9, 0, 5400, 2, 'rpm'],
  ].flatMap(([i, type, scale, prec, value, status, units]) => [
    `1.3.6.1.2.1.99.1.1.1.1.${i}|2|${type}`,
    `1.3.6.1.2.1.99.1.1.1.2.${i}|2|${scale}`,
    `1.3.6.1.2.1.99.1.1.1.3.${i}|2|${prec}`,
    `1.3.6.1.2.1.99.1.1.1.4.${i}|2|${value}`,
    `1.3.6.1.2.1.99.1.1.1.5.${i}|2|${status}`,
    `1.3.6.1.2.1.99.1.1.1.6.${i}|4|${units}`,
  ]),
  // CISCO-ENTITY-SENSOR: an optic's receive power, dBm(14), one decimal
  '1.3.6.1.4.1.9.9.91.1.1.1.1.1.11|2|14',
  '1.3.6.1.4.1.9.9.91.1.1.1.1.2.11|2|9',
  '1.3.6.1.4.1.9.9.91.1.1.1.1.3.11|2|1',
  '1.3.6.1.4.1.9.9.91.1.1.1.1.4.11|2|-31',
  '1.3.6.1.4.1.9.9.91.1.1.1.1.5.11|2|1',
  // ENTITY-STATE for entity 10: unlocked, enabled, active, providingService
  '1.3.6.1.2.1.131.1.1.1.2.10|2|4',
  '1.3.6.1.2.1.131.1.1.1.3.10|2|3',
  '1.3.6.1.2.1.131.1.1.1.4.10|2|3',
  '1.3.6.1.2.1.131.1.1.1.6.10|2|4',
  // BGP4-MIB: 192.0.2.1 established for an hour, 192.0.2.2 stuck in active
  ...[
    ['192.0.2.1', 6, 64500, 10, 20, 100, 200, 1, 3600],
    ['192.0.2.2', 3, 64501, 0, 0, 5, 5, 0, 0],
  ].flatMap(([p, state, as, inU, outU, inM, outM, tr, est]) => [
    `1.3.6.1.2.1.15.3.1.2.${p}|2|${state}`,
    `1.3.6.1.2.1.15.3.1.3.${p}|2|2`,
    `1.3.6.1.2.1.15.3.1.9.${p}|2|${as}`,
    `1.3.6.1.2.1.15.3.1.10.${p}|65|${inU}`,
    `1.3.6.1.2.1.15.3.1.11.${p}|65|${outU}`,
    `1.3.6.1.2.1.15.3.1.12.${p}|65|${inM}`,
    `1.3.6.1.2.1.15.3.1.13.${p}|65|${outM}`,
    `1.3.6.1.2.1.15.3.1.15.${p}|65|${tr}`,
    `1.3.6.1.2.1.15.3.1.16.${p}|66|${est}`,
  ]),
  // CISCO-BGP4-MIB prefixes of 192.0.2.1, IPv4 unicast: 812 accepted, 3 denied, 40 advertised
  '1.3.6.1.4.1.9.9.187.1.2.4.1.1.192.0.2.1.1.1|66|812',
  '1.3.6.1.4.1.9.9.187.1.2.4.1.2.192.0.2.1.1.1|65|3',
  '1.3.6.1.4.1.9.9.187.1.2.4.1.6.192.0.2.1.1.1|66|40',
  // LLDP-MIB remote table, index timeMark 1200 . local port 5 . remote index 1
  '1.0.8802.1.1.2.1.4.1.1.4.1200.5.1|2|4',
  '1.0.8802.1.1.2.1.4.1.1.5.1200.5.1|4x|001122334455',
  '1.0.8802.1.1.2.1.4.1.1.6.1200.5.1|2|5',
  `1.0.8802.1.1.2.1.4.1.1.7.1200.5.1|4x|${hex('Gi0/1')}`,
  '1.0.8802.1.1.2.1.4.1.1.8.1200.5.1|4|uplink',
  '1.0.8802.1.1.2.1.4.1.1.9.1200.5.1|4|core1',
  '1.0.8802.1.1.2.1.4.1.1.10.1200.5.1|4|Cisco IOS',
];
const oidKey = (l: string) => (l.split('|')[0] ?? '').split('.').map(Number);
const byOid = (a: string, b: string) => {
  const x = oidKey(a);
  const y = oidKey(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
  return x.length - y.length;
};


/** The recording as snmpsim reads it: one line per OID, in OID order (its GETNEXT relies on it). */
export function edgeRecording(): string {
  return [...EDGE_LINES].sort(byOid).join('\n') + '\n';
}
