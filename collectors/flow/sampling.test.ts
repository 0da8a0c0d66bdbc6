import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hexToBytes } from '../../test/helpers/hex.js';
import { TemplateStore } from '../netflow/templates.js';
import { FlowView } from './view.js';
import { FlowProcessor } from './processor.js';
import { RateSource, samplingSchema, SamplingRates } from './sampling.js';

/** A flow of `exporter` on input interface `inIf` that came with `sent` (0: no rate). Generated input. */
function flow(exporter: string, inIf: number, sent: number): FlowView {
  const k = new FlowView();
  k.exporter = exporter;
  k.inIf = inIf;
  k.rateKnown = sent > 0;
  k.rate = sent > 0 ? sent : 1;
  k.bytes = 100;
  return k;
}

describe('sampling rates you can set', () => {
  const cfg = samplingSchema.parse({
    map: [
      { exporter: '192.0.2.1', rate: 100 },
      { exporter: '192.0.2.1', in_if: 7, rate: 512, override: true },
      { exporter: '198.51.100.0/24', rate: 1000, override: true },
      { exporter: '198.51.100.9', rate: 10 },
    ],
  });

  it('an exporter-sent rate wins over a plain entry; override wins over the exporter', () => {
    const s = new SamplingRates(cfg);
    const a = flow('192.0.2.1', 3, 64);
    expect(s.apply(a)).toBe(RateSource.Exporter);
    expect(a.rate).toBe(64);
    const b = flow('192.0.2.1', 7, 64);
    expect(s.apply(b)).toBe(RateSource.Override);
    expect(b.rate).toBe(512);
    const c = flow('198.51.100.20', 1, 64);
    expect(s.apply(c)).toBe(RateSource.Override);
    expect(c.rate).toBe(1000);
  });

  it('a plain entry fills in a missing rate; the longest prefix is the exporter entry', () => {
    const s = new SamplingRates(cfg);
    const a = flow('192.0.2.1', 3, 0);
    expect(s.apply(a)).toBe(RateSource.Configured);
    expect(a.rate).toBe(100);
    // /32 beats the /24 override: the more specific entry decides, and it has no override
    const b = flow('198.51.100.9', 1, 0);
    expect(s.apply(b)).toBe(RateSource.Configured);
    expect(b.rate).toBe(10);
    const c = flow('198.51.100.9', 1, 33);
    expect(s.apply(c)).toBe(RateSource.Exporter);
    expect(c.rate).toBe(33);
  });

  it('no rate and no entry: the default when set, else 1 counted as unknown per exporter', () => {
    const none = new SamplingRates(samplingSchema.parse({}));
    const a = flow('203.0.113.5', 1, 0);
    expect(none.apply(a)).toBe(RateSource.Unknown);
    expect(a.rate).toBe(1);
    none.apply(flow('203.0.113.5', 2, 0));
    none.apply(flow('203.0.113.5', 2, 8));
    expect(none.summary().get('203.0.113.5')).toEqual({ exporter: 1, override: 0, configured: 0, default: 0, unknown: 2 });
    const dflt = new SamplingRates(samplingSchema.parse({ default: 2048 }));
    const b = flow('203.0.113.5', 1, 0);
    expect(dflt.apply(b)).toBe(RateSource.Default);
    expect(b.rate).toBe(2048);
    dflt.inherit(none);
    expect(dflt.summary().get('203.0.113.5')?.unknown).toBe(2);
  });

  it('refuses duplicate entries, bad addresses and rates with the entry path', () => {
    const r = samplingSchema.safeParse({ map: [{ exporter: '192.0.2.1', rate: 10 }, { exporter: '192.0.2.1', rate: 20 }, { exporter: '192.0.2.300', rate: 1 }, { exporter: '192.0.2.2', rate: 0 }] });
    expect(r.success).toBe(false);
    const issues = r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(issues).toContain('map.1.exporter: duplicate entry: map[0] already sets 192.0.2.1');
    expect(issues.some((i) => i.startsWith('map.2.exporter: expected an IP address or CIDR'))).toBe(true);
    expect(issues.some((i) => i.startsWith('map.3.rate'))).toBe(true);
  });
});

/** Golden cases' datagrams through the processor: is a rate known, and which, per flow. */
function ratesOf(testcase: string): [boolean, number][] {
  const dir = join(import.meta.dirname, '../netflow/testcases', testcase);
  const out: [boolean, number][] = [];
  const p = new FlowProcessor({ collector: 'flow', store: new TemplateStore(), raw: false, maxExporters: 4 }, {
    emit: () => undefined,
    aggregate: (k) => void out.push([k.rateKnown, k.rate]),
    interfaces: () => undefined,
    clockOffset: () => undefined,
    internalError: (e) => {
      throw e;
    },
  });
  for (let i = 1; i < 9; i++) {
    let hex: string;
    try {
      hex = readFileSync(join(dir, `input-0${i}.hex`), 'utf8');
    } catch {
      break;
    }
    p.handle(hexToBytes(hex), '192.0.2.7', 4739, 0);
  }
  return out;
}

describe('which flows come with a rate (golden cases)', () => {
  it('IPFIX without sampling options: unknown (1 is a stand-in); with options: known', () => {
    expect(ratesOf('ipfix-bad-set-keeps-records')).toEqual(Array(4).fill([false, 1]));
    expect(ratesOf('ipfix-sampling-sysuptime')).toEqual([[true, 100]]);
    // an interval of 0 in options data says "unsampled": a known 1
    expect(ratesOf('v9-sampling-interval-zero').every(([known]) => known)).toBe(true);
  });
});
