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
    const cp = readCheckpoint(piecewise);
    expect(cp?.agg.series.length).toBe(50 - 1);
    // restored, it flushes what the original flushes
    const b = new Aggregator({ dimensions: ['exporter', 'in_if'], maxSeries: 50, topN: 3, topBy: ['src_addr', 'dst_addr'], maxTalkers: 500 });
    b.restore((cp as Checkpoint).agg);
    expect(b.flush(0, 'flow')).toEqual(a.flush(0, 'flow'));
  });
});
