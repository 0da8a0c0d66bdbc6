/**
 * Property/fuzz tests for the NetFlow v5/v9/IPFIX decoders (habit 11): random, truncated and
 * bit-flipped datagrams, zero-length sets and absurd counts may only ever produce a DecodeError;
 * the processor behind the socket never throws, and the template store stays within its caps.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlowProcessor } from '../collectors/flow/processor.js';
import type { FlowMessage } from '../collectors/netflow/compile.js';
import { decodeIpfix } from '../collectors/netflow/ipfix.js';
import { OptionsState, normalizeData } from '../collectors/netflow/normalize.js';
import { TemplateStore } from '../collectors/netflow/templates.js';
import { decodeV5 } from '../collectors/netflow/v5.js';
import { decodeV9 } from '../collectors/netflow/v9.js';
import { DecodeError } from '../src/errors.js';
import { Bytes, buildV5, ipfixMessage, ipfixTemplate, set, v9Message, v9OptionsTemplate, v9Template } from './helpers/flow-build.js';

const EXP = '198.51.100.1:9995';

function onlyDecodeErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
  }
}

function seeds(): Uint8Array[] {
  const v9 = v9Message({ uptime: 5000, secs: 1_700_000_000, seq: 3, sourceId: 1 }, [
    set(0, v9Template(256, [[8, 4], [12, 4], [1, 4], [2, 4], [7, 2], [11, 2], [4, 1], [22, 4], [21, 4]])),
    set(1, v9OptionsTemplate(257, [[1, 4]], [[34, 4], [35, 1]]), 2),
    set(257, new Bytes().u32(0).u32(100).u8(2).build(), 3),
    set(256, new Bytes().ip4('10.0.0.1').ip4('10.0.0.2').u32(100).u32(2).u16(1).u16(2).u8(6).u32(1).u32(2).build(), 3),
  ]);
  const ipfix = ipfixMessage({ secs: 1_700_000_000, seq: 9, domain: 2 }, [
    set(2, ipfixTemplate(300, [[27, 16], [28, 16], [1, 8], [82, 65535], [5, 2, 9], [292, 65535], [152, 8]])),
    set(3, ipfixTemplate(301, [[149, 4], [305, 4], [306, 4]], 1)),
    set(301, new Bytes().u32(2).u32(1).u32(9).build()),
    set(300, new Bytes().raw(new Array<number>(32).fill(1)).u64(99n).u8(2).raw([65, 66]).u16(7).u8(255).u16(3).raw([1, 2, 3]).u64(1n).build(), 1),
  ]);
  const v5 = buildV5({ uptime: 1, secs: 2, seq: 3 }, [{ src: '1.1.1.1', dst: '2.2.2.2', packets: 1, bytes: 2, first: 0, last: 1, srcPort: 3, dstPort: 4, proto: 17 }]);
  return [v9, ipfix, v5];
}

/** Real-looking sFlow datagrams from the sFlow golden cases, to mutate through the processor. */
function sflowSeeds(): Uint8Array[] {
  const root = join(import.meta.dirname, '..', 'collectors', 'sflow', 'testcases');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((c) =>
    readdirSync(join(root, c)).filter((f) => f.endsWith('.bin')).map((f) => new Uint8Array(readFileSync(join(root, c, f)))),
  );
}

function decodeAll(buf: Uint8Array, store: TemplateStore, state: OptionsState): void {
  onlyDecodeErrors(() => decodeV5(buf));
  for (const dec of [decodeV9, decodeIpfix]) {
    onlyDecodeErrors(() => {
      const m = dec(buf, EXP, store, 0);
      for (const r of m.records) {
        if (r.tpl.def.options) state.apply(r, 'x');
        else normalizeData(r, 'x', state, 0);
      }
    });
  }
}

