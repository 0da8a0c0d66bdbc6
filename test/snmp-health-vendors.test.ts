/**
 * Golden cases per vendor profile, on recordings served by snmpsim and polled by the real
 * DevicePoller (helpers/health-poll.ts):
 * - DataDog test recordings for MikroTik, Huawei and Cisco (test/fixtures/snmprec, BSD-3-Clause, see each
 *   *.SOURCE.md: synthetic values, used for OIDs, types and arithmetic);
 * - GENERATED recordings (helpers/bgp4v2-recording.ts) for the BGP4V2 tables of Juniper, Arista and
 *   Cisco, and for the Juniper and Aruba profiles, which no shippable recording found has lines for.
 * Every expected value is worked out by hand from the recording line and the MIB, quoted next to it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bgp4v2Recordings } from './helpers/bgp4v2-recording.js';
import { find, one, pollDevice } from './helpers/health-poll.js';
import { startSnmpsim, type Snmpsim } from './helpers/snmpsim.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', 'snmprec', `${name}.snmprec`), 'utf8');

let sim: Snmpsim;
beforeAll(async () => {
  sim = await startSnmpsim({ mikrotik: fixture('mikrotik-router'), huawei: fixture('huawei'), cisco_generic: fixture('cisco-generic'), ...bgp4v2Recordings() });
}, 60_000);
afterAll(async () => {
  await sim?.stop();
});
const poll = (community: string, extra: Record<string, unknown> = {}) => pollDevice(sim.port, community, extra);
const tagsOf = (p: Awaited<ReturnType<typeof poll>>, measurement: string) => find(p, measurement, {}).map((r) => r.tags);

describe('DataDog recordings (synthetic values; fixtures/snmprec/*.SOURCE.md)', () => {
  it('MikroTik, picked from sysObjectID 1.3.6.1.4.1.14988.1.999: mtxrGaugeTable in base units, hrProcessorLoad', async () => {
    const p = await poll('mikrotik');
    expect(p.errors).toEqual([]);
    // mtxrGaugeName.0 = 6b65707420666f7277617264 ("kept forward"), Value.0 = 4146544179, Unit.0 = 3 (dV): / 10 volts
    expect(one(p, 'snmp_sensor', { sensor_index: '0', sensor: 'kept forward', sensor_type: 'volts_dc' })).toEqual({ value: 414654417.9 });
    // .5: Value 3586580337, Unit 5 (dW): / 10 watts
    expect(one(p, 'snmp_sensor', { sensor_index: '5', sensor_type: 'watts' })).toEqual({ value: 358658033.7 });
    // .14: Value 2475976779, Unit 4 (dA): / 10 amperes
    expect(one(p, 'snmp_sensor', { sensor_index: '14', sensor_type: 'amperes' })).toEqual({ value: 247597677.9 });
    // .31: Value 2793157723, Unit 1 (celsius): as is
    expect(one(p, 'snmp_sensor', { sensor_index: '31', sensor: 'acted zombies oxen acted their Jaded oxen zombies their', sensor_type: 'celsius' })).toEqual({ value: 2793157723 });
    // hrProcessorLoad.1 = 2, .24 = 16; no hrDeviceDescr row has those indexes, so no cpu name
    expect(one(p, 'snmp_cpu', { cpu_index: '1' })).toEqual({ load_percent: 2 });
    expect(one(p, 'snmp_cpu', { cpu_index: '24' })).toEqual({ load_percent: 16 });
    expect(find(p, 'snmp_cpu', {})[0]?.tags.cpu).toBeUndefined();
    // hrStorageType .24 = 1.3.6.1.3.162, .27 = 1.3.6.1.3.245.28.67: neither is hrStorageRam (1.3.6.1.2.1.25.2.1.2)
    expect(find(p, 'snmp_memory', {})).toEqual([]);
    expect(p.infos).toEqual([expect.stringContaining('profiles entity_sensors, entity_state, bgp_peers, lldp_neighbors, hr_memory found nothing')]);
  });

  it('Huawei, picked from sysObjectID 1.3.6.1.4.1.2011.2.999: hwEntityStateTable CPU, memory, temperature', async () => {
    const p = await poll('huawei');
    expect(p.errors).toEqual([]);
    // hwEntityCpuUsage (…31.1.1.1.1.5) .1 = 31, .2 = 1
    expect(one(p, 'snmp_cpu', { cpu_index: '1' })).toEqual({ load_percent: 31 });
    expect(one(p, 'snmp_cpu', { cpu_index: '2' })).toEqual({ load_percent: 1 });
    // hwEntityMemUsage (….7) .1 = 25, .2 = 13
    expect(one(p, 'snmp_memory', { pool_index: '1' })).toEqual({ used_percent: 25 });
    expect(one(p, 'snmp_memory', { pool_index: '2' })).toEqual({ used_percent: 13 });
    // hwEntityTemperature (….11) .1 = 10, .2 = 6 degrees C
    expect(one(p, 'snmp_sensor', { sensor_index: '1', sensor_type: 'celsius' })).toEqual({ value: 10 });
    expect(one(p, 'snmp_sensor', { sensor_index: '2', sensor_type: 'celsius' })).toEqual({ value: 6 });
  });

  it('Cisco with vendor: cisco (its sysObjectID 1.2.3.1005 is no Cisco one): ENVMON temperatures, fans, PSUs; IP SLA results', async () => {
    const p = await poll('cisco_generic', { vendor: 'cisco' });
    expect(p.errors).toEqual([]);
    // ciscoEnvMonTemperatureStatusDescr.15 = "quaintly driving quaintly", Value.15 = 2026396058 (Gauge32, degrees C); .20 = 3586437392
    expect(one(p, 'snmp_sensor', { sensor_index: '15', sensor: 'quaintly driving quaintly', sensor_type: 'celsius' })).toEqual({ value: 2026396058 });
    expect(one(p, 'snmp_sensor', { sensor_index: '20', sensor: 'kept acted quaintly kept Jaded' })).toEqual({ value: 3586437392 });
    // ciscoEnvMonFanState.11 = 6 notFunctioning, .16 ("acted") = 1 normal
    expect(one(p, 'snmp_component', { kind: 'fan', component: 'oxen their but kept forward kept' })).toEqual({ state: 6n, state_name: 'not_functioning', ok: false });
    expect(one(p, 'snmp_component', { kind: 'fan', component: 'acted' })).toEqual({ state: 1n, state_name: 'normal', ok: true });
    // ciscoEnvMonSupplyState.2 ("their") = 3 critical, .11 = 4 shutdown
    expect(one(p, 'snmp_component', { kind: 'psu', component: 'their' })).toEqual({ state: 3n, state_name: 'critical', ok: false });
    expect(one(p, 'snmp_component', { kind: 'psu', component: 'kept Jaded oxen Jaded their' })).toEqual({ state: 4n, state_name: 'shutdown', ok: false });
    // rttMonLatestRttOperSense.2 = 0 other, .5 = 4 timeout: no completed probe, so no rtt_ms (CompletionTime 4043152810 / 3589004330 ignored);
    // rttMonCtrlAdminTag rows 29 and 30 have no result row: tags alone make no record
    expect(one(p, 'snmp_ip_sla', { probe: '2' })).toEqual({ state: 0n, state_name: 'other', ok: false });
    expect(one(p, 'snmp_ip_sla', { probe: '5' })).toEqual({ state: 4n, state_name: 'timeout', ok: false });
    expect(find(p, 'snmp_ip_sla', {})).toHaveLength(2);
  });
});

describe('GENERATED BGP4V2 and vendor recordings (helpers/bgp4v2-recording.ts)', () => {
  it('Juniper: jnxBgpM2 peers (IPv4, IPv6, a routing instance) over BGP4-MIB, joined by jnxBgpM2PeerIndex', async () => {
    const p = await poll('gen_juniper');
    expect(p.errors).toEqual([]);
    // BGP4-MIB says 192.0.2.1 active(3); jnxBgpM2 row 0.1.192.0.2.254.1.192.0.2.1 says established(6): one series, the v2 values;
    // peer index 1: FsmEstablishedTime 86400, counters 11, 12, 13, 14, 2
    expect(find(p, 'snmp_bgp_peer', { peer: '192.0.2.1' }).filter((r) => r.tags.routing_instance === undefined)).toHaveLength(1);
    expect(one(p, 'snmp_bgp_peer', { peer: '192.0.2.1', remote_as: '64500' })).toEqual({
      state: 6n,
      state_name: 'established',
      established: true,
      admin_status: 2n,
      established_seconds: 86400n,
      in_updates: 11n,
      out_updates: 12n,
      in_messages: 13n,
      out_messages: 14n,
      established_transitions: 2n,
    });
    // remote type 2, octets 32.1.13.184.0…0.1 = 2001:db8::1; peer index 2: FsmEstablishedTime 3600
    expect(one(p, 'snmp_bgp_peer', { peer: '2001:db8::1', remote_as: '64501' })).toEqual({ state: 6n, state_name: 'established', established: true, admin_status: 2n, established_seconds: 3600n });
    // instance 5 (not the default 0): its own series; state idle(1), status halted(1)
    expect(one(p, 'snmp_bgp_peer', { peer: '192.0.2.1', routing_instance: '5' })).toEqual({ state: 1n, state_name: 'idle', established: false, admin_status: 1n, established_seconds: 0n });
    // 198.51.100.7 is in BGP4-MIB only: kept, from BGP4-MIB (state 6, AS 64510, 99 s)
    expect(one(p, 'snmp_bgp_peer', { peer: '198.51.100.7', remote_as: '64510' })).toEqual({ state: 6n, state_name: 'established', established: true, admin_status: 2n, established_seconds: 99n });
    expect(find(p, 'snmp_bgp_peer', {})).toHaveLength(4);
    for (const t of [...tagsOf(p, 'snmp_bgp_peer'), ...tagsOf(p, 'snmp_bgp_prefixes')]) expect(Object.keys(t).filter((k) => k.startsWith('_'))).toEqual([]);
    // jnxBgpM2PrefixCountersTable 1.1.1 (peer 1, ipv4, unicast): in 900, accepted 850, out 40; 2.2.1: 120, 100, 7
    expect(one(p, 'snmp_bgp_prefixes', { peer: '192.0.2.1', afi: 'ipv4', safi: 'unicast' })).toEqual({ received_prefixes: 900n, accepted_prefixes: 850n, advertised_prefixes: 40n });
    expect(one(p, 'snmp_bgp_prefixes', { peer: '2001:db8::1', afi: 'ipv6', safi: 'unicast' })).toEqual({ received_prefixes: 120n, accepted_prefixes: 100n, advertised_prefixes: 7n });
  });

  it('Juniper: jnxOperatingTable RE and FPC CPU and memory, temperatures, PEM and fan state', async () => {
    const p = await poll('gen_juniper');
    // jnxOperatingCPU 9.1.0.0 = 7, 7.1.0.0 = 12; PEM and fan rows (containers 2, 4) have no CPU
    expect(one(p, 'snmp_cpu', { cpu_index: '9.1.0.0', cpu: 'Routing Engine 0' })).toEqual({ load_percent: 7 });
    expect(one(p, 'snmp_cpu', { cpu_index: '7.1.0.0' })).toEqual({ load_percent: 12 });
    expect(find(p, 'snmp_cpu', {})).toHaveLength(2);
    // RE: buffer 41 %, 2048 MB: total 2048 x 2^20 = 2147483648, used round(2147483648 x 0.41) = 880468296, free = 1267015352
    expect(one(p, 'snmp_memory', { pool_index: '9.1.0.0' })).toEqual({ used_percent: 41, total_bytes: 2147483648n, used_bytes: 880468296n, free_bytes: 1267015352n });
    // FPC: 30 % of 1024 MB = 1073741824: used round(322122547.2) = 322122547, free 751619277
    expect(one(p, 'snmp_memory', { pool_index: '7.1.0.0' })).toEqual({ used_percent: 30, total_bytes: 1073741824n, used_bytes: 322122547n, free_bytes: 751619277n });
    // jnxOperatingTemp 38 and 45 C; PEM and fan say 0 (no sensor): left out
    expect(one(p, 'snmp_sensor', { sensor_index: '9.1.0.0', sensor_type: 'celsius' })).toEqual({ value: 38 });
    expect(one(p, 'snmp_sensor', { sensor_index: '7.1.0.0' })).toEqual({ value: 45 });
    expect(find(p, 'snmp_sensor', {})).toHaveLength(2);
    // jnxOperatingState PEM 0 = 2 running (ok), Fan 1 = 6 down
    expect(one(p, 'snmp_component', { kind: 'psu', component: 'PEM 0' })).toEqual({ state: 2n, state_name: 'running', ok: true });
    expect(one(p, 'snmp_component', { kind: 'fan', component: 'Fan Tray 0 Fan 1' })).toEqual({ state: 6n, state_name: 'down', ok: false });
  });

  it('Arista: aristaBgp4V2 peers over BGP4-MIB, an ipv6z link-local peer, a malformed index kept as its raw text', async () => {
    const p = await poll('gen_arista');
    expect(p.errors).toEqual([]);
    // 1.1.4.10.0.0.1: instance 1 (default), ipv4, length 4; FsmEstablishedTime 7200; counters 21, 22, 23, 24, 3
    expect(one(p, 'snmp_bgp_peer', { peer: '10.0.0.1', remote_as: '65001' })).toEqual({
      state: 6n,
      state_name: 'established',
      established: true,
      admin_status: 2n,
      established_seconds: 7200n,
      in_updates: 21n,
      out_updates: 22n,
      in_messages: 23n,
      out_messages: 24n,
      established_transitions: 3n,
    });
    // 1.4.20.254.128.0…0.1.0.0.0.5: ipv6z, 16 octets fe80::1 then zone 0.0.0.5; state connect(2)
    expect(one(p, 'snmp_bgp_peer', { peer: 'fe80::1%5', remote_as: '65002' })).toEqual({ state: 2n, state_name: 'connect', established: false, admin_status: 2n });
    // 1.1.5.10.0.0.2.9: ipv4 with length 5 does not fit RFC 4001; the row keeps its raw index as the peer
    expect(one(p, 'snmp_bgp_peer', { peer: '1.1.5.10.0.0.2.9', remote_as: '65003' })).toMatchObject({ state: 6n });
    expect(find(p, 'snmp_bgp_peer', {})).toHaveLength(3);
    // aristaBgp4V2PrefixGauges 1.1.4.10.0.0.1.1.1: in 1000, accepted 990, out 12
    expect(one(p, 'snmp_bgp_prefixes', { peer: '10.0.0.1', afi: 'ipv4', safi: 'unicast' })).toEqual({ received_prefixes: 1000n, accepted_prefixes: 990n, advertised_prefixes: 12n });
  });

  it('Cisco: cbgpPeer2 IPv4 and IPv6 peers over BGP4-MIB; cbgpPeer2 prefixes over the v1 table', async () => {
    const p = await poll('gen_cisco');
    expect(p.errors).toEqual([]);
    // 1.4.192.0.2.1 (state 6, AS 64500, 100 s) and 2.16.32.1.13.184.0.1.0…0.2 = 2001:db8:1::2 (AS 64520, 200 s)
    expect(one(p, 'snmp_bgp_peer', { peer: '192.0.2.1', remote_as: '64500' })).toEqual({ state: 6n, state_name: 'established', established: true, admin_status: 2n, established_seconds: 100n });
    expect(one(p, 'snmp_bgp_peer', { peer: '2001:db8:1::2', remote_as: '64520' })).toEqual({ state: 6n, state_name: 'established', established: true, admin_status: 2n, established_seconds: 200n });
    expect(find(p, 'snmp_bgp_peer', {})).toHaveLength(2);
    // v1 prefix row 192.0.2.1.1.1 accepted 5 loses to v2 1.4.192.0.2.1.1.1: 800 accepted, 1 denied, 30 advertised
    expect(one(p, 'snmp_bgp_prefixes', { peer: '192.0.2.1', afi: 'ipv4', safi: 'unicast' })).toEqual({ accepted_prefixes: 800n, denied_prefixes: 1n, advertised_prefixes: 30n });
    expect(one(p, 'snmp_bgp_prefixes', { peer: '2001:db8:1::2', afi: 'ipv6', safi: 'unicast' })).toEqual({ accepted_prefixes: 300n, denied_prefixes: 0n, advertised_prefixes: 9n });
    expect(find(p, 'snmp_bgp_prefixes', {})).toHaveLength(2);
    // IP SLA probe 7: tag "wan1", type 9 jitter, sense ok(1), completion 23 ms; probe 8 "dns1", dns(8), timeout(4): its 5000 is not a result
    expect(one(p, 'snmp_ip_sla', { probe: '7', tag: 'wan1', rtt_type: 'jitter' })).toEqual({ rtt_ms: 23, state: 1n, state_name: 'ok', ok: true });
    expect(one(p, 'snmp_ip_sla', { probe: '8', tag: 'dns1', rtt_type: 'dns' })).toEqual({ state: 4n, state_name: 'timeout', ok: false });
  });

  it('Aruba controller: wlsxSysXProcessorTable and wlsxSysXMemoryTable (kB)', async () => {
    const p = await poll('gen_aruba');
    expect(p.errors).toEqual([]);
    // sysXProcessorDescr.1 = "MIPS 1", sysXProcessorLoad.1 = 23
    expect(one(p, 'snmp_cpu', { cpu_index: '1', cpu: 'MIPS 1' })).toEqual({ load_percent: 23 });
    // sysXMemorySize/Used/Free.1 = 1048576 / 786432 / 262144 kB: x 1024; used 786432 / 1048576 = 75 %
    expect(one(p, 'snmp_memory', { pool_index: '1' })).toEqual({ total_bytes: 1073741824n, used_bytes: 805306368n, free_bytes: 268435456n, used_percent: 75 });
  });
});
