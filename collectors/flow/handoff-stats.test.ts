/**
 * `flow_stats` counters handed from one processor to the next per bus partition (flowHandoff), with
 * the loss streams. Generated NetFlow v5 datagrams (RFC-layout builder) plus one datagram of no
 * known version, decoded by real FlowProcessors.
 */
import { describe, expect, it } from 'vitest';
import { buildV5 } from '../../test/helpers/flow-build.js';
import { TemplateStore } from '../netflow/templates.js';
import { flowHandoff } from './handoff.js';
import { LossWindow } from './loss-ratio.js';
import { FlowProcessor } from './processor.js';

const processor = (): FlowProcessor =>
  new FlowProcessor({ collector: 'flow', store: new TemplateStore(), raw: false, maxExporters: 8 }, {
    emit: () => undefined,
    aggregate: () => undefined,
    interfaces: () => undefined,
    clockOffset: () => undefined,
    internalError: (e) => {
      throw e;
    },
  });

/** A v5 datagram of `n` flows from `exporter` at flow sequence `seq`. */
function v5(p: FlowProcessor, exporter: string, seq: number, n = 3): void {
  const flows = Array.from({ length: n }, (_, i) => ({ src: `10.0.0.${i + 1}`, dst: '192.0.2.1', packets: 1, bytes: 100, first: 1000, last: 2000, srcPort: 1000 + i, dstPort: 53, proto: 17 }));
  p.handle(buildV5({ uptime: 5000 + seq, secs: 1_760_000_000, seq }, flows), exporter, 2055, 1_760_000_000_000 + seq);
}

const partitionOf = (e: string): number | undefined => ({ '192.0.2.1': 0, '192.0.2.2': 1 })[e];
/** The exporter's `flow_stats` row (the one without a reason tag). */
const row = (p: FlowProcessor, e: string): Record<string, unknown> | undefined => p.statsRecords(0, {}).find((r) => r.tags.exporter === e && r.tags.reason === undefined)?.fields;

describe('flowHandoff: flow_stats counters move with the partition', () => {
  it('the next owner continues datagrams, records and decode errors by reason from the saved counters', () => {
    const old = processor();
    v5(old, '192.0.2.1', 0);
    v5(old, '192.0.2.1', 3);
    old.handle(new Uint8Array([0, 7, 0, 0]), '192.0.2.1', 2055, 0); // no known version
    v5(old, '192.0.2.2', 0);
    const saved = flowHandoff(old).save(partitionOf);
    expect([...saved.keys()].sort()).toEqual([0, 1]);

    // the taker held partition 0 long ago: its own counts for the exporter are stale and replaced
    const next = processor();
    v5(next, '192.0.2.1', 100);
    expect(flowHandoff(next).load(JSON.parse(JSON.stringify(saved.get(0))))).toEqual(['192.0.2.1']);
    v5(next, '192.0.2.1', 6, 2);
    expect(next.exporterStats('192.0.2.1')).toEqual({ datagrams: 4, records: 8, errors: { unsupported: 1 } });
    expect(row(next, '192.0.2.1')).toMatchObject({ datagrams: 4n, records: 8n, decode_errors: 1n, seq_lost: 0n });
    expect(next.exporterStats('192.0.2.2')).toBeUndefined();
  });

  it('an exporter that only sent bad datagrams moves too, and a state without counters (an older processor) loads', () => {
    const old = processor();
    old.handle(new Uint8Array([0, 7, 0, 0]), '192.0.2.2', 2055, 0);
    const next = processor();
    expect(flowHandoff(next).load(flowHandoff(old).save(partitionOf).get(1))).toEqual(['192.0.2.2']);
    expect(next.exporterStats('192.0.2.2')).toEqual({ datagrams: 1, records: 0, errors: { unsupported: 1 } });
    const older = { v: 1, savedAt: 0, streams: [] };
    expect(flowHandoff(processor()).load(older)).toEqual([]);
  });

  it('the former owner stops reporting a forgotten exporter; the taker\'s first interval counts only its own datagrams', () => {
    const old = processor();
    for (let s = 0; s < 30; s += 3) v5(old, '192.0.2.1', s);
    const h = flowHandoff(old);
    const saved = h.save(partitionOf).get(0);
    h.forget((e) => e === '192.0.2.1');
    expect(row(old, '192.0.2.1')).toBeUndefined();
    expect(old.exporterNames()).toEqual([]);

    const next = processor();
    flowHandoff(next).load(saved);
    v5(next, '192.0.2.1', 30);
    const w = new LossWindow();
    const dgrams = new Map(next.exporterNames().map((e) => [e, next.exporterStats(e)?.datagrams ?? 0]));
    // socket drops shared out by this interval's datagrams: 1 here, not the 11 counted since the start
    const first = w.next(next.loss.exporterTotals(), dgrams, 0, next.takeRestored());
    expect(first.get('192.0.2.1')).toMatchObject({ datagrams: 1, seqReceived: 3, seqLost: 0 });
  });
});
