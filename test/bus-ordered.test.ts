/**
 * A partition read by stream sequence (src/bus/ordered.ts) against a real nats-server: its messages
 * only, in publish order, none twice; a second reader starts right after the last commit (an offset
 * in KV, no consumer); after `stop` nothing more is handed on. Messages are generated (their
 * content is a counter: the order is what is tested). The loss of a node is tested on a cluster in
 * bus-nats.test.ts. Also: a KV bucket that exists with another expiry is given the one asked for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessage } from '../src/bus/bus.js';
import { busSchema } from '../src/bus/config.js';
import { NatsBus } from '../src/bus/nats.js';
import { createLogger } from '../src/log.js';
import { startNats, type NatsCluster } from './helpers/nats.js';
import { makeTmpDir, waitFor } from './helpers/net.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
let nats: NatsCluster;
const log = createLogger('silent');

beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-busord-');
  nats = await startNats(tmp.dir, 1);
}, 30_000);
afterAll(async () => {
  await nats?.stop();
  await tmp?.cleanup();
});

const counter = (m: BusMessage): number => new DataView(m.data.buffer, m.data.byteOffset).getUint32(0);
const message = (i: number): Uint8Array => {
  const d = new Uint8Array(4);
  new DataView(d.buffer).setUint32(0, i);
  return d;
};

describe('bus partition read by stream sequence', () => {
  it('hands on one partition\'s messages in order, none twice, resumes after the commit, and stops', async () => {
    const cfg = busSchema.parse({ nats: { servers: nats.urls, stream: 'ORDTEST', partitions: 2 } }).nats;
    const bus = await NatsBus.open(cfg, 'ord-test', log);
    try {
      // even counters to partition 0, odd ones to 1, interleaved in the stream
      for (let i = 0; i < 200; i++) await bus.publish(i % 2, message(i), `m${i}`);
      const got: BusMessage[] = [];
      const first = await bus.consume(0, (m) => got.push(m));
      await waitFor('100 messages of partition 0', () => got.length >= 100, 10_000, 20);
      expect(got.map(counter)).toEqual(Array.from({ length: 100 }, (_, i) => 2 * i));
      expect(got.every((m, i) => m.partition === 0 && (i === 0 || m.seq > (got[i - 1] as BusMessage).seq))).toBe(true);
      // published while reading: picked up by the poll, still in order
      for (let i = 200; i < 220; i++) await bus.publish(i % 2, message(i), `m${i}`);
      await waitFor('110 messages of partition 0', () => got.length >= 110, 10_000, 20);
      await first.commit(got[59] as BusMessage);
      await first.stop();
      const stoppedAt = got.length;
      await bus.publish(0, message(1000), 'm1000');
      await new Promise((r) => setTimeout(r, 1200));
      expect(got.length).toBe(stoppedAt);
      // the next owner: from the message after the commit (counter 120) to the newest, nothing else
      const again: BusMessage[] = [];
      const second = await bus.consume(0, (m) => again.push(m));
      await waitFor('the uncommitted messages again', () => again.length >= 51, 10_000, 20);
      await new Promise((r) => setTimeout(r, 600));
      expect(again.map(counter)).toEqual([...Array.from({ length: 50 }, (_, i) => 120 + 2 * i), 1000]);
      await second.stop();
    } finally {
      await bus.close();
    }
  }, 60_000);
});

describe('a KV bucket made with another expiry', () => {
  it('is set to the expiry asked for, so an old leases bucket no longer expires what must be kept', async () => {
    const cfg = busSchema.parse({ nats: { servers: nats.urls, stream: 'TTLTEST', partitions: 1 } }).nats;
    const bus = await NatsBus.open(cfg, 'ttl-test', log);
    try {
      // an earlier version's bucket: entries gone after 1 s
      const old = await bus.kv('TTLTEST_leases', 1000);
      await old.put('lease.0', new TextEncoder().encode('owner'));
      const now = await bus.kv('TTLTEST_leases', 60_000);
      await now.put('lease.1', new TextEncoder().encode('owner'));
      await new Promise((r) => setTimeout(r, 2500));
      expect(await now.get('lease.1')).toBeDefined();
    } finally {
      await bus.close();
    }
  }, 20_000);
});
