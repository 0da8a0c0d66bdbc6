import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FlowRecord, NetRecord } from '../../src/record/record.js';
import { ipv4ToString } from '../../src/wire/reader.js';
import { hexToBytes } from '../../test/helpers/hex.js';
import { Bytes, ipfixMessage, ipfixTemplate, set, v9Message, v9OptionsTemplate, v9Template, type FieldDef } from '../../test/helpers/flow-build.js';
import { switchFlowSample } from '../../bench/sflow-traffic.js';
import { TemplateStore } from '../netflow/templates.js';
import { goldenCases } from '../sflow/goldencases.js';
import { normalizeSflow } from '../sflow/normalize.js';
import { datagram } from '../sflow/testutil.js';
import { SampledPacket, type FlowSample } from '../sflow/types.js';
import { OptionsState } from '../netflow/options.js';
import { addressKey, copyView, parseIpv4, viewFromRecord } from '../../test/helpers/recordview.js';
import { Producer } from './producer.js';
import { DIMENSIONS, dimKey, FlowView, keyText } from './view.js';
import { FlowProcessor } from './processor.js';

/**
 * Aggregation reads the producer's view (producer.ts) while raw export writes Records. Run with raw
 * export on, the processor does both for every flow: the view must agree exactly with the one the
 * Record describes (read back from its fields), or a dashboard would show one flow two ways.
 */
function pairs(datagrams: Uint8Array[]): { fromData: FlowView; fromRecord: FlowView }[] {
  const out: { fromData: FlowView; fromRecord: FlowView }[] = [];
  // views are handed over before the raw Records of the same datagram, one per flow, in order
  const pending: FlowView[] = [];
  const p = new FlowProcessor({ collector: 'flow', store: new TemplateStore(), raw: true, maxExporters: 10 }, {
    emit: (r: NetRecord) => {
      if (r.kind !== 'flow' || r.measurement !== 'flow') return;
      const fromData = pending.shift();
      expect(fromData, 'a raw flow record without aggregation keys').toBeDefined();
      out.push({ fromData: fromData as FlowView, fromRecord: viewFromRecord(r) });
    },
    aggregate: (k) => void pending.push(copyView(k)),
    interfaces: () => undefined,
    clockOffset: () => undefined,
    internalError: (e) => {
      throw e;
    },
  });
  datagrams.forEach((d, i) => p.handle(d, '192.0.2.9', 2055, 1_700_000_000_000 + i));
  expect(pending, 'aggregation keys without a raw flow record').toEqual([]);
  return out;
}

