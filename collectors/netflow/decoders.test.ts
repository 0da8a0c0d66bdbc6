import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/errors.js';
import { Bytes, buildV5, concat, ipfixMessage, ipfixTemplate, set, v9Message, v9OptionsTemplate, v9Template } from '../../test/helpers/flow-build.js';
import type { DataRecord } from './compile.js';
import { decodeIpfix } from './ipfix.js';
import { OptionsState, normalizeData, normalizeV5 } from './normalize.js';
import { TemplateStore } from './templates.js';
import { decodeV5 } from './v5.js';
import { decodeV9 } from './v9.js';

const EXP = '192.0.2.1:2055';
const V9_TPL: [number, number][] = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [1, 4], [2, 4], [22, 4], [21, 4], [10, 2], [14, 2]];

function v9Data(src: string, dst: string, sp: number, dp: number, bytes: number, pkts: number, first: number, last: number): Uint8Array {
  return new Bytes().ip4(src).ip4(dst).u16(sp).u16(dp).u8(6).u32(bytes).u32(pkts).u32(first).u32(last).u16(3).u16(4).build();
}

describe('NetFlow v5', () => {
  it('decodes header, flows and sampling, and makes times absolute', () => {
    const buf = buildV5({ uptime: 100_000, secs: 1_700_000_000, nsecs: 5_000_000, seq: 42, sampling: (1 << 14) | 100 }, [
      { src: '10.0.0.1', dst: '10.0.0.2', packets: 3, bytes: 180, first: 90_000, last: 99_000, srcPort: 1234, dstPort: 80, proto: 6, tcpFlags: 0x1b, srcAs: 65001 },
    ]);
    const p = decodeV5(buf);
    expect(p.header).toMatchObject({ count: 1, flowSequence: 42, samplingMode: 1, samplingInterval: 100 });
    const [r] = normalizeV5(p, '192.0.2.1');
    expect(r?.fields).toMatchObject({ src_addr: '10.0.0.1', dst_addr: '10.0.0.2', src_port: 1234n, dst_port: 80n, bytes: 180n, packets: 3n, sampling_rate: 100n, tcp_flags: 0x1bn, src_as: 65001n });
    expect(r?.fields['end_ms']).toBe(BigInt(1_700_000_000_005 - 1000));
    expect(r?.fields['start_ms']).toBe(BigInt(1_700_000_000_005 - 10_000));
    expect(r?.timeSource).toBe('exporter');
  });
  it('rejects a count the datagram does not hold', () => {
    const buf = buildV5({ uptime: 1, secs: 1, seq: 0 }, [{ src: '1.1.1.1', dst: '2.2.2.2', packets: 1, bytes: 1, first: 0, last: 0, srcPort: 0, dstPort: 0, proto: 17 }]);
    buf[3] = 2;
    expect(() => decodeV5(buf)).toThrow(DecodeError);
  });
});

