/** The piecewise checkpoint writer gives the file the synchronous one gives (generated flows). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ip6Key } from '../../src/wire/ip6key.js';
import { Aggregator } from './aggregate.js';
import { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint, writeCheckpointSync, type Checkpoint } from './checkpoint.js';
import { FlowView } from './view.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'netvigil-cp-'));
  dirs.push(d);
  return d;
};

describe('writeCheckpoint', () => {
  it('writes, piece by piece, the checkpoint writeCheckpointSync writes', async () => {
    const a = new Aggregator({ dimensions: ['exporter', 'in_if'], maxSeries: 50, topN: 3, topBy: ['src_addr', 'dst_addr'], maxTalkers: 500 });
    const k = new FlowView();
    for (let i = 0; i < 2000; i++) {
      k.exporter = `192.0.2.${i % 3}`;
      k.inIf = i % 70;
      // IPv4 (uint32), IPv6 byte keys and text talkers, more than the table holds
      k.src = i % 3 === 0 ? ip6Key(Uint8Array.from({ length: 16 }, (_, j) => (j === 15 ? i & 255 : j === 14 ? i >> 8 : 0x20)), 0) : 0x0a000000 + (i % 700);
      k.dst = i % 5 === 0 ? `text-${i % 11}` : 0xc6120000 + (i % 300);
      k.bytes = 100 + i;
      k.packets = 1 + (i % 4);
      k.rate = 1 + (i % 2);
      a.add(k);
    }
    const head = { v: 1 as const, shape: { interval: 60_000, dimensions: ['exporter', 'in_if'], topBy: ['src_addr', 'dst_addr'], maxSeries: 50, topN: 3, maxTalkers: 500 }, intervalStart: 60_000, label: 60_000, lastLabel: 0, flushed: false, savedAt: 61_000 };
    const sync = tmp();
    const piecewise = tmp();
    writeCheckpointSync(sync, { ...head, agg: a.snapshot() } as Checkpoint);
    await writeCheckpoint(piecewise, { ...head, agg: a.copy() });
    expect(JSON.parse(readFileSync(join(piecewise, CHECKPOINT_FILE), 'utf8'))).toEqual(JSON.parse(readFileSync(join(sync, CHECKPOINT_FILE), 'utf8')));
    // pieces smaller than a table (500 talkers): 3, 99 and 498 slots a piece give the same file, a
    // last piece that is short included; a piece that does not end on a base64 quantum is refused
    for (const slots of [3, 99, 498]) {
      const d = tmp();
      await writeCheckpoint(d, { ...head, agg: a.copy() }, slots);
      expect(JSON.parse(readFileSync(join(d, CHECKPOINT_FILE), 'utf8'))).toEqual(JSON.parse(readFileSync(join(sync, CHECKPOINT_FILE), 'utf8')));
    }
    await expect(writeCheckpoint(tmp(), { ...head, agg: a.copy() }, 100)).rejects.toThrow(/multiple of 3/);
    const cp = readCheckpoint(piecewise);
    expect(cp?.agg.series.length).toBe(50 - 1);
    // restored, it flushes what the original flushes
    const b = new Aggregator({ dimensions: ['exporter', 'in_if'], maxSeries: 50, topN: 3, topBy: ['src_addr', 'dst_addr'], maxTalkers: 500 });
    b.restore((cp as Checkpoint).agg);
    expect(b.flush(0, 'flow')).toEqual(a.flush(0, 'flow'));
    // the copy shares the table's key array: talkers that arrive while it is written stay out
    const c = new Aggregator({ dimensions: ['exporter', 'in_if'], maxSeries: 50, topN: 3, topBy: ['src_addr', 'dst_addr'], maxTalkers: 500 });
    c.restore((cp as Checkpoint).agg);
    const copy = c.copy();
    for (let i = 0; i < 300; i++) {
      k.src = 0x0b000000 + i;
      k.dst = `late-${i}`;
      c.add(k);
    }
    const late = tmp();
    await writeCheckpoint(late, { ...head, agg: copy }, 3);
    expect(JSON.parse(readFileSync(join(late, CHECKPOINT_FILE), 'utf8'))).toEqual(JSON.parse(readFileSync(join(sync, CHECKPOINT_FILE), 'utf8')));
    expect(c.copy().talkers[1]?.bytes.length).toBeGreaterThan(copy.talkers[1]?.bytes.length ?? Infinity);
  });

  it('a copy into the spare arrays holds what a fresh copy holds, and leaves fresh copies alone', () => {
    const a = new Aggregator({ dimensions: ['exporter'], maxSeries: 10, topN: 3, topBy: ['src_addr'], maxTalkers: 100 });
    const k = new FlowView();
    const add = (from: number, n: number): void => {
      for (let i = from; i < from + n; i++) {
        k.exporter = '192.0.2.1';
        k.src = 0x0a000000 + (i % 80);
        k.bytes = 10 + i;
        k.packets = 1;
        k.rate = 1;
        a.add(k);
      }
    };
    add(0, 50);
    const fresh = a.copy();
    const reused = a.copy(true);
    expect(reused.talkers).toEqual(fresh.talkers);
    const before = structuredClone(fresh.talkers[0]?.bytes);
    add(50, 200);
    const again = a.copy(true);
    expect(again.talkers).toEqual(a.copy().talkers);
    // the spare arrays were overwritten (the caller's promise not to read `reused` any more); the fresh copy was not
    expect(again.talkers[0]?.bytes.buffer).toBe(reused.talkers[0]?.bytes.buffer);
    expect(fresh.talkers[0]?.bytes).toEqual(before);
    expect(again.talkers[0]?.bytes.length).toBe(80);
  });
});
