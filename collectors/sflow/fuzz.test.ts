import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/errors.js';
import { decodeSflow, normalizeSflow, toJsonl, type SflowDatagram } from './index.js';
import { ethernet, ipv4, ipv6, mpls, tcp, udp } from './testpackets.js';
import {
  counterSample, datagram, discardSample, extGateway, extRouter, extSwitch, flowSample, genericCounters, record,
  sampledHeader, sampledIp, u32Block,
} from './testutil.js';

/**
 * Property tests: whatever the bytes, decodeSflow returns or throws a DecodeError (never another
 * error, never hangs), and what it returns is bounded by the input size and normalizes cleanly.
 */

const v4 = ethernet({ vlans: [{ tpid: 0x88a8, vid: 5 }, { vid: 6 }], etherType: 0x8847, payload: mpls([100, 200], ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, payload: udp(1, 2) })) });
const v6 = ethernet({ etherType: 0x86dd, payload: ipv6({ src: '2001:db8::1', dst: '2001:db8::2', proto: 6, ext: [[0, new Uint8Array(6)]], payload: tcp(3, 4, 2) }) });
const SEED = datagram({
  agent: '2001:db8::77',
  samples: [
    flowSample({ samplingRate: 100, records: [sampledHeader(v4, 1000), extSwitch(1, 2, 3, 4), extRouter('10.0.0.254', 24, 24)] }),
    flowSample({ expanded: true, records: [sampledHeader(v6, 1500), extGateway({ nextHop: '::1', as: 1, srcAs: 2, srcPeerAs: 3, path: [[2, [4, 5]], [1, [6]]], communities: [7] })] }),
    flowSample({ records: [sampledIp({ length: 40, proto: 6, src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2 })] }),
    counterSample({ records: [genericCounters({ ifIndex: 1, inOctets: 1n, inUcast: 1, outOctets: 1n, outUcast: 1 }), u32Block(2, new Array<number>(13).fill(1))] }),
    counterSample({ expanded: true, records: [record(2000, (x) => x.string('h').fixed(new Uint8Array(16)).u32(1).u32(2).string('r')), record(1001, (x) => x.u32(1).u32(2).u32(3).u64(4n).u64(5n))] }),
    discardSample({ reason: 259, records: [sampledHeader(v4, 60), record(1042, (x) => x.string('NOMEM'))] }),
  ],
});

function check(buf: Uint8Array): SflowDatagram | undefined {
  let d: SflowDatagram;
  try {
    d = decodeSflow(buf);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    expect(e.protocol).toBe('sflow');
    expect(e.offset).toBeGreaterThanOrEqual(0);
    expect(e.offset).toBeLessThanOrEqual(buf.byteLength);
    return undefined;
  }
  // Bounded output: every sample and record took at least 8 bytes of input.
  expect(d.samples.length * 8).toBeLessThanOrEqual(buf.byteLength);
  for (const s of d.samples) {
    if (s.kind === 'flow' || s.kind === 'discard') {
      expect((s.packet.asPath?.length ?? 0) * 4).toBeLessThanOrEqual(buf.byteLength);
      expect((s.packet.communities?.length ?? 0) * 4).toBeLessThanOrEqual(buf.byteLength);
    }
  }
  normalizeSflow(d, '127.0.0.1', 0);
  JSON.stringify(toJsonl(d));
  return d;
}

describe('sFlow decoder fuzz', () => {
  it('decodes the seed (sanity: the mutations start from a valid datagram)', () => {
    const d = check(SEED);
    expect(d?.samples).toHaveLength(6);
  });

  it('random bytes: only DecodeError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), (b) => void check(b)), { numRuns: 3000 });
  });

  it('random bytes behind a valid v5 header: only DecodeError', () => {
    const head = SEED.subarray(0, 32);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1500 }), (b) => {
      const buf = new Uint8Array(head.byteLength + b.byteLength);
      buf.set(head);
      buf.set(b, head.byteLength);
      check(buf);
    }), { numRuns: 3000 });
  });

  it('every truncation of the seed: only DecodeError', () => {
    for (let n = 0; n < SEED.byteLength; n++) expect(check(SEED.subarray(0, n))).toBeUndefined();
  });

  it('bit flips and byte overwrites of the seed: only DecodeError', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(SEED.byteLength - 1), fc.nat(7)), { minLength: 1, maxLength: 8 }), (flips) => {
      const b = SEED.slice();
      for (const [i, bit] of flips) b[i] = (b[i] ?? 0) ^ (1 << bit);
      check(b);
    }), { numRuns: 5000 });
    fc.assert(fc.property(fc.nat(SEED.byteLength - 4), fc.constantFrom(0, 1, 0x7fffffff, 0xffffffff, 0x80000000, 0x3fffffff), (at, v) => {
      const b = SEED.slice();
      new DataView(b.buffer).setUint32(at & ~3, v);
      check(b);
    }), { numRuns: 3000 });
  });

  it('absurd counts and lengths fail fast instead of allocating or looping', () => {
    const t0 = Date.now();
    const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
    // num_samples (offset 24 with an IPv4 agent), then every 4-byte word set to 0xffffffff one at a time.
    const a = datagram({ samples: [flowSample({ records: [sampledHeader(v4, 100)] })] });
    dv(a).setUint32(24, 0xffffffff);
    expect(check(a)).toBeUndefined();
    const base = datagram({ samples: [flowSample({ records: [sampledHeader(v4, 100), extGateway({ nextHop: '1.1.1.1', as: 1, srcAs: 1, srcPeerAs: 1, path: [[2, [1]]] })] })] });
    for (let at = 0; at + 4 <= base.byteLength; at += 4) {
      const b = base.slice();
      dv(b).setUint32(at, 0xfffffff0);
      check(b);
    }
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