describe('flow view', () => {
  it('agree between decoded values and Records on every netflow golden case', () => {
    const root = join(import.meta.dirname, '../netflow/testcases');
    let n = 0;
    for (const c of readdirSync(root)) {
      const files = readdirSync(join(root, c)).filter((f) => f.endsWith('.hex')).sort();
      for (const { fromData, fromRecord } of pairs(files.map((f) => hexToBytes(readFileSync(join(root, c, f), 'utf8'))))) {
        expect(fromData).toEqual(fromRecord);
        n++;
      }
    }
    expect(n).toBeGreaterThan(5);
  });

  it('agree between sFlow samples and Records on the sFlow golden cases and switch-like traffic', () => {
    const traffic = Array.from({ length: 40 }, (_, d) =>
      datagram({ agent: '192.0.2.9', sequence: d, uptimeMs: 1000, samples: Array.from({ length: 7 }, (_, s) => switchFlowSample(d * 7 + s, d * 7 + s + 1)) }),
    );
    let n = 0;
    for (const c of [...goldenCases().map((g) => g.datagrams), traffic]) {
      for (const { fromData, fromRecord } of pairs(c)) {
        expect(fromData).toEqual(fromRecord);
        n++;
      }
    }
    expect(n).toBeGreaterThan(280);
  });

  it('agree between sFlow samples and Records on random sample contents (property)', () => {
    const u = (max: number) => fc.option(fc.integer({ min: 0, max }), { nil: undefined });
    const addr = fc.option(fc.oneof(fc.ipV4(), fc.constantFrom('2001:db8::1', '::', '')), { nil: undefined });
    const packet = fc.record({
      proto: u(255), srcAs: u(0xffffffff), dstAs: u(0xffffffff), srcPort: u(65535), dstPort: u(65535), tos: u(255),
      srcVlan: u(4095), vlan: u(4095), nextHop: addr, bgpNextHop: addr, srcAddr: addr, dstAddr: addr,
      frameLength: u(9000), ipLength: u(9000),
    });
    const ifRef = fc.record({ format: fc.integer({ min: 0, max: 3 }), value: fc.integer({ min: 0, max: 0x3fffffff }) });
    fc.assert(
      fc.property(packet, ifRef, ifRef, fc.nat(), (pk, input, output, samplingRate) => {
        const p = Object.assign(new SampledPacket(), Object.fromEntries(Object.entries(pk).filter(([, v]) => v !== undefined)));
        // the decoder sets each address's key with its text (header.ts, flowrecords.ts, xdr.ts)
        if (p.srcAddr !== undefined) p.srcKey = addressKey(p.srcAddr);
        if (p.dstAddr !== undefined) p.dstKey = addressKey(p.dstAddr);
        if (p.nextHop !== undefined) p.nextHopKey = addressKey(p.nextHop);
        if (p.bgpNextHop !== undefined) p.bgpNextHopKey = addressKey(p.bgpNextHop);
        const s: FlowSample = { kind: 'flow', sequence: 1, source: { type: 0, index: 1 }, expanded: false, samplingRate, samplePool: 0, drops: 0, input, output, packet: p };
        const [r] = normalizeSflow({ version: 5, agent: '192.0.2.9', agentAddressType: 1, subAgentId: 0, sequence: 1, uptimeMs: 5, samples: [s] }, '192.0.2.9', 0);
        expect(r?.kind).toBe('flow');
        expect(copyView(new Producer(new OptionsState()).sflow(s, '192.0.2.9', 0, 0))).toEqual(viewFromRecord(r as FlowRecord));
      }),
      { numRuns: 500 },
    );
  });

  // elements with a schema name, times, sampling, and the odd encodings: reduced size, IPv6, octets
  const POOL: FieldDef[] = [
    [8, 4], [12, 4], [15, 4], [27, 16], [28, 16], [62, 16], [1, 4], [1, 8], [1, 2], [2, 4], [2, 8], [4, 1], [5, 1], [6, 1],
    [6, 2], [7, 2], [11, 2], [10, 2], [10, 4], [14, 2], [14, 4], [16, 2], [16, 4], [17, 4], [58, 2], [243, 2], [34, 4],
    [48, 1], [21, 4], [22, 4], [152, 8], [153, 8], [61, 1], [10, 3], [7, 1],
    // volume fallbacks (total, initiator/responder counters) and BGP next hops of both families
    [85, 8], [86, 4], [231, 4], [232, 8], [298, 4], [299, 2], [18, 4], [63, 16],
  ];
  const template = fc.uniqueArray(fc.constantFrom(...POOL.keys()), { minLength: 1, maxLength: 14 }).map((ix) => ix.map((i) => POOL[i] as FieldDef));

  it('agree on random v9 and IPFIX templates and data (property)', () => {
    let n = 0;
    fc.assert(
      fc.property(template, fc.boolean(), fc.integer({ min: 1, max: 4 }), fc.uint8Array({ minLength: 600, maxLength: 600 }), (fields, ipfix, count, bytes) => {
        const len = fields.reduce((s, [, l]) => s + l, 0);
        const data = bytes.subarray(0, Math.min(600, len * count));
        const dgrams = ipfix
          ? [ipfixMessage({ secs: 1_700_000_000, seq: 0, domain: 3 }, [set(2, ipfixTemplate(300, fields)), set(300, data)])]
          : [
              v9Message({ uptime: 5_000_000, secs: 1_700_000_000, seq: 0, sourceId: 3 }, [
                set(0, v9Template(300, fields)),
                // a domain-wide sampling rate from options data (v9 scope 1 = system)
                set(1, v9OptionsTemplate(301, [[1, 4]], [[34, 4]])),
                set(301, new Bytes().u32(0).u32(64).build()),
              ]),
              v9Message({ uptime: 5_000_100, secs: 1_700_000_001, seq: 1, sourceId: 3 }, [set(300, data)]),
            ];
        for (const { fromData, fromRecord } of pairs(dgrams)) {
          expect(fromData).toEqual(fromRecord);
          n++;
        }
      }),
      { numRuns: 400 },
    );
    // most runs decode (a random template can still be one the decoder rightly refuses)
    expect(n).toBeGreaterThan(400);
  });

  it('print as the Record fields would', () => {
    const k = viewFromRecord({ kind: 'flow', measurement: 'flow', tags: { exporter: 'e', version: '9' }, time: 0, timeSource: 'collector', fields: { src_addr: '10.1.2.3', dst_addr: '2001:db8::1', in_if: 7n, src_as: 4_200_000_000n, bytes: 10n } });
    const text = Object.fromEntries(DIMENSIONS.map((d, i) => [d, keyText(i, dimKey(k, i))]));
    expect(text).toMatchObject({ exporter: 'e', version: '9', src_addr: '10.1.2.3', dst_addr: '2001:db8::1', in_if: '7', src_as: '4200000000', out_if: '' });
  });

  it('put each Record field under its own dimension', () => {
    for (const [i, d] of DIMENSIONS.entries()) {
      if (i < 2) continue; // exporter and version are tags
      const k = viewFromRecord({ kind: 'flow', measurement: 'flow', tags: {}, time: 0, timeSource: 'collector', fields: { [d]: 7n } });
      expect(DIMENSIONS.map((_, j) => dimKey(k, j)).map((v, j) => (j < 2 ? v === '' : j === i ? v === 7 : v === ''))).toEqual(DIMENSIONS.map(() => true));
    }
  });

  it('parse only canonical dotted quads as IPv4', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => parseIpv4(ipv4ToString(n)) === n));
    for (const s of ['010.0.0.1', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '::ffff:1.2.3.4', '1.2.3.4 ', '']) expect(parseIpv4(s)).toBe(-1);
  });
});
