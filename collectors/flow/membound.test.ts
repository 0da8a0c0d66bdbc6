/**
 * Memory bounded by configuration, not by traffic (issue 12 item 5), as counts: generated datagrams
 * (labelled so: NetFlow v5 built from the RFC layout, and v9 with an IPv6 template) carrying far
 * more distinct hosts, series and exporters than the caps allow go through the processor into the
 * aggregator, in process. Every structure that grows with traffic must stay within its cap, and the
 * flows beyond the caps must be in the "other" sums, not dropped. RSS against the bound is the
 * flow-real bench's job; the bound the README states is checked against membound.ts here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildV5, set, v9Message, v9Template, Bytes, type V5FlowSpec } from '../../test/helpers/flow-build.js';
import { TemplateStore } from '../netflow/templates.js';
import { Aggregator } from './aggregate.js';
import { flowConfigSchema } from './config.js';
import { memoryBound } from './membound.js';
import { FlowProcessor } from './processor.js';

const ip4 = (n: number): string => `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

function ip6(n: number): number[] {
  const b = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0];
  return [...b, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

describe('memory bounded by configuration', () => {
  it('holds series, talkers and exporters to their caps with 250,000 distinct hosts (generated v5 + IPv6 v9)', () => {
    const cfg = { maxSeries: 500, maxTalkers: 4000, maxExporters: 40 };
    const agg = new Aggregator({ dimensions: ['src_addr', 'proto'], maxSeries: cfg.maxSeries, topN: 10, topBy: ['src_addr', 'dst_addr'], maxTalkers: cfg.maxTalkers });
    const p = new FlowProcessor(
      { collector: 'flow', store: new TemplateStore(), raw: false, maxExporters: cfg.maxExporters },
      { emit: () => undefined, aggregate: (k) => agg.add(k), interfaces: () => undefined, clockOffset: () => undefined, internalError: (e) => { throw e; } },
    );
    let flows = 0;
    let bytes = 0;
    // IPv4: 3,500 datagrams x 30 flows from 200 exporters, every flow a new source and destination
    for (let d = 0; d < 3500; d++) {
      const list: V5FlowSpec[] = [];
      for (let i = 0; i < 30; i++) {
        const n = d * 30 + i;
        list.push({ src: ip4(0x0a000000 + n), dst: ip4(0xac100000 + n), packets: 1, bytes: 100 + (n % 7), first: 0, last: 1, srcPort: 1024, dstPort: 443, proto: 6 });
        bytes += 100 + (n % 7);
      }
      flows += list.length;
      p.handle(buildV5({ uptime: 1000, secs: 1_700_000_000, seq: d * 30 }, list), `192.0.2.${d % 200}`, 2055, 0);
    }
    // IPv6: one exporter, a template then 1,000 data sets of 20 records, every record new hosts
    const tpl = v9Template(256, [[27, 16], [28, 16], [1, 4], [2, 4], [4, 1]]);
    p.handle(v9Message({ uptime: 1, secs: 1_700_000_000, seq: 0, sourceId: 1 }, [set(0, tpl)]), '198.51.100.1', 2055, 0);
    for (let d = 0; d < 1000; d++) {
      const b = new Bytes();
      for (let i = 0; i < 20; i++) {
        const n = d * 20 + i;
        b.raw(ip6(n)).raw(ip6(0x40000000 + n)).u32(200).u32(2).u8(17);
        bytes += 200;
      }
      flows += 20;
      p.handle(v9Message({ uptime: 2, secs: 1_700_000_000, seq: d + 1, sourceId: 1 }, [set(256, b.build(), 0)]), '198.51.100.1', 2055, 0);
    }
    const c = agg.copy();
    expect(c.series.length).toBeLessThanOrEqual(cfg.maxSeries - 1); // the "other" row is the last one the budget allows
    expect(c.series.length).toBe(cfg.maxSeries - 1);
    for (const t of c.talkers) {
      expect(t.keys.length).toBe(cfg.maxTalkers);
      expect(t.rest.flows).toBe(flows - cfg.maxTalkers);
    }
    expect(p.exporterNames().length).toBe(cfg.maxExporters);
    // nothing beyond a cap is lost: the series and talker sums still add up to every flow
    const seriesFlows = c.series.reduce((n, s) => n + s.flows, 0) + (c.other?.flows ?? 0);
    const seriesBytes = c.series.reduce((n, s) => n + s.bytes, 0) + (c.other?.bytes ?? 0);
    expect(seriesFlows).toBe(flows);
    expect(seriesBytes).toBe(bytes);
    for (const t of c.talkers) expect(t.flows.reduce((a, b) => a + b, 0) + t.rest.flows).toBe(flows);
  }, 60_000);

  it('the README states the bound membound.ts computes for the default config', () => {
    const b = memoryBound(flowConfigSchema.parse({}));
    const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
    expect(readme).toContain(`${Math.round(b.total / 2 ** 20)} MiB with the defaults`);
    const two = memoryBound(flowConfigSchema.parse({ workers: 2 }));
    expect(readme).toContain(`${Math.round(two.total / 2 ** 20)} MiB with \`workers: 2\``);
  });
});
