import { describe, expect, it } from 'vitest';
import { decodeSflow } from './index.js';
import type { CounterSample } from './types.js';
import { Xdr, counterSample, datagram, genericCounters, record, u32Block } from './testutil.js';

function counters(records: Parameters<typeof counterSample>[0]['records'], sourceIndex = 1): CounterSample {
  const s = decodeSflow(datagram({ samples: [counterSample({ sourceIndex, records })] })).samples[0];
  if (s?.kind !== 'counters') throw new Error('expected counters');
  return s;
}

function block(s: CounterSample, name: string): Record<string, number | bigint> {
  const b = s.blocks.find((x) => x.name === name);
  if (!b) throw new Error(`no ${name} block`);
  return b.values;
}

describe('sFlow counter records', () => {
  it('decodes Ethernet (dot3) counters, leaving out all-ones "unknown" values', () => {
    const words = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xffffffff];
    const s = counters([u32Block(2, words)]);
    const v = block(s, 'ethernet');
    expect(v.dot3_alignment_errors).toBe(1n);
    expect(v.dot3_fcs_errors).toBe(2n);
    expect(v.dot3_internal_mac_receive_errors).toBe(12n);
    expect('dot3_symbol_errors' in v).toBe(false);
    expect(s.blocks[0]?.group).toBe('interface');
  });

  it('decodes VLAN counters', () => {
    const s = counters([record(5, (x) => x.u32(300).u64(2n ** 36n).u32(10).u32(20).u32(30).u32(40))]);
    expect(block(s, 'vlan')).toEqual({ vlan_id: 300n, octets: 2n ** 36n, ucast_pkts: 10n, mcast_pkts: 20n, bcast_pkts: 30n, discards: 40n });
  });

  it('decodes processor counters (hundredths of a percent become percent)', () => {
    const s = counters([record(1001, (x) => x.u32(1250).u32(5000).u32(10000).u64(8n << 30n).u64(3n << 30n))]);
    expect(block(s, 'processor')).toEqual({ cpu_5s_percent: 12.5, cpu_1m_percent: 50, cpu_5m_percent: 100, mem_total: 8n << 30n, mem_free: 3n << 30n });
  });

  it('decodes host_descr, host_parent, host_cpu (old 17-field and current 20-field), memory, disk, net', () => {
    const uuid = Uint8Array.from({ length: 16 }, (_, i) => i);
    const cpu = (x: Xdr, extra: boolean): void => {
      x.f32(0.5).f32(0.25).f32(0.125);
      for (let i = 0; i < 14; i++) x.u32(100 + i);
      if (extra) x.u32(7).u32(8).u32(9);
    };
    const s = counters([
      record(2000, (x) => x.string('web-1').fixed(uuid).u32(3).u32(2).string('6.1.0')),
      record(2002, (x) => x.u32(2).u32(99)),
      record(2003, (x) => cpu(x, false)),
      record(2004, (x) => {
        for (let i = 0; i < 7; i++) x.u64(BigInt(i + 1) << 20n);
        x.u32(1).u32(2).u32(3).u32(4);
      }),
      record(2005, (x) => x.u64(1000n).u64(400n).u32(6075).u32(5).u64(4096n).u32(6).u32(7).u64(8192n).u32(8)),
      record(2006, (x) => x.u64(111n).u32(1).u32(2).u32(3).u64(222n).u32(4).u32(5).u32(6)),
    ], 0x100000);
    expect(s.hostDescr).toEqual({ hostname: 'web-1', uuid: '00010203-0405-0607-0809-0a0b0c0d0e0f', machineType: 3, osName: 2, osRelease: '6.1.0' });
    expect(s.parent).toEqual({ type: 2, index: 99 });
    const c = block(s, 'host_cpu');
    expect(c.load_one).toBeCloseTo(0.5);
    expect(c.proc_run).toBe(100n);
    expect(c.contexts).toBe(113n);
    expect('cpu_steal_ms' in c).toBe(false);
    expect(block(s, 'host_memory')).toMatchObject({ mem_total: 1n << 20n, swap_free: 7n << 20n, swap_out: 4n });
    expect(block(s, 'host_disk')).toMatchObject({ disk_total: 1000n, disk_part_max_used_percent: 60.75, disk_bytes_written: 8192n, disk_write_time_ms: 8n });
    expect(block(s, 'host_net')).toEqual({ nio_bytes_in: 111n, nio_pkts_in: 1n, nio_errs_in: 2n, nio_drops_in: 3n, nio_bytes_out: 222n, nio_pkts_out: 4n, nio_errs_out: 5n, nio_drops_out: 6n });
    const full = counters([record(2003, (x) => cpu(x, true))]);
    expect(block(full, 'host_cpu')).toMatchObject({ cpu_steal_ms: 7n, cpu_guest_ms: 8n, cpu_guest_nice_ms: 9n });
  });

  it('decodes virtual machine structures (2100-2104) and the MIB-II host groups', () => {
    const s = counters([
      record(2100, (x) => x.u32(2400).u32(8).u64(64n << 30n).u64(10n << 30n).u32(3)),
      record(2101, (x) => x.u32(1).u32(5000).u32(2)),
      record(2102, (x) => x.u64(1n << 30n).u64(2n << 30n)),
      record(2103, (x) => x.u64(10n).u64(9n).u64(1n).u32(2).u64(3n).u32(4).u64(5n).u32(0)),
      record(2104, (x) => x.u64(7n).u32(1).u32(0).u32(0).u64(8n).u32(2).u32(0).u32(0)),
      u32Block(2010, [1, 2, 3, 4, 5, 6, 7]),
    ]);
    expect(block(s, 'virt_node')).toMatchObject({ vnode_mhz: 2400n, vnode_cpus: 8n, vnode_domains: 3n });
    expect(block(s, 'virt_cpu')).toEqual({ vm_state: 1n, vm_cpu_time_ms: 5000n, vm_vcpus: 2n });
    expect(block(s, 'virt_memory')).toEqual({ vm_memory: 1n << 30n, vm_max_memory: 2n << 30n });
    expect(block(s, 'virt_disk')).toMatchObject({ vm_disk_capacity: 10n, vm_disk_wr_bytes: 5n });
    expect(block(s, 'virt_net')).toMatchObject({ vm_nio_bytes_in: 7n, vm_nio_pkts_out: 2n });
    expect(block(s, 'host_udp')).toMatchObject({ udp_in_datagrams: 1n, udp_no_ports: 2n, udp_rcvbuf_errors: 5n, udp_in_csum_errors: 7n });
  });

  it('reads port_name and skips unknown or vendor counter records by length', () => {
    const s = counters([
      record(1005, (x) => x.string('Ethernet12')),
      record((4413 << 12) | 3, (x) => x.u32(1).u32(2)),
      record(7, (x) => x.u64(1n).u64(2n)),
      genericCounters({ ifIndex: 12, inOctets: 1n, inUcast: 1, outOctets: 2n, outUcast: 2 }),
    ]);
    expect(s.portName).toBe('Ethernet12');
    expect(s.skippedRecords).toBe(2);
    expect(s.generic?.ifIndex).toBe(12);
  });

  it('fails a generic counter record that is shorter than 88 bytes', () => {
    const short = record(1, (x) => x.u32(1).u32(6).u64(1n));
    expect(() => decodeSflow(datagram({ samples: [counterSample({ records: [short] })] }))).toThrow(/if_counters/);
  });
});
