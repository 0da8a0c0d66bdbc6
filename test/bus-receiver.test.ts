/**
 * The receiver's batching against a real nats-server: every datagram lands once, in its exporter's
 * partition, in batches no larger than batch_bytes; with the server gone, the buffer stays bounded
 * and what it cannot hold is dropped and counted (datagrams are generated: the content is not
 * what is tested).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../src/bus/bus.js';
import { busSchema } from '../src/bus/config.js';
import { readFrame } from '../src/bus/frame.js';
import { NatsBus } from '../src/bus/nats.js';
import { BusReceiver } from '../src/bus/receiver.js';
import { createLogger } from '../src/log.js';
import { startNats, type NatsCluster } from './helpers/nats.js';
import { makeTmpDir, waitFor } from './helpers/net.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
let nats: NatsCluster;
const log = createLogger('silent');

beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-busrx-');
  nats = await startNats(tmp.dir, 1);
}, 30_000);
afterAll(async () => {
  await nats?.stop();
  await tmp?.cleanup();
});

describe('bus receiver', () => {
  it('publishes every datagram once, in its exporter\'s partition, in bounded batches; drops and counts beyond its buffer while NATS is away', async () => {
    const cfg = busSchema.parse({ nats: { servers: nats.urls, stream: 'RXTEST', partitions: 4 } }).nats;
    const bus = await NatsBus.open(cfg, 'rx-test', log);
    // 1000 datagrams in one turn of the loop, before any publish can complete: a buffer that holds them
    const rx = new BusReceiver(bus, { batchBytes: 4096, batchDelayMs: 20, bufferBytes: 1024 * 1024 }, log);
    const exporters = Array.from({ length: 10 }, (_, i) => `192.0.2.${i + 1}`);
    for (let i = 0; i < 1000; i++) {
      const d = new Uint8Array(100).fill(i & 255);
      new DataView(d.buffer).setUint32(0, i);
      rx.forward(d, exporters[i % 10] as string, 2055, 1_700_000_000_000 + i);
    }
    await rx.close(10_000);
    expect(rx.stats).toMatchObject({ datagrams: 1000, droppedDatagrams: 0, retries: 0 });

    const seen = new Set<number>();
    let frames = 0;
    const consumers = [];
    for (let p = 0; p < 4; p++) {
      consumers.push(
        await bus.consume(p, (m) => {
          frames++;
          expect(m.data.byteLength).toBeLessThanOrEqual(4096);
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
    expect(frames).toBe(rx.stats.published);
    expect(frames).toBeGreaterThan(1000 / 40); // batched: about 35 datagrams of 114 bytes per 4 KiB frame

    // NATS gone: publishes fail, the buffer fills to its bound, the oldest batches are dropped and counted
    await nats.stop();
    const down = new BusReceiver(bus, { batchBytes: 4096, batchDelayMs: 20, bufferBytes: 64 * 1024 }, log);
    for (let i = 0; i < 3000; i++) down.forward(new Uint8Array(100), exporters[i % 10] as string, 2055, Date.now());
    await down.close(300);
    expect(down.stats.droppedDatagrams).toBeGreaterThan(0);
    expect(down.stats.queuedBytes).toBeLessThanOrEqual(64 * 1024 + 4096);
    expect(down.stats.published).toBe(0);
    // what was neither published nor dropped by the buffer when the stop deadline came is counted too
    expect(down.stats.droppedDatagrams).toBe(3000);
    expect(down.stats.droppedBatches).toBe(down.stats.batches);
    await bus.close().catch(() => {});
  }, 60_000);
});
