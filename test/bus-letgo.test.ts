/**
 * A processor letting a partition lease go (src/bus/letgo.ts) against a real 3-node nats-server
 * cluster with an R3 bucket. The fault is caused for real: two nodes are SIGKILLed, so the bucket
 * has no quorum and refuses every write, as it does for 4-9 s after a node's loss while it elects
 * a leader (the node-kill suite lost the messages of partitions whose lease delete met that window,
 * 2 runs of 15, README "Scale-out"). A delete sent once, as before, leaves the lease naming its
 * holder, so nobody takes the partition until the lease has aged a TTL; the retried delete removes
 * it once the bucket answers again. And a lease that moved on to another holder is never deleted.
 */
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyValue } from '../src/bus/bus.js';
import { busSchema } from '../src/bus/config.js';
import { letGo } from '../src/bus/letgo.js';
import { NatsBus } from '../src/bus/nats.js';
import { leaseValue, readLease } from '../src/bus/outbox.js';
import { createLogger } from '../src/log.js';
import { startNats, type NatsCluster } from './helpers/nats.js';
import { makeTmpDir, waitFor } from './helpers/net.js';
import type { Daemon } from './helpers/proc.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
let nats: NatsCluster;
let bus: NatsBus | undefined;
let kv: KeyValue;
const log = createLogger('silent');
/** Long enough that only the retried delete, never the lease's age, can free a key within the test. */
const TTL_MS = 120_000;

beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-busletgo-');
  nats = await startNats(tmp.dir, 3);
  const cfg = busSchema.parse({ nats: { servers: nats.urls, stream: 'LETGO', partitions: 4, replicas: 3 } }).nats;
  bus = await NatsBus.open(cfg, 'letgo-test', log);
  kv = await bus.kv('LETGO_leases', 0);
}, 60_000);
afterAll(async () => {
  await bus?.close(2000);
  await nats?.stop();
  await tmp?.cleanup();
});

/** Index in `nats.nodes` of the node leading the leases bucket (nodes are named n0, n1, n2). */
async function bucketLeader(): Promise<number> {
  const nc = await connect({ servers: nats.urls });
  try {
    const leader = (await (await nc.jetstreamManager()).streams.info('KV_LETGO_leases')).cluster?.leader ?? '';
    const i = Number(/^n(\d)$/.exec(leader)?.[1] ?? NaN);
    if (!(i >= 0 && i < 3)) throw new Error(`bucket leader ${leader} is none of our nodes`);
    return i;
  } finally {
    await nc.close();
  }
}

const holder = async (key: string): Promise<string | undefined> => {
  const e = await kv.get(key);
  return e ? readLease(e.value).o : undefined;
};
const attempt = (key: string, revision: number, heldAgain = (): boolean => false): Promise<boolean> =>
  letGo({ kv, key, holder: 'p1', revision, heldAgain, ttlMs: TTL_MS, log });

describe('letting a partition lease go (3-node NATS cluster, R3 bucket)', () => {
  it('deletes our lease, also after a renewal of ours moved its revision, and never one another holder took', async () => {
    const a = (await kv.create('part.0', leaseValue('p1', []))) as number;
    expect(await attempt('part.0', a)).toBe(true);
    expect(await kv.get('part.0')).toBeUndefined();

    const b = (await kv.create('part.1', leaseValue('p1', []))) as number;
    expect(await kv.update('part.1', leaseValue('p1', []), b)).toBeGreaterThan(b); // our renewal, still in flight at the release
    expect(await attempt('part.1', b)).toBe(true);
    expect(await kv.get('part.1')).toBeUndefined();

    const c = (await kv.create('part.2', leaseValue('p1', []))) as number;
    expect(await kv.update('part.2', leaseValue('p2', []), c)).toBeGreaterThan(c); // taken by p2 meanwhile
    expect(await attempt('part.2', c)).toBe(false);
    expect(await holder('part.2')).toBe('p2');

    const d = (await kv.create('part.3', leaseValue('p1', []))) as number;
    expect(await attempt('part.3', d, () => true)).toBe(false); // we hold the partition again
    expect(await holder('part.3')).toBe('p1');
  });

  it('a lease released while its bucket has no quorum: deleted once the bucket answers again, where one delete left it', async () => {
    const retried = (await kv.create('part.10', leaseValue('p1', []))) as number;
    await kv.create('part.11', leaseValue('p1', []));
    // the bucket's leader and one follower: the survivor, a follower, stores no write (a leader
    // left alone could append one and commit it once the others return, test/bus-spool.test.ts)
    const leader = await bucketLeader();
    const killed = [leader, (leader + 1) % 3];
    for (const i of killed) (nats.nodes[i] as Daemon).proc.kill('SIGKILL');
    // the release before this change: one delete, refused (no responders, or a timeout)
    await expect(kv.delete('part.11')).rejects.toThrow();
    const going = attempt('part.10', retried);
    const refused = await Promise.race([going.then(() => false), new Promise<true>((r) => setTimeout(() => r(true), 2000))]);
    expect(refused).toBe(true); // still retrying while the bucket cannot answer
    await Promise.all(killed.map((i) => nats.restart(i)));
    // an election, then the next attempt (250 ms apart): well inside the 120 s TTL of the retries
    expect(await going).toBe(true);
    await waitFor('the bucket answering', () => kv.get('part.11').then(() => true, () => false), 30_000, 250);
    // read back from any replica (direct get): one that has applied the acknowledged delete
    await waitFor('part.10 gone', async () => (await kv.get('part.10')) === undefined, 10_000, 250);
    // what one delete left: the lease still names p1, and nobody renews it, so no one else may take
    // its partition until it has aged a whole TTL
    expect(await holder('part.11')).toBe('p1');
  }, 90_000);
});
