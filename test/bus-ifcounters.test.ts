/**
 * SNMP interface counters shared over a real 3-node nats-server cluster (R3 bucket) for the
 * flow-vs-SNMP cross-check (src/bus/ifcounters.ts): what a poller's SNMP emitter passes on reaches a
 * processor's taker, a processor that starts late gets each device's last poll at once, a poll's
 * records emitted over several ticks make one document, 64-bit counters cross exactly, and a
 * document no poller could have written is counted and skipped. The interface records are
 * generated (the end-to-end run with snmpd and pmacctd is test/xcheck-bus.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetRecord } from '../src/record/record.js';
import { makeRecord } from '../src/record/record.js';
import { busSchema } from '../src/bus/config.js';
import { SharedCounters, type CounterTaker } from '../src/bus/ifcounters.js';
import { NatsBus } from '../src/bus/nats.js';
import { createLogger } from '../src/log.js';
import { startNats, type NatsCluster } from './helpers/nats.js';
import { makeTmpDir, waitFor } from './helpers/net.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
let nats: NatsCluster;
const log = createLogger('silent');

beforeAll(async () => {
  tmp = await makeTmpDir('netvigil-ifcounters-');
  nats = await startNats(tmp.dir, 3);
}, 60_000);
afterAll(async () => {
  await nats?.stop();
  await tmp?.cleanup();
});

const iface = (device: string, ifIndex: number, t: number, i: bigint, o: bigint, source = 'snmp'): NetRecord =>
  makeRecord('interface', 'interface', { device, agent: '192.0.2.1', if_index: String(ifIndex), source }, { in_octets: i, out_octets: o, in_bps: 1.5 }, t, 'collector');

class Taker implements CounterTaker {
  readonly got: [string, string, number, number, number][] = [];
  counters(device: string, ifIndex: string, t: number, i: number, o: number): void {
    this.got.push([device, ifIndex, t, i, o]);
  }
  restrict(): void {}
}

describe('interface counters on the bus', () => {
  it('reach processors, late ones with each device\'s last poll; one document per poll; bad ones counted', async () => {
    const cfg = busSchema.parse({ nats: { servers: nats.urls, stream: 'IFCTEST', replicas: 3 } }).nats;
    const [pb, qb] = [await NatsBus.open(cfg, 'poller', log), await NatsBus.open(cfg, 'processor', log)];
    try {
      const poller = await SharedCounters.open(pb, cfg.stream, { share: true }, log);
      const passed: NetRecord[] = [];
      const emitter = poller.tap({ emit: (r) => passed.push(r), error: () => {} });
      const t1 = 1_800_000_000_000;
      const big = 2n ** 60n + 1n; // beyond 2^53: exact on the wire as a decimal string
      emitter.emit(iface('r1', 1, t1, 1000n, 2000n));
      emitter.emit(iface('r1', 2, t1, big, 5n));
      emitter.emit(iface('r1', 9, t1, 7n, 7n, 'sflow')); // an sFlow counter sample is not SNMP's
      emitter.emit(makeRecord('device', 'snmp_system', { device: 'r1' }, { uptime: 1n }, t1, 'collector'));
      await new Promise((r) => setImmediate(r));
      emitter.emit(iface('r2', 3, t1 + 10, 1n, 1n)); // another device, the same poll round
      emitter.emit(iface('r1', 3, t1, 30n, 40n)); // r1's poll, a tick later: merged into its document
      expect(passed).toHaveLength(6); // the SNMP collector's records all go on to the pipeline, unchanged
      const kv = await pb.kv('IFCTEST_ifcounters', 3_600_000);
      await waitFor('r1 put with all three SNMP interfaces', async () => ((await kv.get('r1'))?.value.length ?? 0) > 0 && JSON.parse(new TextDecoder().decode((await kv.get('r1'))?.value)).ifs.length === 3, 10_000, 50);
      const doc = JSON.parse(new TextDecoder().decode((await kv.get('r1'))?.value)) as { device: string; t: number; ifs: string[][] };
      expect(doc).toEqual({ device: 'r1', t: t1, ifs: [['1', '1000', '2000'], ['2', String(big), '5'], ['3', '30', '40']] });

      // a processor that starts now: r1's and r2's last polls at once
      const taker = new Taker();
      const proc = await SharedCounters.open(qb, cfg.stream, { share: false, take: taker }, log);
      await waitFor('both devices\' last polls', () => taker.got.length >= 4, 10_000, 20);
      expect(taker.got.filter((g) => g[0] === 'r1')).toEqual([['r1', '1', t1, 1000, 2000], ['r1', '2', t1, Number(big), 5], ['r1', '3', t1, 30, 40]]);
      expect(taker.got.filter((g) => g[0] === 'r2')).toEqual([['r2', '3', t1 + 10, 1, 1]]);
      // a processor does not put: its tap passes records through only
      const plain = { emit: () => {}, error: () => {} };
      expect(proc.tap(plain)).toBe(plain);

      // the next poll, live
      taker.got.length = 0;
      emitter.emit(iface('r1', 1, t1 + 5000, 1500n, 2500n));
      await waitFor('r1\'s next poll', () => taker.got.length >= 1, 10_000, 20);
      expect(taker.got).toEqual([['r1', '1', t1 + 5000, 1500, 2500]]);

      // documents no poller writes: counted, skipped, the watch goes on
      await kv.put('bad1', new TextEncoder().encode('{"device":"x","t":1,"ifs":[["1","-5","2"]]}'));
      await kv.put('bad2', new TextEncoder().encode('not json'));
      await waitFor('two bad documents', () => proc.stats.bad === 2, 10_000, 20);
      emitter.emit(iface('r2', 3, t1 + 5010, 2n, 2n));
      await waitFor('r2\'s next poll after them', () => taker.got.some((g) => g[0] === 'r2'), 10_000, 20);
      expect(taker.got.filter((g) => g[0] === 'x')).toEqual([]);
      expect(poller.stats).toMatchObject({ putErrors: 0, bad: 0 });
      expect(poller.stats.published).toBeGreaterThanOrEqual(3);
      expect(proc.stats).toMatchObject({ received: 4, bad: 2, published: 0 });
      poller.stop();
      proc.stop();
    } finally {
      await pb.close();
      await qb.close();
    }
  }, 60_000);
});