describe('NetFlow v9', () => {
  it('learns a template and decodes data in the same and later datagrams', () => {
    const store = new TemplateStore();
    const m1 = decodeV9(v9Message({ uptime: 50_000, secs: 1_700_000_000, seq: 1, sourceId: 7 }, [
      set(0, v9Template(256, V9_TPL)),
      set(256, v9Data('10.1.1.1', '10.2.2.2', 5000, 53, 1500, 10, 40_000, 49_000), 3),
    ]), EXP, store, 0);
    expect(m1.templates).toBe(1);
    expect(m1.records).toHaveLength(1);
    const rec = normalizeData(m1.records[0]!, '192.0.2.1', new OptionsState(), 0);
    expect(rec.tags).toEqual({ exporter: '192.0.2.1', version: '9', domain: '7' });
    expect(rec.fields).toMatchObject({ src_addr: '10.1.1.1', dst_addr: '10.2.2.2', src_port: 5000n, dst_port: 53n, proto: 6n, bytes: 1500n, packets: 10n, in_if: 3n, out_if: 4n, sampling_rate: 1n });
    expect(rec.fields['end_ms']).toBe(1_700_000_000_000n - 1000n);
    const m2 = decodeV9(v9Message({ uptime: 60_000, secs: 1_700_000_010, seq: 2, sourceId: 7 }, [set(256, v9Data('10.1.1.3', '10.2.2.4', 1, 2, 3, 4, 0, 0))]), EXP, store, 0);
    expect(m2.records).toHaveLength(1);
    // another source id of the same exporter has its own template space
    const m3 = decodeV9(v9Message({ uptime: 60_000, secs: 1_700_000_010, seq: 2, sourceId: 8 }, [set(256, v9Data('10.1.1.3', '10.2.2.4', 1, 2, 3, 4, 0, 0))]), EXP, store, 0);
    expect(m3.records).toHaveLength(0);
    expect(m3.parked).toBe(1);
  });

  it('reuses the record objects of the previous message when given spare ones, decoding the same values', () => {
    // generated: two templates of different lengths alternating in one message, slots trade places
    const short: [number, number][] = [[8, 4], [12, 4], [1, 4]];
    const msgs = [0, 1, 2].map((i) =>
      v9Message({ uptime: 50_000, secs: 1_700_000_000, seq: i, sourceId: 7 }, [
        ...(i === 0 ? [set(0, concat(v9Template(256, V9_TPL), v9Template(257, short)))] : []),
        set(i % 2 ? 257 : 256, i % 2 ? new Bytes().ip4('10.0.0.9').ip4('10.0.0.8').u32(77).build() : v9Data('10.1.1.1', '10.2.2.2', 5000, 53, 1500 + i, 10, 40_000, 49_000)),
        set(i % 2 ? 256 : 257, i % 2 ? v9Data('10.1.1.1', '10.2.2.2', 5000, 53, 1500 + i, 10, 40_000, 49_000) : new Bytes().ip4('10.0.0.9').ip4('10.0.0.8').u32(77 + i).build()),
      ]),
    );
    const plain = new TemplateStore();
    const reused = new TemplateStore();
    const spare: DataRecord[] = [];
    let first: DataRecord[] = [];
    msgs.forEach((b, i) => {
      const want = decodeV9(b, EXP, plain, 0).records.map((r) => ({ id: r.tpl.def.id, values: r.values, seq: r.hdr.sequence }));
      const m = decodeV9(b, EXP, reused, 0, spare);
      expect(m.records.map((r) => ({ id: r.tpl.def.id, values: r.values.slice(0, r.tpl.names.length), seq: r.hdr.sequence }))).toEqual(want);
      if (i === 0) first = [...m.records];
      else m.records.forEach((r, k) => expect(r).toBe(first[k]));
    });
    expect(spare).toHaveLength(2);
  });

  it('parks data sets that precede their template and decodes them when it arrives', () => {
    const store = new TemplateStore();
    const data = set(300, v9Data('10.9.9.9', '10.8.8.8', 7, 8, 100, 1, 0, 0));
    const m1 = decodeV9(v9Message({ uptime: 1, secs: 1, seq: 1, sourceId: 0 }, [data]), EXP, store, 1000);
    expect(m1.records).toHaveLength(0);
    expect(m1.parked).toBe(1);
    const m2 = decodeV9(v9Message({ uptime: 2, secs: 2, seq: 2, sourceId: 0 }, [set(0, v9Template(300, V9_TPL))]), EXP, store, 1500);
    expect(m2.fromPending).toBe(1);
    expect(m2.records[0]?.values[0]).toBe(0x0a090909);
    expect(m2.records[0]?.hdr.sequence).toBe(1);
    // expired pending sets are counted, not decoded
    decodeV9(v9Message({ uptime: 1, secs: 1, seq: 3, sourceId: 0 }, [set(301, data.subarray(4))]), EXP, store, 2000);
    expect(store.expire(2000 + 60_000).pendingSets).toBe(1);
    expect(store.stats().pendingExpired).toBe(1);
  });

  it('uses options data: sampler rates and interface names', () => {
    const store = new TemplateStore();
    const state = new OptionsState();
    const opt = v9OptionsTemplate(260, [[1, 4]], [[48, 1], [49, 1], [50, 4]]);
    const optData = new Bytes().u32(0).u8(3).u8(2).u32(512).build();
    const ifOpt = v9OptionsTemplate(261, [[2, 4]], [[82, 8]]);
    const ifData = new Bytes().u32(3).raw(Buffer.from('eth3\0\0\0\0')).build();
    const tpl = v9Template(262, [[8, 4], [12, 4], [1, 4], [48, 1]]);
    const data = new Bytes().ip4('1.1.1.1').ip4('2.2.2.2').u32(1000).u8(3).build();
    const m = decodeV9(v9Message({ uptime: 1, secs: 1, seq: 1, sourceId: 1 }, [set(1, opt, 2), set(260, optData, 2), set(1, ifOpt, 2), set(261, ifData), set(0, tpl), set(262, data)]), EXP, store, 0);
    expect(m.records).toHaveLength(3);
    const changed = m.records.filter((r) => r.tpl.def.options).map((r) => state.apply(r, '192.0.2.1'));
    expect(changed).toEqual([false, true]);
    expect(state.interfaces.get('192.0.2.1')?.get(3)).toEqual({ ifIndex: 3, name: 'eth3' });
    const flow = normalizeData(m.records[2]!, '192.0.2.1', state, 0);
    expect(flow.fields['sampling_rate']).toBe(512n);
    expect(flow.fields['sampler_id']).toBe(3n);
  });

  it('reads a sampling interval of 0 as unsampled unless the other interval element is positive', () => {
    const store = new TemplateStore();
    const tpl = set(0, v9Template(256, [[8, 4], [1, 4], [34, 4], [50, 4]]));
    const rate = (si: number, ri: number): unknown => {
      const m = decodeV9(v9Message({ uptime: 1, secs: 1, seq: 1, sourceId: 1 }, [tpl, set(256, new Bytes().ip4('10.0.0.1').u32(9).u32(si).u32(ri).build())]), EXP, store, 0);
      return normalizeData(m.records[0]!, '192.0.2.1', new OptionsState(), 0).fields['sampling_rate'];
    };
    expect([rate(0, 0), rate(0, 100), rate(64, 0), rate(64, 100)]).toEqual([1n, 100n, 64n, 64n]);
  });

  it('rejects a zero-length flowset instead of looping', () => {
    const buf = v9Message({ uptime: 1, secs: 1, seq: 1, sourceId: 1 }, [new Bytes().u16(256).u16(0).build()]);
    const m = decodeV9(buf, EXP, new TemplateStore(), 0);
    expect(m.errors.map((e) => e.message)).toEqual([expect.stringMatching(/bad_set_length/)]);
    expect(m.records).toEqual([]);
  });
});

