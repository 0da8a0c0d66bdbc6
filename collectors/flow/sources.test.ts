/**
 * What FlowProcessor keeps per source address (sources.ts) must not change what it counts: the
 * exporter behind a dual-stack address, the allowlist after a reload, the exporter cap, and the
 * template session by source port. Datagrams are golden cases of real layouts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hexToBytes } from '../../test/helpers/hex.js';
import { TemplateStore } from '../netflow/templates.js';
import { Allowlist } from './cidr.js';
import { FlowProcessor } from './processor.js';

const cases = join(import.meta.dirname, '../netflow/testcases');
const hex = (c: string, f: string): Uint8Array => hexToBytes(readFileSync(join(cases, c, f), 'utf8'));
const IPFIX = hex('ipfix-total-counters', 'input-01.hex');
const V9_DATA = hex('v9-data-before-template', 'input-01.hex');
const V9_TEMPLATE = hex('v9-data-before-template', 'input-02.hex');

function processor(maxExporters = 4): { p: FlowProcessor; flows: string[] } {
  const flows: string[] = [];
  const p = new FlowProcessor({ collector: 'flow', store: new TemplateStore(), raw: false, maxExporters }, {
    emit: () => undefined,
    aggregate: (k) => void flows.push(k.exporter),
    interfaces: () => undefined,
    clockOffset: () => undefined,
    internalError: (e) => {
      throw e;
    },
  });
  return { p, flows };
}

const collectorFields = (p: FlowProcessor): Record<string, unknown> => p.statsRecords(0, {}).find((r) => r.tags['exporter'] === undefined)?.fields ?? {};

describe('FlowProcessor per source', () => {
  it('counts a mapped IPv4 address and the plain one as one exporter', () => {
    const { p, flows } = processor();
    p.handle(IPFIX, '::ffff:192.0.2.7', 4739, 0);
    p.handle(IPFIX, '192.0.2.7', 4739, 0);
    p.handle(IPFIX, '::ffff:192.0.2.7', 4739, 0);
    expect(p.exporterNames()).toEqual(['192.0.2.7']);
    expect(p.exporterStats('192.0.2.7')?.datagrams).toBe(3);
    expect(new Set(flows)).toEqual(new Set(['192.0.2.7']));
  });

  it('applies a new allowlist to sources it has already seen', () => {
    const { p } = processor();
    p.handle(IPFIX, '192.0.2.7', 4739, 0);
    p.configure(false, new Allowlist(['198.51.100.0/24']));
    p.handle(IPFIX, '192.0.2.7', 4739, 0);
    p.handle(IPFIX, '198.51.100.1', 4739, 0);
    expect(p.exporterStats('192.0.2.7')?.datagrams).toBe(1);
    expect(p.exporterStats('198.51.100.1')?.datagrams).toBe(1);
    expect(collectorFields(p)['not_allowed']).toBe(1n);
    p.configure(false, undefined);
    p.handle(IPFIX, '192.0.2.7', 4739, 0);
    expect(p.exporterStats('192.0.2.7')?.datagrams).toBe(2);
  });

  it('counts every datagram of an exporter past the cap as untracked', () => {
    const { p, flows } = processor(1);
    p.handle(IPFIX, '192.0.2.7', 4739, 0);
    for (let i = 0; i < 3; i++) p.handle(IPFIX, '192.0.2.8', 4739, 0);
    expect(p.exporterNames()).toEqual(['192.0.2.7']);
    expect(collectorFields(p)['untracked_exporters']).toBe(3n);
    // its datagrams are still decoded and aggregated, only not counted per exporter
    expect(flows.filter((e) => e === '192.0.2.8').length).toBe(3 * flows.filter((e) => e === '192.0.2.7').length);
  });

  it('keeps templates per source port while one exporter alternates ports', () => {
    const { p, flows } = processor();
    p.handle(V9_TEMPLATE, '192.0.2.9', 1000, 0);
    const learned = flows.length;
    p.handle(V9_DATA, '192.0.2.9', 2000, 0); // no template for port 2000: parked
    expect(flows.length).toBe(learned);
    p.handle(V9_DATA, '192.0.2.9', 1000, 0);
    const one = flows.length - learned;
    expect(one).toBeGreaterThan(0);
    p.handle(V9_DATA, '192.0.2.9', 2000, 0);
    p.handle(V9_DATA, '192.0.2.9', 1000, 0);
    expect(flows.length - learned).toBe(2 * one);
  });
});
