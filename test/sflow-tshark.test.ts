import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSflow } from '../collectors/sflow/index.js';
import { makeTmpDir } from './helpers/net.js';
import { agreeWithTshark, tsharkSflow, udpFrames, writePcap } from './helpers/pcap-sflow.js';

/**
 * tshark (Wireshark 4.0) as an independent oracle over our crafted golden datagrams: both decode
 * the same bytes and must agree on the key fields, record for record.
 *
 * Cases left out, because tshark 4.0 itself cannot decode them (seen here, not assumed):
 * discarded-packet samples (format 5: "Unknown sample format"), host_descr (2000: tshark does not
 * skip it by length and misreads what follows) and a vendor-enterprise sample (tshark stops there).
 */
const CASES = ['ipv4-header-switch-router', 'ipv6-agent-expanded-qinq-gateway', 'interface-counters'];
const PORT = 6343;

describe('sFlow decoder agrees with tshark on crafted datagrams', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    tmp = await makeTmpDir('netvigil-sflow-tshark-');
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  for (const name of CASES) {
    it(name, () => {
      const dir = join('collectors/sflow/testcases', name);
      const inputs = [1, 2].map((i) => join(dir, `input-0${i}.bin`)).filter((f) => {
        try {
          readFileSync(f);
          return true;
        } catch {
          return false;
        }
      });
      const payloads = inputs.map((f) => new Uint8Array(readFileSync(f)));
      const pcap = join(tmp.dir, `${name}.pcap`);
      writePcap(pcap, udpFrames(payloads, { dstPort: PORT }));
      const theirs = tsharkSflow(pcap, PORT);
      expect(theirs).toHaveLength(payloads.length);
      let samples = 0;
      payloads.forEach((p, i) => {
        const t = theirs[i];
        if (!t) throw new Error('missing tshark datagram');
        const r = agreeWithTshark(decodeSflow(p), t);
        expect(r.problems).toEqual([]);
        samples += r.samples;
      });
      expect(samples).toBeGreaterThan(0);
    });
  }

  it('the comparison is not vacuous: a changed field is reported', () => {
    const payload = new Uint8Array(readFileSync('collectors/sflow/testcases/ipv4-header-switch-router/input-01.bin'));
    const pcap = join(tmp.dir, 'tamper.pcap');
    writePcap(pcap, udpFrames([payload], { dstPort: PORT }));
    const [t] = tsharkSflow(pcap, PORT);
    if (!t) throw new Error('missing tshark datagram');
    const d = decodeSflow(payload);
    const s = d.samples[0];
    if (s?.kind !== 'flow') throw new Error('expected a flow sample');
    const clean = agreeWithTshark(d, t);
    expect(clean.problems).toEqual([]);
    expect(clean.fields).toBeGreaterThan(40);
    s.packet.dstPort = 444;
    s.samplingRate = 1;
    const r = agreeWithTshark(d, t);
    expect(r.problems).toHaveLength(2);
    expect(r.problems.join('\n')).toMatch(/dst_port: ours 444, tshark 443/);
  });
});
