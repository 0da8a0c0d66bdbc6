/**
 * The pieces of fencing that need no broker: the lease proof on a monotonic clock (src/bus/fence.ts)
 * and the outbox's encodings (src/bus/outbox.ts). The broker-side behaviour is test/bus-fence.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { fenceOff, LeaseProof, type FencedPartition } from '../src/bus/fence.js';
import { decodeBlob, encodeBlob, leaseValue, readLease } from '../src/bus/outbox.js';
import { int, makeRecord } from '../src/record/record.js';

describe('LeaseProof', () => {
  it('holds a partition for the TTL minus a third after the send time of its last accepted renewal', () => {
    let now = 1000;
    const proof = new LeaseProof(3000, () => now);
    expect(proof.holds(1)).toBe(false); // never renewed
    const sent = proof.now();
    now += 400; // the reply came later: the proof still starts at the send
    proof.renewed(1, sent);
    now = sent + 1999;
    expect(proof.holds(1)).toBe(true);
    now = sent + 2000;
    expect(proof.holds(1)).toBe(false);
    expect(proof.age(1)).toBe(2000);
    // a late reply to an older renewal does not move the proof back
    proof.renewed(1, sent - 500);
    expect(proof.age(1)).toBe(2000);
    proof.forget(1);
    expect(proof.holds(1)).toBe(false);
  });

  it('a fence stops every partition, commits nothing more of them and gives up the lapsed ones', () => {
    let now = 0;
    const proof = new LeaseProof(3000, () => now);
    proof.renewed(1, 0);
    now = 1500;
    proof.renewed(2, 1500);
    now = 2500; // 1 lapsed (2500 >= 2000), 2 still held (< 3500)
    const m = (seq: number) => ({ partition: 0, seq, data: new Uint8Array(), handle: null });
    const part = (last: number, frames: number): FencedPartition => ({ last: m(last), unmarked: { frames, datagrams: frames * 3 }, draining: false, halted: false });
    const owned = new Map([
      [1, part(15, 5)],
      [2, part(22, 2)],
    ]);
    const f = fenceOff(owned, proof);
    expect(f.lapsed).toEqual([1]);
    expect(f.kept.map(([p]) => p)).toEqual([2]);
    expect([f.frames, f.datagrams]).toEqual([7, 21]);
    expect([...owned.keys()]).toEqual([2]);
    const kept = owned.get(2) as FencedPartition;
    expect([kept.last, kept.halted, kept.draining, kept.unmarked.frames]).toEqual([undefined, true, true, 0]);
  });
});

describe('outbox encodings', () => {
  it('a lease value names the holder and its entries; a bare holder key (earlier versions) has none', () => {
    expect(readLease(leaseValue('p1', [{ id: 'p1.x.1', seq: 42 }]))).toEqual({ o: 'p1', out: [{ id: 'p1.x.1', seq: 42 }] });
    expect(readLease(new TextEncoder().encode('proc-2'))).toEqual({ o: 'proc-2', out: [] });
    expect(readLease(undefined)).toEqual({ o: '', out: [] });
  });

  it('records come back with the same tags, time and field types (integers stay bigint)', () => {
    const r = makeRecord('flow', 'flow_agg', { exporter: '127.0.0.10', proto: 'tcp', instance: 'p1' }, { bytes: int(12345678901234), flows: int(3), ratio: 0.25, note: 'x', ok: true }, 1_700_000_000_000);
    const back = decodeBlob(encodeBlob({ marks: { '3': 99 }, records: [r] }));
    expect(back.marks).toEqual({ '3': 99 });
    expect(back.records).toEqual([r]);
    expect(typeof back.records[0]?.fields['bytes']).toBe('bigint');
  });
});
