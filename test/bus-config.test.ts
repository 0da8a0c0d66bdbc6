/**
 * `roles` and `bus.nats` in the config (problems with file, line and key), the datagram frame the
 * receivers publish, and the partition hash. The bus itself runs against real nats-server in
 * bus-nats.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { partitionOf } from '../src/bus/bus.js';
import { FrameBuilder, readFrame } from '../src/bus/frame.js';
import { deviceKey } from '../src/bus/pollers.js';
import { configSchema } from '../src/commands/common.js';
import { parseConfigText } from '../src/config/load.js';
import { configProblems } from './helpers/cli.js';

const parse = (text: string) => parseConfigText(text, 'nv.yaml', configSchema());

describe('roles and bus.nats', () => {
  it('defaults to every role and no bus: the single-process behaviour', () => {
    const c = parse('{}\n');
    expect(c.roles).toEqual(['receiver', 'processor', 'poller']);
    expect(c.bus).toBeUndefined();
  });

  it('takes a processor with a bus and fills the defaults', () => {
    const c = parse('instance: p1\nroles: [processor]\nbus:\n  nats:\n    servers: [nats://10.0.0.1:4222, tls://10.0.0.2:4222]\n    token_file: /run/secrets/nats\n');
    expect(c.bus?.nats).toMatchObject({ stream: 'NETVIGIL', partitions: 16, replicas: 1, lease_ttl: 16_000, batch_bytes: 256 * 1024, token_file: '/run/secrets/nats' });
  });

  it('reports split roles without a bus, a processor without an instance name, and bad keys, with their lines', () => {
    expect(configProblems(() => parse('roles: [receiver]\n'))).toEqual([expect.objectContaining({ file: 'nv.yaml', line: 1, path: 'roles', message: expect.stringContaining('need a bus') })]);
    const p = configProblems(() => parse('roles: [processor]\nbus:\n  nats:\n    partitions: 0\n    stream: "a.b"\n    token_file: /t\n    creds_file: /c\n    servers: [http://x]\n'));
    const at = Object.fromEntries(p.map((x) => [x.path, x.line]));
    expect(at).toMatchObject({ 'bus.nats.partitions': 4, 'bus.nats.stream': 5, 'bus.nats.creds_file': 7, 'bus.nats.servers[0]': 8 });
    expect(p.map((x) => x.path)).toContain('instance');
    // a poller holds device leases under its instance name too
    expect(configProblems(() => parse('roles: [poller]\nbus:\n  nats: {}\n'))).toEqual([expect.objectContaining({ path: 'instance', message: expect.stringContaining('a poller on the bus needs a unique instance name') })]);
  });

  it('refuses shard with a bus, at its line: pollers on a bus share devices by leases', () => {
    const p = configProblems(() => parse('instance: a\nshard: 1/2\nbus:\n  nats: {}\n'));
    expect(p).toEqual([expect.objectContaining({ file: 'nv.yaml', line: 2, path: 'shard', message: expect.stringContaining('not with a bus') })]);
    expect(parse('instance: a\nshard: 0/1\nbus:\n  nats: {}\n').shard).toBe('0/1');
  });

  it('keys a device lease by its name, one KV token whatever the name holds', () => {
    expect(deviceKey('core-1')).toBe('core-1');
    expect(deviceKey('sw.hq 1/ä')).toBe('sw_2ehq_201_2f_c3_a4');
    expect(deviceKey('a_b')).not.toBe(deviceKey('a.b'));
  });

  it('refuses an inline secret key: secrets are named by file', () => {
    const p = configProblems(() => parse('bus:\n  nats:\n    token: s3cret\n'));
    expect(p[0]).toMatchObject({ line: 3, path: 'bus.nats.token' });
  });
});

describe('bus frame', () => {
  it('carries datagrams with exporter address, port and receive time, in order', () => {
    const b = new FrameBuilder(16);
    const d1 = Uint8Array.from([0, 9, 1, 2, 3]);
    const d2 = new Uint8Array(3000).fill(7);
    b.add(d1, '192.0.2.1', 2055, 1_733_370_000_123);
    b.add(d2, '2001:db8::1', 65535, 1_733_370_000_456);
    expect(b.count).toBe(2);
    const frame = b.take();
    const got: [number[], string, number, number][] = [];
    expect(readFrame(frame, (d, a, p, t) => got.push([[...d.subarray(0, 5)], a, p, t]))).toBe(2);
    expect(got).toEqual([
      [[0, 9, 1, 2, 3], '192.0.2.1', 2055, 1_733_370_000_123],
      [[7, 7, 7, 7, 7], '2001:db8::1', 65535, 1_733_370_000_456],
    ]);
    expect(b.count).toBe(0);
  });

  it('refuses a frame cut short or of another version, without reading past it (generated input)', () => {
    const b = new FrameBuilder(64);
    b.add(new Uint8Array(100), '192.0.2.1', 2055, 1);
    const frame = b.take();
    for (const cut of [5, 20, frame.length - 1]) expect(() => readFrame(frame.subarray(0, cut), () => {})).toThrow(/cut short/);
    const other = Uint8Array.from(frame);
    other[0] = 2;
    expect(() => readFrame(other, () => {})).toThrow(/version 2/);
  });
});

describe('partitionOf', () => {
  it('is stable and spreads exporters', () => {
    expect(partitionOf('192.0.2.1', 16)).toBe(partitionOf('192.0.2.1', 16));
    const seen = new Set<number>();
    for (let i = 0; i < 64; i++) seen.add(partitionOf(`10.0.0.${i}`, 8));
    expect(seen.size).toBe(8);
  });
});
