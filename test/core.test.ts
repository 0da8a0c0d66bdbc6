import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { ERROR_CODES } from '../src/errors.js';
import { escapeKey, escapeMeasurement, toLine, toLines } from '../src/record/lineprotocol.js';
import { int, makeRecord } from '../src/record/record.js';
import { BoundedQueue } from '../src/pipeline/queue.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { createEnricher } from '../src/enrich/enrich.js';
import { stampVerdict } from '../src/enrich/verdict.js';
import { InterfaceTable } from '../src/enrich/interfaces.js';
import type { Sink } from '../src/sinks/sink.js';
import { emptyStats } from '../src/sinks/sink.js';
import type { NetRecord } from '../src/record/record.js';

describe('README error table', () => {
  it('lists exactly the error codes the code defines', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Errors'), readme.indexOf('## Container'));
    const documented = Object.fromEntries([...section.matchAll(/^\| `(NV_[A-Z_]+)` \| (.+?) \|$/gm)].map((m) => [m[1], m[2]]));
    expect(documented).toEqual(ERROR_CODES);
  });
});

describe('line protocol', () => {
  it('escapes measurement, tag and field keys per position and types fields', () => {
    expect(escapeMeasurement('a b,c')).toBe('a\\ b\\,c');
    expect(escapeKey('k=v, x')).toBe('k\\=v\\,\\ x');
    const line = toLine(makeRecord('device', 'm', { t: 'x y', empty: '' }, { i: int(5), f: 2.5, s: 'q"\\', b: false }, 1000.4));
    expect(line).toBe('m,t=x\\ y i=5i,f=2.5,s="q\\"\\\\",b=false 1000');
  });

  it('keeps 64-bit integers integers: exact up to 2^63-1, clamped and counted above, never NaN or Infinity', () => {
    // A Counter64 past 2^63-1 is written as 2^63-1 (InfluxDB 1.x has no unsigned type); a float would
    // be refused on a field type conflict and take its whole record with it.
    const over = toLines([makeRecord('interface', 'i', {}, { c: 18446744073709551615n - 1n, ok: int(1) }, 1)]);
    expect(over).toEqual({ text: 'i c=9223372036854775807i,ok=1i 1\n', lines: 1, skipped: 0, clamped: 1 });
    expect(toLine(makeRecord('interface', 'i', {}, { c: 9223372036854775807n }, 1))).toBe('i c=9223372036854775807i 1');
    expect(toLine(makeRecord('interface', 'i', {}, { c: -9223372036854775809n }, 1))).toBe('i c=-9223372036854775808i 1');
    // A sampled flow byte count scaled past 2^63-1 (flow aggregation makes it with BigInt(Math.round(x))).
    expect(toLines([makeRecord('flow', 'flow_agg', {}, { bytes: BigInt(Math.round(2 ** 63 * 3)) }, 1)]).text).toBe('flow_agg bytes=9223372036854775807i 1\n');
    // unsigned mode: `u` for values >= 0 up to 2^64-1, `i` for negatives
    const u = toLines([makeRecord('interface', 'i', {}, { c: 18446744073709551615n, n: int(-2), big: 2n ** 64n }, 1)], { integers: 'unsigned' });
    expect(u).toEqual({ text: 'i c=18446744073709551615u,n=-2i,big=18446744073709551615u 1\n', lines: 1, skipped: 0, clamped: 1 });
    const r = toLines([makeRecord('health', 'h', {}, { x: NaN }, 1), makeRecord('health', 'h', {}, { x: Infinity, y: int(1) }, 2)]);
    expect(r).toEqual({ text: 'h y=1i 2\n', lines: 1, skipped: 1, clamped: 0 });
  });

  it('writes CR and LF in string fields as the two characters \\r / \\n so every line is one point', () => {
    const line = toLine(makeRecord('device', 'system', {}, { sys_descr: 'Linux 6.1\r\nTechnical "Support"\\x' }, 5));
    expect(line).toBe('system sys_descr="Linux 6.1\\r\\nTechnical \\"Support\\"\\\\x" 5');
    expect(line).not.toMatch(/[\r\n]/);
  });
});

describe('bounded queue', () => {
  it('drop_oldest keeps the newest items and counts drops', () => {
    const q = new BoundedQueue<number>(3, 'drop_oldest');
    for (let i = 0; i < 5; i++) q.push(i);
    expect(q.dropped).toBe(2);
    expect(q.take(10)).toEqual([2, 3, 4]);
  });
  it('drop_newest keeps the queued items and counts drops', () => {
    const q = new BoundedQueue<number>(3, 'drop_newest');
    for (let i = 0; i < 5; i++) q.push(i);
    expect(q.dropped).toBe(2);
    expect(q.take(2)).toEqual([0, 1]);
    q.push(9);
    expect(q.take(10)).toEqual([2, 9]);
  });
});

/** A sink that never finishes a write until released: the only way to hold the pipeline full on purpose. */
class StuckSink implements Sink {
  readonly name = 'stuck';
  got: NetRecord[][] = [];
  private release: (() => void)[] = [];
  async start(): Promise<void> {}
  write(batch: readonly NetRecord[]): Promise<void> {
    this.got.push([...batch]);
    return new Promise((r) => this.release.push(r));
  }
  releaseAll(): void {
    for (const r of this.release.splice(0)) r();
  }
  async stop(): Promise<void> {}
  stats() {
    return emptyStats();
  }
  ready(): boolean {
    return true;
  }
}

