/**
 * The receiver's stop spool (src/bus/spool.ts) against a real nats-server: with the server down at
 * the stop deadline every batch goes to the spool, and a receiver started after the server is back
 * publishes them all, each datagram once in its exporter's partition. The spool's bound, its
 * damaged and half-written files are checked on the files themselves (datagrams are generated: the
 * content is not what is tested).
 */
import { readdirSync, truncateSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../src/bus/bus.js';
import { busSchema } from '../src/bus/config.js';
import { readFrame } from '../src/bus/frame.js';
import { NatsBus } from '../src/bus/nats.js';
import { BusReceiver } from '../src/bus/receiver.js';
import { BusSpool, decodeBatch, encodeBatch, type SpooledBatch } from '../src/bus/spool.js';
import { createLogger } from '../src/log.js';
import { startNats, type NatsCluster } from './helpers/nats.js';
import { makeTmpDir, waitFor } from './helpers/net.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
let nats: NatsCluster;
const log = createLogger('silent');
const exporters = Array.from({ length: 10 }, (_, i) => `192.0.2.${i + 1}`);

beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-busspool-file-');
  nats = await startNats(tmp.dir, 1);
}, 30_000);
afterAll(async () => {
  await nats?.stop();
  await tmp?.cleanup();
});

const datagram = (i: number): Uint8Array => {
  const d = new Uint8Array(100).fill(i & 255);
  new DataView(d.buffer).setUint32(0, i);
  return d;
};

describe('bus receiver stop spool', () => {
  it('spools every batch NATS has not acknowledged at the deadline; the next receiver publishes them, each datagram once', async () => {
    const cfg = busSchema.parse({ nats: { servers: nats.urls, stream: 'SPOOLTEST', partitions: 4 } }).nats;
    const bus = await NatsBus.open(cfg, 'spool-test', log);
    expect(bus.duplicateWindowMs).toBe(120_000); // what the stream holds, as the server reports it
    await nats.nodes[0]?.stop();
    const dir = join(tmp.dir, 'spool');
    const rx = new BusReceiver(bus, { batchBytes: 4096, batchDelayMs: 20, bufferBytes: 1024 * 1024, spool: new BusSpool(dir, 1024 * 1024, log), duplicateWindowMs: bus.duplicateWindowMs }, log);
    for (let i = 0; i < 1000; i++) rx.forward(datagram(i), exporters[i % 10] as string, 2055, 1_700_000_000_000 + i);
    await rx.close(800);
    expect(rx.stats).toMatchObject({ datagrams: 1000, published: 0, droppedDatagrams: 0, spooledDatagrams: 1000 });
    expect(readdirSync(dir).filter((f) => f.endsWith('.nvb'))).toHaveLength(rx.stats.spooledBatches);
    await bus.close(500).catch(() => {});

    await nats.restart(0);
    const bus2 = await NatsBus.open(cfg, 'spool-test-2', log);
    const spool2 = new BusSpool(dir, 1024 * 1024, log);
    expect(spool2.pending).toBe(rx.stats.spooledBatches);
    const rx2 = new BusReceiver(bus2, { batchBytes: 4096, batchDelayMs: 20, bufferBytes: 1024 * 1024, spool: spool2, duplicateWindowMs: bus2.duplicateWindowMs }, log);
    await waitFor('the spool published', () => rx2.stats.replayedBatches === rx.stats.spooledBatches, 20_000);
    expect(rx2.stats).toMatchObject({ replayedDatagrams: 1000, spoolPending: 0, spoolBytes: 0, published: 0 });
    expect(readdirSync(dir)).toEqual([]);

    const seen = new Set<number>();
    const consumers = [];
    for (let p = 0; p < 4; p++) {
      consumers.push(
        await bus2.consume(p, (m) => {
          readFrame(m.data, (d, address, port, at) => {
            const i = new DataView(d.buffer, d.byteOffset, d.byteLength).getUint32(0);
            expect([address, port, at, partitionOf(address, 4)]).toEqual([exporters[i % 10], 2055, 1_700_000_000_000 + i, p]);
            expect(seen.has(i)).toBe(false);
            seen.add(i);
          });
        }),
      );
    }
    await waitFor('every datagram read back', () => seen.size === 1000, 10_000);
    await new Promise((r) => setTimeout(r, 300)); // anything published twice would show by now
    for (const c of consumers) await c.stop();
    expect(seen.size).toBe(1000);
    await rx2.close(1000);
    await bus2.close();
  }, 60_000);

  it('keeps to its bound, counting what does not fit, and removes damaged and half-written files', async () => {
    const dir = join(tmp.dir, 'bounded');
    const batch = (i: number): SpooledBatch => ({ partition: i % 4, id: `b-${i}`, count: 3, data: new Uint8Array(1000).fill(i), sealedAt: 1_700_000_000_000 + i, firstAttemptAt: i % 2 ? 1_700_000_000_100 : undefined, maybeStored: i % 2 === 1 });
    const one = encodeBatch(batch(0)).length;
    const spool = new BusSpool(dir, one * 5 + 10, log);
    const { written, dropped } = await spool.write(Array.from({ length: 8 }, (_, i) => batch(i)));
    // in order until the next does not fit: the oldest kept, the newest counted by the caller
    expect(written.map((b) => b.id)).toEqual(['b-0', 'b-1', 'b-2', 'b-3', 'b-4']);
    expect(dropped.map((b) => b.id)).toEqual(['b-5', 'b-6', 'b-7']);
    expect(spool.bytes).toBeLessThanOrEqual(one * 5 + 10);
    // what a batch was is what comes back: id, partition, times, whether it may have been stored
    expect({ ...decodeBatch(readFileSync(written[1]?.file as string)), data: undefined }).toEqual({ ...batch(1), data: undefined });

    const files = readdirSync(dir).sort().map((f) => join(dir, f));
    truncateSync(files[1] as string, one - 10); // cut short
    const flipped = readFileSync(files[3] as string);
    flipped.writeUInt8(flipped.readUInt8(flipped.length - 1) ^ 0xff, flipped.length - 1); // changed on disk
    writeFileSync(files[3] as string, flipped);
    writeFileSync(`${files[4] as string}.x.tmp`, 'a write the stop did not finish');
    const again = new BusSpool(dir, one * 5 + 10, log);
    expect(again.pending).toBe(5); // the temporary is gone, never counted
    const out: string[] = [];
    for (let b = again.next(); b; b = again.next()) {
      out.push(b.id);
      again.done(b.file as string);
    }
    expect(out).toEqual(['b-0', 'b-2', 'b-4']);
    expect(again.corrupt).toBe(2);
    expect(readdirSync(dir)).toEqual([]);
  });
});
