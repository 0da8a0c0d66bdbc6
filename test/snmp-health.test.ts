/**
 * The health profiles on recorded walks served by snmpsim, polled by the real DevicePoller:
 * - Debian's recorded Cisco Catalyst 3750 (real device) and Linux net-snmp walk (real host), both
 *   read from the snmpsim package at run time and never copied into the repository;
 * - three trimmed DataDog test recordings (test/fixtures/snmprec, BSD-3-Clause, see each
 *   *.SOURCE.md: partly synthetic values, used for OIDs, types and arithmetic);
 * - a generated recording (helpers/health-recording.ts, labelled) for sensor scaling, optics, BGP, LLDP and ENTITY-STATE
 *   edge cases no shippable real recording has;
 * - a device that has none of the MIBs.
 * Expected values are worked out by hand from the recording lines quoted next to each assertion.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENT_NAME } from '../collectors/snmp/health/standard.js';
import { statfsSync } from 'node:fs';
import { startSnmpd } from './helpers/snmpd.js';
import { find, one, pollDevice } from './helpers/health-poll.js';
import { edgeRecording } from './helpers/health-recording.js';
import { CISCO_COMMUNITY, startSnmpsim, type Snmpsim } from './helpers/snmpsim.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'snmprec');
const fixture = (name: string) => readFileSync(join(FIXTURES, `${name}.snmprec`), 'utf8');

function debianLinuxWalk(): string {
  const f = execFileSync('dpkg', ['-L', 'snmpsim'], { encoding: 'utf8' })
    .split('\n')
    .find((l) => l.endsWith('/linux-full-walk.snmprec.gz'));
  if (!f) throw new Error('snmpsim recording linux-full-walk not found (dpkg -L snmpsim)');
  return gunzipSync(readFileSync(f)).toString('utf8');
}

let sim: Snmpsim;
beforeAll(async () => {
  sim = await startSnmpsim({
    linux_full_walk: debianLinuxWalk(),
    fortigate: fixture('fortigate-501e'),
    pa_vm: fixture('pa-vm'),
    arista: fixture('arista-sensors'),
    edge: edgeRecording(),
    // GENERATED: a device with the system group only (an unknown enterprise)
    nomib: '1.3.6.1.2.1.1.1.0|4|no health MIBs\n1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1\n',
  });
}, 60_000);
afterAll(async () => {
  await sim?.stop();
});

const poll = (community: string, extra: Record<string, unknown> = {}, times = 1, gapMs = 0) => pollDevice(sim.port, community, extra, times, gapMs);

describe('Cisco Catalyst 3750 (Debian snmpsim recording, sysObjectID 1.3.6.1.4.1.9.1.516)', () => {
  it('CPU, memory pools, fan and PSU state, found by sysObjectID', async () => {
    const p = await poll(CISCO_COMMUNITY);
    expect(p.errors).toEqual([]);
    // cpmCPUTotal1minRev.1 = 53, cpmCPUTotal5minRev.1 = 25 (…9.9.109.1.1.1.1.7.1 / .8.1)
    expect(one(p, 'snmp_cpu', { cpu_index: '1' })).toEqual({ load_percent: 53, load_5m_percent: 25 });
    // ciscoMemoryPoolName.1 = Processor, Used.1 = 34973844, Free.1 = 33184936 (bytes)
    const proc = one(p, 'snmp_memory', { pool: 'Processor' });
    expect(proc).toMatchObject({ used_bytes: 34973844n, free_bytes: 33184936n, total_bytes: 68158780n });
    expect(proc.used_percent).toBeCloseTo(51.3123, 3);
    // pool 2 "I/O": 8710324 used + 3872588 free; pool 16 "Driver text": 40 + 1048536
    expect(one(p, 'snmp_memory', { pool: 'I/O' })).toMatchObject({ total_bytes: 12582912n });
    expect(one(p, 'snmp_memory', { pool: 'Driver text' })).toMatchObject({ used_bytes: 40n, total_bytes: 1048576n });
    // ciscoEnvMonFanStatusDescr.3004 = "Switch#3, Fan#1", State = 1; Supply .3003 "Sw3, PS1 Normal, RPS NotExist", State = 1
    expect(one(p, 'snmp_component', { kind: 'fan', component: 'Switch#3, Fan#1' })).toEqual({ state: 1n, state_name: 'normal', ok: true });
    expect(one(p, 'snmp_component', { kind: 'psu', component: 'Sw3, PS1 Normal, RPS NotExist' })).toEqual({ state: 1n, state_name: 'normal', ok: true });
    // the recording has no ENTITY-SENSOR, ENTITY-STATE, bgpPeerTable rows, LLDP, CISCO-ENTITY-SENSOR or CISCO-RTTMON
    expect(p.infos).toHaveLength(1);
    expect(p.infos[0]).toContain('entity_sensors, entity_state, bgp_peers, lldp_neighbors, cisco_sensors, cisco_bgp_prefixes, cisco_ip_sla found nothing');
  });

  it('polled again and again: no error storm and no second line; no column walked twice, none of a table the device lacks', async () => {
    // health_interval below half the interval: due on every poll; the 3 s interval gives a 2.4 s budget
    const p = await poll(CISCO_COMMUNITY, { interval: '3s', health_interval: '1s' }, 3, 100);
    expect(p.errors).toEqual([]);
    expect(p.stats.every((s) => s.ok)).toBe(true);
    expect(p.infos).toHaveLength(1);
    expect(find(p, 'snmp_cpu', { cpu_index: '1' })).toHaveLength(3);
    for (const w of p.walks) {
      // the recording has no ENTITY-SENSOR, ENTITY-STATE or CISCO-ENTITY-SENSOR value rows: their tables stop at the key column
      expect(w.filter((o) => o === ENT_NAME)).toHaveLength(0);
      expect(new Set(w).size).toBe(w.length);
    }
  });

  it('entPhysicalName walked once per poll though three profiles use it (generated recording with all three MIBs)', async () => {
    const p = await poll('edge', { interval: '3s', health_interval: '1s' }, 3, 100);
    expect(p.errors).toEqual([]);
    // entity_sensors ("Inlet Temp"), cisco_sensors ("Te1/1 Rx Power") and entity_state all named rows from it, on each of the 3 polls
    expect(find(p, 'snmp_sensor', { sensor: 'Inlet Temp' })).toHaveLength(3);
    expect(find(p, 'snmp_sensor', { sensor: 'Te1/1 Rx Power' })).toHaveLength(3);
    expect(find(p, 'snmp_entity_state', { entity: 'Inlet Temp' })).toHaveLength(3);
    for (const w of p.walks) {
      expect(w.filter((o) => o === ENT_NAME)).toHaveLength(1);
      expect(new Set(w).size).toBe(w.length);
    }
  });

  it('health profiles keep their 60 s interval when the device polls every 2 s', async () => {
    const p = await poll(CISCO_COMMUNITY, { interval: '2s', profiles: ['system', 'health'] }, 2, 1100);
    expect(find(p, 'snmp_system', {})).toHaveLength(2);
    expect(find(p, 'snmp_cpu', { cpu_index: '1' })).toHaveLength(1);
  });
});

describe('Linux net-snmp (Debian snmpsim recording linux-full-walk, sysObjectID 1.3.6.1.4.1.8072.3.2.10)', () => {
  it('UCD memory and load in base units', async () => {
    const p = await poll('linux_full_walk');
    expect(p.errors).toEqual([]);
    // memTotalReal 1021976, memAvailReal 63676, memBuffer 23936, memCached 207212, memTotalSwap 987988, memAvailSwap 960556 (kB)
    const m = one(p, 'snmp_memory', { pool: 'system' });
    expect(m).toMatchObject({
      total_bytes: 1046503424n,
      free_bytes: 65204224n,
      buffers_bytes: 24510464n,
      cached_bytes: 212185088n,
      used_bytes: 744603648n, // (1021976 - 63676 - 23936 - 207212) x 1024
      swap_total_bytes: 1011699712n,
      swap_free_bytes: 983609344n,
    });
    expect(m.used_percent).toBeCloseTo(71.1516, 3);
    // laLoadInt.1/.2/.3 = 46, 13, 2
    expect(one(p, 'snmp_load', {})).toEqual({ load1: 0.46, load5: 0.13, load15: 0.02 });
    // hrProcessorLoad.768 = 13, .769 = 9; hrDeviceDescr of both "GenuineIntel: Intel(R) Pentium(R) 4 CPU 3.00GHz"
    expect(one(p, 'snmp_cpu', { cpu_index: '768', cpu: 'GenuineIntel: Intel(R) Pentium(R) 4 CPU 3.00GHz' })).toEqual({ load_percent: 13 });
    expect(one(p, 'snmp_cpu', { cpu_index: '769' })).toEqual({ load_percent: 9 });
    // hrDeviceDescr rows of disks and network interfaces have no load: no snmp_cpu record
    expect(find(p, 'snmp_cpu', {})).toHaveLength(2);
    // no dskTable (snmpd had no disk directive) and no standard health MIB: said once
    expect(p.infos).toEqual(['snmp: linux_full_walk: profiles entity_sensors, entity_state, bgp_peers, lldp_neighbors, ucd_disk found nothing (the device does not answer their MIBs); polling them on']);
  });
});

describe('DataDog test recordings (partly synthetic values; fixtures/snmprec/*.SOURCE.md)', () => {
  it('FortiGate 501E with vendor: fortinet (its recording types sysObjectID as a string, so no auto-detection)', async () => {
    const auto = await poll('fortigate');
    expect(find(auto, 'snmp_cpu', {})).toEqual([]);
    const p = await poll('fortigate', { vendor: 'fortinet' });
    expect(p.errors).toEqual([]);
    // fgSysCpuUsage = 10, fgSysMemUsage = 29, fgSysMemCapacity = 2289080295 kB, fgSysSesCount = 2483533213
    expect(one(p, 'snmp_cpu', { cpu_index: 'system' })).toEqual({ load_percent: 10 });
    expect(one(p, 'snmp_memory', { pool: 'system' })).toEqual({ used_percent: 29, total_bytes: 2344018222080n, used_bytes: 679765284403n, free_bytes: 1664252937677n });
    expect(one(p, 'snmp_firewall', {})).toEqual({ sessions_active: 2483533213n });
  });

  it('PA-VM, Palo Alto picked from sysObjectID 1.3.6.1.4.1.25461.2.3.18', async () => {
    const p = await poll('pa_vm');
    // panSessionUtilization = 16, panSessionMax = 1, panSessionActive = 13
    expect(one(p, 'snmp_firewall', {})).toEqual({ session_used_percent: 16, sessions_max: 1n, sessions_active: 13n });
  });

  it('Arista ENTITY-SENSOR rows: type, scale and precision applied', async () => {
    const p = await poll('arista');
    // row 1: type 11 (cmm), scale 12 (giga, 10^9), precision 4, value 18, status 3 -> 18 x 10^9 x 10^-4
    expect(one(p, 'snmp_sensor', { sensor_index: '1' })).toEqual({ value: 1.8e6, oper_status: 3n });
    expect(find(p, 'snmp_sensor', { sensor_index: '1' })[0]?.tags.sensor_type).toBe('cmm');
    // row 7: type 8 (celsius), scale 6 (nano, 10^-9), precision 3, value 3 -> 3 x 10^-12
    expect(one(p, 'snmp_sensor', { sensor_index: '7', sensor_type: 'celsius' }).value).toBeCloseTo(3e-12, 20);
  });
});

describe('generated edge cases (helpers/health-recording.ts)', () => {
  it('sensors in base units, optics in dBm, ENTITY-STATE, BGP peers and LLDP neighbors', async () => {
    const p = await poll('edge');
    expect(p.errors).toEqual([]);
    expect(one(p, 'snmp_sensor', { sensor: 'Inlet Temp', sensor_type: 'celsius' })).toEqual({ value: 25.3, oper_status: 1n });
    expect(one(p, 'snmp_sensor', { sensor: '3.3V rail', sensor_type: 'volts_dc' }).value).toBe(3.3);
    // `other` with unitsDisplay "dBm" is an optic
    expect(one(p, 'snmp_sensor', { sensor: 'Te1/2 Tx Power', sensor_type: 'dbm' }).value).toBe(-2.5);
    expect(one(p, 'snmp_sensor', { sensor: 'Fan 1', sensor_type: 'rpm' })).toEqual({ value: 5400, oper_status: 2n });
    // CISCO-ENTITY-SENSOR dBm(14), precision 1: -31 -> -3.1
    expect(one(p, 'snmp_sensor', { sensor: 'Te1/1 Rx Power', sensor_type: 'dbm' })).toEqual({ value: -3.1, oper_status: 1n });
    expect(one(p, 'snmp_entity_state', { entity: 'Inlet Temp' })).toEqual({ admin_state: 4n, oper_state: 3n, usage_state: 3n, standby_state: 4n, ok: true });
    expect(one(p, 'snmp_bgp_peer', { peer: '192.0.2.1', remote_as: '64500' })).toEqual({
      state: 6n,
      state_name: 'established',
      established: true,
      admin_status: 2n,
      in_updates: 10n,
      out_updates: 20n,
      in_messages: 100n,
      out_messages: 200n,
      established_transitions: 1n,
      established_seconds: 3600n,
    });
    expect(one(p, 'snmp_bgp_prefixes', { peer: '192.0.2.1', afi: 'ipv4', safi: 'unicast' })).toEqual({ accepted_prefixes: 812n, denied_prefixes: 3n, advertised_prefixes: 40n });
    expect(one(p, 'snmp_bgp_peer', { peer: '192.0.2.2' })).toMatchObject({ state_name: 'active', established: false });
    expect(one(p, 'snmp_cpu', { cpu_index: '1' })).toEqual({ load_percent: 12, load_5m_percent: 9 });
    expect(one(p, 'snmp_memory', { pool: 'Processor' })).toEqual({ used_bytes: 300000000n, free_bytes: 100000000n, total_bytes: 400000000n, used_percent: 75 });
    expect(one(p, 'snmp_component', { kind: 'psu', component: 'PSU 2' })).toEqual({ state: 3n, state_name: 'critical', ok: false });
    const n = find(p, 'snmp_lldp_neighbor', { local_port: '5', remote_index: '1', neighbor: 'core1' });
    expect(n).toHaveLength(1);
    expect(n[0]?.tags.lldp_index).toBeUndefined();
    expect(n[0]?.fields).toEqual({ chassis_id_subtype: 4n, chassis_id: '00:11:22:33:44:55', port_id_subtype: 5n, port_id: 'Gi0/1', port_descr: 'uplink', sys_descr: 'Cisco IOS' });
  });

  it('a device without any of the MIBs: no error, one line naming the profiles that found nothing', async () => {
    const p = await poll('nomib', { interval: '3s', health_interval: '1s' }, 3, 100);
    expect(p.errors).toEqual([]);
    expect(p.stats.every((s) => s.ok && s.errors === 0)).toBe(true);
    expect(p.infos).toEqual(['snmp: nomib: profiles entity_sensors, entity_state, bgp_peers, lldp_neighbors found nothing (the device does not answer their MIBs); polling them on']);
    expect(p.records.filter((r) => r.measurement !== 'snmp_poll')).toEqual([]);
  });
});

describe('a live Debian snmpd (net-snmp, this machine)', () => {
  it('UCD memory and disk equal what the kernel says, and the load averages are there', async () => {
    const snmpd = await startSnmpd('disk /');
    try {
      const p = await poll('public', { port: snmpd.port });
      expect(p.errors).toEqual([]);
      // memTotalReal is /proc/meminfo MemTotal (kB)
      const memTotalKb = BigInt(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? '0');
      expect(one(p, 'snmp_memory', { pool: 'system' }).total_bytes).toBe(memTotalKb * 1024n);
      // dskTotal for / is statvfs f_blocks x f_frsize
      const fs = statfsSync('/', { bigint: true });
      expect(one(p, 'snmp_disk', { path: '/' }).total_bytes).toBe(fs.blocks * fs.bsize);
      const load = one(p, 'snmp_load', {});
      expect(typeof load.load1).toBe('number');
      // (hrProcessorLoad appears only after the agent's first minute, so hr_cpu is not asserted here)
    } finally {
      await snmpd.stop();
    }
  });
});