describe('pipeline back-pressure', () => {
  it('counts per-collector records, queue overflow and emits after stop', async () => {
    const sink = new StuckSink();
    const pipe = new Pipeline({ queueSize: 100, overflow: 'drop_newest', batchSize: 10, flushIntervalMs: 5, concurrency: 1 }, [sink], () => {}, pino({ level: 'silent' }));
    pipe.start();
    const e = pipe.emitterFor('c1');
    for (let i = 0; i < 10; i++) e.emit(makeRecord('health', 'x', {}, { i: int(i) }, i));
    await new Promise((r) => setTimeout(r, 20)); // the first batch is now stuck in the sink
    for (let i = 10; i < 150; i++) e.emit(makeRecord('health', 'x', {}, { i: int(i) }, i));
    const st = pipe.stats();
    expect(st.collectors.c1).toEqual({ records: 150, errors: 0 });
    expect(st.queueDepth).toBe(100);
    expect(st.droppedQueueFull).toBe(40);
    sink.releaseAll();
    const stopping = pipe.stop(2000);
    const iv = setInterval(() => sink.releaseAll(), 2);
    await stopping;
    clearInterval(iv);
    expect(sink.got.flat().length).toBe(110);
    e.emit(makeRecord('health', 'x', {}, { i: int(0) }, 0));
    expect(pipe.stats().droppedAfterStop).toBe(1);
  });
});

describe('enrichment', () => {
  it('adds interface names/speeds to flows from the SNMP table and the verdict to every record', () => {
    const t = new InterfaceTable();
    t.update('core1', ['10.0.0.1', '192.0.2.1'], 'snmp', [{ ifIndex: 3, name: 'Gi0/3', speed: 1e9 }]);
    t.update('10.0.0.1', ['10.0.0.1'], 'flow', [{ ifIndex: 3, name: 'from-options' }, { ifIndex: 4, name: 'Gi0/4' }]);
    const enrich = createEnricher(t);
    const raw = makeRecord('flow', 'flow', { exporter: '192.0.2.1' }, { in_if: int(3), out_if: int(4), bytes: int(1) }, 4000, 'exporter');
    enrich(raw);
    expect(raw.fields).toMatchObject({ in_if_name: 'Gi0/3', in_if_speed: 1_000_000_000n });
    expect(raw.fields.out_if_name).toBeUndefined(); // the flow-learned entry does not take over an SNMP device's address
    expect(raw.tags.device).toBe('core1');
    const agg = makeRecord('flow', 'flow_agg', { exporter: '10.0.0.1', in_if: '3' }, { bytes: int(1) }, 4000);
    enrich(agg);
    expect(agg.tags.in_if_name).toBe('Gi0/3');
    const tagged = makeRecord('health', 'vm_host', {}, { x: 1 }, 1);
    createEnricher(t, { instance: 'vm2' })(tagged);
    expect(tagged.tags.instance).toBe('vm2');
  });

  it('resolves an address several devices claim: an explicit flow_addresses claim wins, otherwise no guess', () => {
    const t = new InterfaceTable();
    t.update('a', ['10.0.0.9'], 'snmp', [{ ifIndex: 1, name: 'a1' }]);
    t.update('b', ['10.0.0.9'], 'snmp', [{ ifIndex: 1, name: 'b1' }]);
    expect(t.deviceName('10.0.0.9')).toBeUndefined();
    expect(t.lookup('10.0.0.9', 1)).toBeUndefined();
    expect(t.lookupDevice('b', 1)?.name).toBe('b1');
    expect(t.ambiguous()).toEqual([{ address: '10.0.0.9', devices: ['a', 'b'] }]);
    t.update('b', ['10.0.0.9'], 'snmp', [{ ifIndex: 1, name: 'b1' }], ['10.0.0.9']);
    expect(t.deviceName('10.0.0.9')).toBe('b');
    expect(t.lookup('10.0.0.9', 1)?.name).toBe('b1');
    expect(t.ambiguous()).toEqual([]);
    // an SNMP record of device a names a's interface, whoever owns the address for flows
    const rec = makeRecord('interface', 'interface', { device: 'a', agent: '10.0.0.9', if_index: '1', source: 'snmp' }, {}, 1);
    t.update('a', ['10.0.0.9'], 'snmp', [{ ifIndex: 1 }]);
    createEnricher(t)(rec);
    expect(rec.tags.if_name).toBeUndefined();
    t.update('b', [], 'snmp', []); // removed from the inventory
    expect(t.deviceName('10.0.0.9')).toBe('a');
  });

  it('judges the verdict over the window a record was collected in', () => {
    const asked: [number, number][] = [];
    const source = { settledUntil: () => 0, verdictFor: (a: number, b: number) => (asked.push([a, b]), { verdict: 'untrusted' as const }) };
    const agg = { ...makeRecord('flow', 'flow_agg', {}, {}, 60_000, 'collector'), collectedAt: 120_500 };
    stampVerdict(agg, source);
    const exp = { ...makeRecord('flow', 'flow', {}, {}, 1_000, 'exporter'), collectedAt: 120_500 };
    stampVerdict(exp, source);
    expect(asked).toEqual([[60_000, 120_500], [120_500, 120_500]]); // an exporter's clock says nothing about ours
    expect(agg.fields.vm_verdict).toBe('untrusted');
  });
});
