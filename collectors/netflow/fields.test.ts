import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import type { FlowRecord, NetRecord } from '../../src/record/record.js';
import { Bytes, ipfixMessage, ipfixTemplate, set } from '../../test/helpers/flow-build.js';
import { hexToBytes } from '../../test/helpers/hex.js';
import { Aggregator } from '../flow/aggregate.js';
import { fieldEntries, flowConfigSchema, mappedAddresses, mappedDimensions } from '../flow/config.js';
import { ip6KeyFromText } from '../../src/wire/ip6key.js';
import { copyView, viewFromRecord } from '../../test/helpers/recordview.js';
import type { FlowView } from '../flow/view.js';
import { FlowProcessor } from '../flow/processor.js';
import { commonFields, fieldMap, type FieldEntry } from './fields.js';
import { TemplateStore } from './templates.js';

const PANOS = hexToBytes(readFileSync(join(import.meta.dirname, 'testcases/v9-panos-enterprise-appid/input-01.hex'), 'utf8'));

/** Runs datagrams through a processor with this mapping: raw Records, and keys from both paths. */
function run(entries: FieldEntry[], datagrams: Uint8Array[], dimensions: string[]) {
  const cfg = { fields: { common: false, map: entries } };
  const mapped = mappedDimensions(cfg);
  const records: FlowRecord[] = [];
  const keys: FlowView[] = [];
  const agg = new Aggregator({ dimensions, mapped, addresses: mappedAddresses(cfg), maxSeries: 100, topN: 0, topBy: [], maxTalkers: 10 });
  const p = new FlowProcessor({ collector: 'flow', store: new TemplateStore({ fields: fieldMap(fieldEntries(cfg)) }), raw: true, maxExporters: 2, mapped }, {
    emit: (r: NetRecord) => void (r.measurement === 'flow' && records.push(r as FlowRecord)),
    aggregate: (k) => {
      agg.add(k);
      keys.push(copyView(k));
    },
    interfaces: () => undefined,
    clockOffset: () => undefined,
    internalError: (e) => {
      throw e;
    },
  });
  for (const d of datagrams) p.handle(d, '192.0.2.5', 2055, 1_700_000_000_000);
  return { records, keys, mapped, agg: agg.flush(1_700_000_000_000, 'flow').filter((r) => r.measurement === 'flow_agg') };
}

