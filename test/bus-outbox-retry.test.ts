/**
 * An interval written ahead (src/bus/outbox.ts writeAhead) while its buckets have no quorum, against
 * a real 3-node nats-server cluster with R3 buckets. Two nodes are SIGKILLed, so every write is
 * refused, as for 5-7 s after a node's loss while a bucket elects a leader. Before, the first
 * refused put of the outbox entry fenced the processor (its partitions moved, its open interval was
 * decoded again by their next owners): about one fence per surviving processor in each node-kill
 * run at lease_ttl 16 s (test/bus-nats.test.ts prints them). Now the put and the lease's relabel are
 * sent again while the lease is still provable, and the interval goes through once the nodes are
 * back. A lease that cannot be proved any more is still refused at once.
 */
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyValue } from '../src/bus/bus.js';
import { busSchema } from '../src/bus/config.js';
import { LeaseProof } from '../src/bus/fence.js';
import { LeaseTable } from '../src/bus/leases.js';
import { NatsBus } from '../src/bus/nats.js';
import { leaseValue, Outbox, readLease, writeAhead, type Covered } from '../src/bus/outbox.js';
import { createLogger } from '../src/log.js';
import { makeRecord, type NetRecord } from '../src/record/record.js';
import { startNats, type NatsCluster } from './helpers/nats.js';
import { makeTmpDir } from './helpers/net.js';
import type { Daemon } from './helpers/proc.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
let nats: NatsCluster;
let bus: NatsBus | undefined;
let leases: LeaseTable;
let leasesKv: KeyValue;
const outbox = new Outbox('p1', 'p1', () => {});
const log = createLogger('silent');
/** The proof holds for TTL - TTL/3 = 40 s: longer than two nodes' restart and an election on a loaded machine. */
const TTL_MS = 60_000;
const proof = new LeaseProof(TTL_MS);
const covered: Covered = { p: 0, o: { committed: 0, out: [] }, last: { seq: 5 } };

beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-busobretry-');
  nats = await startNats(tmp.dir, 3);
  const cfg = busSchema.parse({ nats: { servers: nats.urls, stream: 'OBR', partitions: 4, replicas: 3 } }).nats;
  bus = await NatsBus.open(cfg, 'outbox-retry-test', log);
  leases = await LeaseTable.open(bus, 'OBR_leases', {
    owner: 'p1',
    ttlMs: TTL_MS,
    unit: 'part',
    member: 'member',
    expireMs: 0,
    value: () => leaseValue('p1', covered.o.out),
    proof: { now: () => proof.now(), renewed: (u, sent) => proof.renewed(Number(u), sent) },
    log,
  });
  leasesKv = await bus.kv('OBR_leases', 0);
  outbox.attach(await bus.kv('OBR_outbox', 0));
  await leases.acquire(['0'], 1, Date.now() + 20_000, async () => {}, () => false);
}, 60_000);
afterAll(async () => {
  await leases?.close();
  await bus?.close(2000);
  await nats?.stop();
  await tmp?.cleanup();
});

/** Index in `nats.nodes` of the node leading a stream (nodes are named n0, n1, n2). */
async function leaderOf(stream: string): Promise<number> {
  const nc = await connect({ servers: nats.urls });
  try {
    const leader = (await (await nc.jetstreamManager()).streams.info(stream)).cluster?.leader ?? '';
    const i = Number(/^n(\d)$/.exec(leader)?.[1] ?? NaN);
    if (!(i >= 0 && i < 3)) throw new Error(`${stream} leader ${leader} is none of our nodes`);
    return i;
  } finally {
    await nc.close();
  }
}

const records = (n: number): NetRecord[] => Array.from({ length: n }, (_, i) => makeRecord('flow', 'flow_agg', { exporter: '192.0.2.1', proto: String(i) }, { flows: 1n, bytes: 100n }, 1_700_000_000_000, 'collector'));

describe('writing an interval ahead while the buckets have no quorum (3-node NATS cluster, R3)', () => {
  it('goes through once the nodes are back, where one put was refused; an unprovable lease is refused at once', async () => {
    expect(leases.has('0')).toBe(true);
    expect(proof.holds(0)).toBe(true);
    // the outbox bucket's leader and one other node: no bucket has a quorum now
    const leader = await leaderOf('KV_OBR_outbox');
    const killed = [leader, (leader + 1) % 3];
    for (const i of killed) (nats.nodes[i] as Daemon).proc.kill('SIGKILL');
    // one attempt, as before this change: refused (no responders, or a timeout)
    await expect(outbox.put({ '0': 5 }, records(3))).rejects.toThrow();
    // a lease we cannot prove: refused without waiting for the bucket
    const unprovable = await writeAhead(outbox, [covered], records(3), () => false, () => Promise.resolve(true));
    expect(unprovable.refused).toMatch(/not provably ours/);

    const going = writeAhead(outbox, [covered], records(3), () => proof.holds(0), (_moved, still) => leases.relabel(['0'], still));
    const pending = await Promise.race([going.then(() => false), new Promise<true>((r) => setTimeout(() => r(true), 2000))]);
    expect(pending).toBe(true); // still trying while no bucket can answer
    await Promise.all(killed.map((i) => nats.restart(i)));
    const r = await going;
    expect(r.refused).toBeUndefined();
    expect(r.id).toBeDefined();
    expect(proof.holds(0)).toBe(true);
    // the lease names the entry, and the entry is whole: a taker would write these records again
    const lease = await leasesKv.get('part.0');
    expect(readLease(lease?.value).out).toEqual([{ id: r.id, seq: 5 }]);
    const replayed: NetRecord[] = [];
    const taker = new Outbox('p2', 'p2', (x) => replayed.push(x));
    taker.attach(await (bus as NatsBus).kv('OBR_outbox', 0));
    expect(await taker.replay([{ id: r.id as string, seq: 5 }], 0)).toBe(5);
    expect(replayed.map((x) => x.tags.proto)).toEqual(['0', '1', '2']);
  }, 120_000);
});