describe('IPFIX', () => {
  it('decodes enterprise, variable-length, reduced-size and absolute-time fields', () => {
    const store = new TemplateStore();
    const tpl = ipfixTemplate(400, [[27, 16], [28, 16], [1, 4], [2, 2], [152, 8], [153, 8], [82, 65535], [99, 2, 9], [136, 1]]);
    const v6 = (last: number): number[] => [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last];
    const data = new Bytes().raw(v6(1)).raw(v6(2)).u32(123456).u16(7).u64(1_700_000_000_123n).u64(1_700_000_001_456n).u8(3).raw(Buffer.from('ge0')).u16(0xbeef).u8(2).build();
    const m = decodeIpfix(ipfixMessage({ secs: 1_700_000_002, seq: 10, domain: 5 }, [set(2, tpl), set(400, data, 3)]), EXP, store, 0);
    expect(m.dataRecords).toBe(1);
    const rec = normalizeData(m.records[0]!, '192.0.2.1', new OptionsState(), 0);
    expect(rec.fields).toMatchObject({ src_addr: '2001:db8::1', dst_addr: '2001:db8::2', bytes: 123456n, packets: 7n, interface_name: 'ge0', e9_99: 'beef', flow_end_reason: 2n });
    expect(rec.fields['start_ms']).toBe(1_700_000_000_123n);
    expect(rec.time).toBe(1_700_000_001_456);
    expect(rec.tags['version']).toBe('10');
  });

  it('withdraws templates (one, and all of a set type)', () => {
    const store = new TemplateStore();
    const sets = [set(2, new Bytes().raw(ipfixTemplate(256, [[8, 4]])).raw(ipfixTemplate(257, [[12, 4]])).build())];
    decodeIpfix(ipfixMessage({ secs: 1, seq: 0, domain: 1 }, sets), EXP, store, 0);
    expect(store.stats().templates).toBe(2);
    const w1 = decodeIpfix(ipfixMessage({ secs: 1, seq: 0, domain: 1 }, [set(2, new Bytes().u16(256).u16(0).build())]), EXP, store, 0);
    expect(w1.withdrawn).toBe(1);
    expect(store.get(10, EXP, 1, 256)).toBeUndefined();
    const w2 = decodeIpfix(ipfixMessage({ secs: 1, seq: 0, domain: 1 }, [set(2, new Bytes().u16(2).u16(0).build())]), EXP, store, 0);
    expect(w2.withdrawn).toBe(1);
    expect(store.stats().templates).toBe(0);
  });

  it('applies sampling options (305/306) and system init time for sysUpTime-based flows', () => {
    const store = new TemplateStore();
    const state = new OptionsState();
    const opt = ipfixTemplate(500, [[149, 4], [305, 4], [306, 4], [160, 8]], 1);
    const optData = new Bytes().u32(9).u32(1).u32(99).u64(1_600_000_000_000n).build();
    const tpl = ipfixTemplate(501, [[8, 4], [12, 4], [1, 8], [22, 4], [21, 4]]);
    const data = new Bytes().ip4('1.2.3.4').ip4('5.6.7.8').u64(10n).u32(1000).u32(2000).build();
    const m = decodeIpfix(ipfixMessage({ secs: 1_600_000_100, seq: 0, domain: 9 }, [set(3, opt, 2), set(500, optData), set(2, tpl), set(501, data)]), EXP, store, 0);
    for (const r of m.records) if (r.tpl.def.options) state.apply(r, '192.0.2.1');
    const flow = normalizeData(m.records[1]!, '192.0.2.1', state, 0);
    expect(flow.fields).toMatchObject({ sampling_rate: 100n, start_ms: 1_600_000_001_000n, end_ms: 1_600_000_002_000n });
  });

  it('survives a restart through serialize/load', () => {
    const store = new TemplateStore();
    decodeIpfix(ipfixMessage({ secs: 1, seq: 0, domain: 1 }, [set(2, ipfixTemplate(256, [[8, 4], [99, 65535, 4242]]))]), EXP, store, 0);
    const file = JSON.parse(JSON.stringify(store.serialize())) as unknown;
    const again = new TemplateStore();
    expect(again.load(file, 10)).toBe(1);
    const m = decodeIpfix(ipfixMessage({ secs: 1, seq: 0, domain: 1 }, [set(256, new Bytes().ip4('9.9.9.9').u8(1).u8(0xaa).build())]), EXP, again, 10);
    expect(m.records[0]?.values).toEqual([0x09090909, Uint8Array.from([0xaa])]);
    expect(again.load({ format: 'nope' }, 0)).toBe(0);
  });

  it('caps the store by evicting the oldest template', () => {
    const store = new TemplateStore({ maxTemplates: 2 });
    for (const id of [256, 257, 258]) store.set(EXP, 0, { version: 10, id, scopeCount: 0, options: false, fields: [{ id: 8, pen: 0, length: 4 }] }, 0);
    expect(store.get(10, EXP, 0, 256)).toBeUndefined();
    expect(store.stats()).toMatchObject({ templates: 2, evicted: 1 });
  });

  it('refuses new templates from a session that already holds its share', () => {
    const store = new TemplateStore({ maxPerSession: 2 });
    const def = (id: number) => ({ version: 10 as const, id, scopeCount: 0, options: false, fields: [{ id: 8, pen: 0, length: 4 }] });
    expect([256, 257, 258].map((id) => store.set(EXP, 0, def(id), 0))).toEqual(['added', 'added', 'refused']);
    expect(store.set(EXP, 0, def(257), 1)).toBe('unchanged');
    expect(store.set('192.0.2.2:2055', 0, def(256), 0)).toBe('added');
    expect(store.stats()).toMatchObject({ templates: 3, refused: 1 });
  });

  it('applies sampling rates scoped to an interface to the flows of that interface, also after persistence', () => {
    const store = new TemplateStore();
    const state = new OptionsState();
    const opt = ipfixTemplate(600, [[10, 4], [305, 4], [306, 4]], 1);
    const optData = new Bytes().u32(3).u32(1).u32(99).u32(4).u32(1).u32(9).build();
    const tpl = ipfixTemplate(601, [[8, 4], [10, 4], [1, 4]]);
    const data = new Bytes().ip4('1.1.1.1').u32(3).u32(1).ip4('1.1.1.2').u32(4).u32(1).ip4('1.1.1.3').u32(5).u32(1).build();
    const m = decodeIpfix(ipfixMessage({ secs: 1, seq: 0, domain: 2 }, [set(3, opt, 2), set(600, optData), set(2, tpl), set(601, data)]), EXP, store, 0);
    for (const r of m.records) if (r.tpl.def.options) state.apply(r, '192.0.2.1');
    const rates = (st: OptionsState) =>
      m.records.filter((r) => !r.tpl.def.options).map((r) => normalizeData(r, '192.0.2.1', st, 0).fields['sampling_rate']);
    // interface 3: 1 in 100, interface 4: 1 in 10, others: the domain rate (the last one learned)
    expect(rates(state)).toEqual([100n, 10n, 10n]);
    const again = new OptionsState();
    again.load(JSON.parse(JSON.stringify(state.serialize())) as unknown);
    expect(rates(again)).toEqual([100n, 10n, 10n]);
  });
});
