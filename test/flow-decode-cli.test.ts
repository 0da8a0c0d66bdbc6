/**
 * `netvigil decode`: classic pcap with two exporters (templates kept apart by source port), line
 * protocol output, malformed packets named by file/packet/offset/field, exit codes.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bytes, buildV5, set, v9Message, v9Template } from './helpers/flow-build.js';
import { makeTmpDir } from './helpers/net.js';
import { writePcap } from './helpers/pcap.js';
import { decodeCaptured } from './helpers/decode.js';
import { hexToBytes } from './helpers/hex.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => (tmp = await makeTmpDir('netvigil-decode-')));
afterAll(async () => tmp.cleanup());

const run = decodeCaptured;

function capture(): string {
  // exporter A (port 1001) and exporter B (port 1002) both use template 256, with different layouts
  const a = (b: Uint8Array) => ({ ts: 1_700_000_000, src: '192.0.2.1', dst: '192.0.2.100', proto: 17 as const, srcPort: 1001, dstPort: 2055, payload: b });
  const b = (x: Uint8Array) => ({ ...a(x), srcPort: 1002 });
  const hdr = { uptime: 10_000, secs: 1_700_000_000, seq: 1, sourceId: 0 };
  const file = join(tmp.dir, 'two-exporters.pcap');
  writeFileSync(file, writePcap([
    a(v9Message(hdr, [set(0, v9Template(256, [[8, 4], [1, 4]]))])),
    b(v9Message(hdr, [set(0, v9Template(256, [[1, 4], [8, 4]]))])),
    a(v9Message({ ...hdr, seq: 2 }, [set(256, new Bytes().ip4('10.0.0.1').u32(111).build())])),
    b(v9Message({ ...hdr, seq: 2 }, [set(256, new Bytes().u32(222).ip4('10.0.0.2').build())])),
    a(v9Message({ ...hdr, seq: 3 }, [new Bytes().u16(256).u16(2).build()])),
    a(buildV5({ uptime: 1, secs: 1_700_000_000, seq: 0 }, [{ src: '10.5.5.5', dst: '10.6.6.6', packets: 2, bytes: 333, first: 0, last: 1, srcPort: 5, dstPort: 6, proto: 17 }])),
  ]));
  return file;
}

describe('netvigil decode', () => {
  it('decodes a pcap keeping each exporter session apart, and names a malformed packet', async () => {
    const r = await run(['--format', 'jsonl', capture()]);
    expect(r.code).toBe(0);
    const objs = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objs.map((o) => [o['version'], o['exporter'], o['src_addr'], o['bytes']])).toEqual([
      [9, '192.0.2.1', '10.0.0.1', 111],
      [9, '192.0.2.1', '10.0.0.2', 222],
      [5, '192.0.2.1', '10.5.5.5', 333],
    ]);
    expect(r.err).toMatch(/two-exporters\.pcap: packet 5: netflow9: bad_set_length at offset 22 \(field flowset_length\)/);
  });

  it('prints line protocol with --format lp', async () => {
    const r = await run(['--format=lp', capture()]);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(3);
    const v5 = lines[2] ?? '';
    expect(v5).toMatch(/^flow,\S*exporter=192\.0\.2\.1/);
    expect(v5).toMatch(/^flow,\S*version=5/);
    expect(v5).toMatch(/[ ,]bytes=333i[, ]/);
    expect(v5).toMatch(/[ ,]src_addr="10\.5\.5\.5"[, ]/);
    expect(v5).toMatch(/ 1700000000000$/);
  });

  it('exits 1 for unreadable input and 2 for usage errors', async () => {
    const missing = await run([join(tmp.dir, 'nope.pcap')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('nope.pcap: cannot read');
    expect((await run([])).code).toBe(2);
    expect((await run(['--format', 'xml', 'x'])).code).toBe(2);
  });

  it('ends quietly with exit 0 when the reader closes the pipe early (netvigil decode ... | head -n 1)', () => {
    // the built binary, as users run it, into a real pipe that head closes after one line
    const cli = join(import.meta.dirname, '..', 'dist', 'src', 'cli.js');
    const hdr = { uptime: 10_000, secs: 1_700_000_000, seq: 1, sourceId: 0 };
    const tpl = v9Message(hdr, [set(0, v9Template(256, [[8, 4], [1, 4]]))]);
    const data = v9Message({ ...hdr, seq: 2 }, [set(256, new Bytes().ip4('10.0.0.1').u32(111).ip4('10.0.0.2').u32(222).ip4('10.0.0.3').u32(333).build())]);
    const pkt = (payload: Uint8Array) => ({ ts: 1_700_000_000, src: '192.0.2.1', dst: '192.0.2.100', proto: 17 as const, srcPort: 1001, dstPort: 2055, payload });
    const file = join(tmp.dir, 'many.pcap');
    // ~60 k records: far more than a pipe buffer holds, so writes go on after head has exited
    writeFileSync(file, writePcap([pkt(tpl), ...Array.from({ length: 20_000 }, () => pkt(data))]));
    const r = spawnSync('bash', ['-c', 'node "$1" decode "$2" 2>"$3" | head -n 1; echo "status=${PIPESTATUS[0]}"', 'sh', cli, file, join(tmp.dir, 'err.txt')], { encoding: 'utf8', timeout: 60_000 });
    const [line, status] = r.stdout.trim().split('\n');
    expect(JSON.parse(line ?? '')).toMatchObject({ version: 9, type: 'flow', src_addr: '10.0.0.1', bytes: 111 });
    expect(readFileSync(join(tmp.dir, 'err.txt'), 'utf8')).toBe('');
    expect(status).toBe('status=0');
  });

  it('applies a field mapping with --fields (the shipped one or a file) and refuses a bad one', async () => {
    const input = join(tmp.dir, 'panos.bin');
    writeFileSync(input, hexToBytes(readFileSync(join(import.meta.dirname, '..', 'collectors/netflow/testcases/v9-panos-enterprise-appid/input-01.hex'), 'utf8')));
    const common = await run(['--fields', 'common', input]);
    expect(common.code).toBe(0);
    expect(JSON.parse(common.out.split('\n')[0] ?? '')).toMatchObject({ app_name: 'ssl', user: 'corp\\alice', fw_event: 2 });
    const file = join(tmp.dir, 'mapping.yaml');
    writeFileSync(file, '- { id: 56702, name: user, type: string, as: tag }\n');
    const own = await run(['--fields', 'common', '--fields', file, input]);
    const first = JSON.parse(own.out.split('\n')[0] ?? '') as Record<string, unknown>;
    expect(first).toMatchObject({ app_name: 'ssl', user: 'corp\\alice' });
    writeFileSync(file, '- { id: 56702, name: User, type: strng }\n');
    const bad = await run(['--fields', file, input]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/mapping\.yaml: \[0\]\.name: .*\[0\]\.type: /);
  });
});