describe('field mapping', () => {
  it('names, types and aggregates PAN-OS App-ID / User-ID by the shipped mapping, on both paths', () => {
    const { records, keys, mapped, agg } = run(commonFields(), [PANOS], ['exporter', 'app_name', 'fw_event']);
    expect(records.map((r) => r.fields)).toEqual([
      expect.objectContaining({ app_name: 'ssl', user: 'corp\\alice', fw_event: 2n, bytes: 51234n }),
      expect.objectContaining({ app_name: 'dns', user: '', fw_event: 2n, bytes: 912n }),
    ]);
    expect(records[0]?.fields).not.toHaveProperty('ie_56701');
    // the Record path and the decoded-values path give the same keys, mapped dimensions included
    records.forEach((r, i) => expect(keys[i]).toEqual(viewFromRecord(r, mapped)));
    expect(agg.map((r) => [r.tags['app_name'], r.tags['fw_event'], r.fields['bytes']])).toEqual([['ssl', '2', 51234n], ['dns', '2', 912n]]);
  });

  it('aggregates by a mapped address dimension with the text the Record prints (IPv4 and IPv6)', () => {
    // generated (labelled): IPFIX with postNAT source addresses of both families (IE 225, 281)
    const msg = ipfixMessage({ secs: 1_700_000_000, seq: 0, domain: 1 }, [
      set(2, ipfixTemplate(300, [[8, 4], [1, 4], [225, 4]])),
      set(2, ipfixTemplate(301, [[27, 16], [1, 4], [281, 16]])),
      set(300, new Bytes().ip4('10.0.0.1').u32(100).ip4('198.51.100.1').ip4('10.0.0.2').u32(50).ip4('198.51.100.1').build()),
      set(301, new Bytes().raw(new Uint8Array(16).fill(1)).u32(7).raw([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 9]).build()),
    ]);
    const { records, keys, mapped, agg } = run(commonFields(), [msg], ['nat_src_addr']);
    expect(records.map((r) => r.fields['nat_src_addr'])).toEqual(['198.51.100.1', '198.51.100.1', '2001:db8::9']);
    const addresses = mappedAddresses({ fields: { common: true, map: [] } });
    expect(addresses).toEqual(['nat_src_addr', 'nat_dst_addr']);
    records.forEach((r, i) => expect(keys[i]).toEqual(viewFromRecord(r, mapped, addresses)));
    // keys like the built-in addresses: IPv4 as uint32, IPv6 as its byte key, no text per flow
    const j = mapped.indexOf('nat_src_addr');
    expect(keys.map((k) => k.mapped[j])).toEqual([0xc6336401, 0xc6336401, ip6KeyFromText('2001:db8::9')]);
    expect(agg.map((r) => [r.tags['nat_src_addr'], r.fields['bytes']])).toEqual([['198.51.100.1', 150n], ['2001:db8::9', 7n]]);
  });

  it('makes a mapped element a tag of the raw record, an address by its length, and user entries win', () => {
    const entries = [...commonFields(), { pen: 0, id: 56702, name: 'user', type: 'string', as: 'tag' }, { pen: 0, id: 148, name: 'session', type: 'octets', as: 'field' }] as FieldEntry[];
    const { records } = run(entries, [PANOS], ['exporter']);
    expect(records[0]?.tags).toEqual({ exporter: '192.0.2.5', version: '9', domain: '1', user: 'corp\\alice' });
    expect(records[0]?.fields).toMatchObject({ session: '000003e9' });
    expect(records[0]?.fields).not.toHaveProperty('user');
    expect(records[1]?.tags).not.toHaveProperty('user'); // an empty value makes no tag
  });

  it('ships a mapping that validates (no reserved element, no reserved name)', () => {
    const common = commonFields();
    expect(common.length).toBeGreaterThan(10);
    expect(new Set(common.map((e) => e.id))).toEqual(new Set([225, 226, 281, 282, 227, 228, 95, 96, 233, 40005, 33002, 234, 235, 138, 141, 56701, 56702]));
  });

  it('reports mapping mistakes with file, line and key, like the rest of the config', () => {
    const text = [
      'flow:',
      '  dimensions: [exporter, app_nam]',
      '  fields:',
      '    map:',
      '      - { id: 1, name: my_bytes, type: unsigned }',
      '      - { pen: 9, id: 40000, name: app_name, type: string, as: dimension }',
      '      - { pen: 9, id: 12, name: Bad-Name, type: strng }',
      '',
    ].join('\n');
    let problems: ConfigError['problems'] = [];
    try {
      parseConfigText(text, 'flow.yaml', z.strictObject({ flow: flowConfigSchema }));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problems = e.problems;
    }
    const lines = problems.map((p) => `${p.file}:${p.line}: ${p.path}`);
    expect(lines).toEqual(expect.arrayContaining([
      'flow.yaml:5: flow.fields.map[0].id',
      'flow.yaml:6: flow.fields.map[1].id',
      'flow.yaml:7: flow.fields.map[2].name',
      'flow.yaml:7: flow.fields.map[2].type',
    ]));
    // one dimension cannot hold addresses and values: their keys (uint32 vs number) would mix
    const mixed = 'flow:\n  fields:\n    common: true\n    map:\n      - { pen: 9, id: 7, name: nat_src_addr, type: unsigned, as: dimension }\n';
    expect(() => parseConfigText(mixed, 'flow.yaml', z.strictObject({ flow: flowConfigSchema }))).toThrow(/flow\.yaml:5:.*fields\.map\[0\]\.type.*"nat_src_addr" is mapped from an address element and from a unsigned one/s);
    // a dimension nobody maps is named once the entries themselves are valid
    const dims = 'flow:\n  dimensions: [exporter, app_nam]\n  fields: { common: true }\n';
    expect(() => parseConfigText(dims, 'flow.yaml', z.strictObject({ flow: flowConfigSchema }))).toThrow(/flow\.yaml:2:.*dimensions\[1\].*unknown dimension "app_nam"/s);
  });
});