describe('NetFlow/IPFIX decoders under fuzzing', () => {
  it('random bytes (with a plausible version word) only raise DecodeError', () => {
    const store = new TemplateStore({ maxTemplates: 64 });
    const state = new OptionsState();
    fc.assert(
      fc.property(fc.constantFrom(5, 9, 10), fc.uint8Array({ maxLength: 1500 }), (v, body) => {
        const buf = new Uint8Array(body.length + 2);
        buf[1] = v;
        buf.set(body, 2);
        decodeAll(buf, store, state);
      }),
      { numRuns: 3000 },
    );
    expect(store.stats().templates).toBeLessThanOrEqual(64);
  });

  it('truncated and bit-flipped real-looking datagrams only raise DecodeError', () => {
    const base = seeds();
    fc.assert(
      fc.property(
        fc.constantFrom(...base),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { maxLength: 8 }),
        fc.option(fc.nat(), { nil: undefined }),
        (seed, flips, cut) => {
          const buf = seed.slice(0, cut === undefined ? seed.length : cut % (seed.length + 1));
          for (const [pos, bit] of flips) if (buf.length) buf[pos % buf.length] = (buf[pos % buf.length] as number) ^ (1 << bit);
          decodeAll(buf, new TemplateStore({ maxTemplates: 16, pendingMaxSets: 4 }), new OptionsState());
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('zero-length sets and absurd counts and lengths are refused quickly', () => {
    const store = new TemplateStore();
    // a refused set is reported in the message's errors (its other sets are kept, see decoders.test)
    const refused = (m: FlowMessage): string => {
      expect(m.errors.every((e) => e instanceof DecodeError)).toBe(true);
      return m.errors.map((e) => e.message).join('\n');
    };
    // four zero bytes after the header are padding (exporters pad datagrams), not a set to loop on
    const zeroPad = decodeV9(v9Message({ uptime: 0, secs: 0, seq: 0, sourceId: 0 }, [new Bytes().u16(0).u16(0).build()]), EXP, store, 0);
    expect([zeroPad.errors, zeroPad.records]).toEqual([[], []]);
    const zeroSet = v9Message({ uptime: 0, secs: 0, seq: 0, sourceId: 0 }, [new Bytes().u16(256).u16(0).build()]);
    expect(refused(decodeV9(zeroSet, EXP, store, 0))).toMatch(/bad_set_length/);
    const zeroIpfix = ipfixMessage({ secs: 0, seq: 0, domain: 0 }, [new Bytes().u16(256).u16(0).build()]);
    expect(refused(decodeIpfix(zeroIpfix, EXP, store, 0))).toMatch(/bad_set_length/);
    // a template claiming 65535 fields in a 12-byte set
    const manyFields = v9Message({ uptime: 0, secs: 0, seq: 0, sourceId: 0 }, [set(0, new Bytes().u16(256).u16(65535).u32(0).build())]);
    expect(refused(decodeV9(manyFields, EXP, store, 0))).toMatch(/too_many_fields|truncated/);
    // a set length past the end of the datagram
    const longSet = ipfixMessage({ secs: 0, seq: 0, domain: 0 }, [new Bytes().u16(256).u16(60000).u32(0).build()]);
    expect(refused(decodeIpfix(longSet, EXP, store, 0))).toMatch(/truncated/);
    // IPFIX header length larger than the datagram
    const bad = ipfixMessage({ secs: 0, seq: 0, domain: 0 }, []);
    bad[2] = 0xff;
    expect(refused(decodeIpfix(bad, EXP, store, 0))).toMatch(/truncated/);
    // v5 count of 65535
    const v5 = buildV5({ uptime: 1, secs: 1, seq: 1 }, []);
    v5[2] = 0xff;
    v5[3] = 0xff;
    expect(() => decodeV5(v5)).toThrow(DecodeError);
    // templates whose records would have no length (every field 0 bytes) must not loop
    const zeroLen = v9Message({ uptime: 0, secs: 0, seq: 0, sourceId: 0 }, [set(0, v9Template(300, [[1, 0], [2, 0]])), set(300, new Uint8Array(8))]);
    expect(refused(decodeV9(zeroLen, EXP, store, 0))).toMatch(/bad_template/);
    const zeroIpfixTpl = ipfixMessage({ secs: 0, seq: 0, domain: 0 }, [set(2, ipfixTemplate(301, [[1, 0]])), set(301, new Uint8Array(8))]);
    expect(refused(decodeIpfix(zeroIpfixTpl, EXP, store, 0))).toMatch(/bad_template/);
    // a variable-length field whose 3-byte length prefix claims more than is there
    decodeIpfix(ipfixMessage({ secs: 0, seq: 0, domain: 0 }, [set(2, ipfixTemplate(260, [[82, 65535]]))]), EXP, store, 0);
    const varLen = ipfixMessage({ secs: 0, seq: 0, domain: 0 }, [set(260, new Bytes().u8(255).u16(9000).u8(1).build())]);
    expect(refused(decodeIpfix(varLen, EXP, store, 0))).toMatch(/truncated/);
  });

  it('the processor never throws and keeps pending data and templates bounded', () => {
    const store = new TemplateStore({ maxTemplates: 32, pendingMaxSets: 4, pendingMaxBytes: 4096, pendingMaxTotalSets: 20 });
    let emitted = 0;
    const p = new FlowProcessor(
      { collector: 'flow', store, raw: true, maxExporters: 8 },
      { emit: () => void emitted++, aggregate: () => undefined, interfaces: () => undefined, clockOffset: () => undefined, internalError: (e) => { throw e; } },
    );
    const base = [...seeds(), ...sflowSeeds()];
    expect(base.length).toBeGreaterThan(3);
    fc.assert(
      fc.property(fc.constantFrom(...base), fc.uint8Array({ maxLength: 64 }), fc.nat({ max: 20 }), fc.integer({ min: 256, max: 300 }), (seed, noise, exp, tid) => {
        const buf = seed.slice();
        buf.set(noise.subarray(0, Math.max(0, buf.length - 20)), 20);
        expect(() => p.handle(buf, `192.0.2.${exp}`, 2055, 0)).not.toThrow();
        // data sets for templates that never come: parked until the buffer is full
        const orphan = v9Message({ uptime: 0, secs: 0, seq: 0, sourceId: 0 }, [set(tid, new Uint8Array(100))]);
        expect(() => p.handle(orphan, '192.0.2.1', 2055, 0)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
    const st = store.stats();
    expect(st.templates).toBeLessThanOrEqual(32);
    expect(st.pendingSets).toBeLessThanOrEqual(20);
    expect(st.pendingDropped).toBeGreaterThan(0);
    expect(p.exporterNames().length).toBeLessThanOrEqual(8);
    expect(emitted).toBeGreaterThan(0);
  });
});
