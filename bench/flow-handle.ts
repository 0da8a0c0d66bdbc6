/**
 * The collector's per-datagram cost without a socket, on REAL exporters' captures: every datagram
 * of a dumpcap capture (softflowd v9/IPFIX, pmacctd nfprobe/sfprobe, built by the `flow-real`
 * bench into `$FLOW_REAL_CACHE` or `$TMPDIR/netvigil-flow-real/`) through FlowProcessor.handle with
 * the default config (decode, loss accounting, keys, aggregation with top talkers). The header
 * sequence numbers are rewritten to keep counting across passes, by the step the capture itself
 * shows, so loss accounting sees an unbroken stream. Reports the fastest of `rounds` rounds of
 * >= 0.5 s (on a shared machine other work only ever adds time) and the 1-minute load average.
 *
 *   npm run build && node dist/bench/flow-handle.js <capture.pcap>... [--rounds N]
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename } from 'node:path';
import { pino } from 'pino';
import type { FlowCollector } from '../collectors/flow/collector.js';
import { collectors } from '../collectors/index.js';
import type { CollectorContext } from '../src/collector.js';

/** UDP payloads of a classic little-endian pcap (Ethernet or Linux cooked), IPv4 only. */
export function udpPayloads(file: Buffer): Buffer[] {
  const link = file.readUInt32LE(20);
  const l2 = link === 1 ? 14 : link === 113 ? 16 : -1;
  if (file.readUInt32LE(0) !== 0xa1b2c3d4 || l2 < 0) throw new Error('not an Ethernet/cooked little-endian pcap');
  const out: Buffer[] = [];
  for (let o = 24; o + 16 <= file.length; ) {
    const caplen = file.readUInt32LE(o + 8);
    const f = file.subarray(o + 16, o + 16 + caplen);
    o += 16 + caplen;
    if ((f[l2] ?? 0) >> 4 !== 4 || f[l2 + 9] !== 17) continue;
    const udp = l2 + (((f[l2] as number) & 0x0f) << 2);
    out.push(Buffer.from(f.subarray(udp + 8, udp + f.readUInt16BE(udp + 4))));
  }
  return out;
}

/** Byte offset of the header sequence number: v9 (RFC 3954 §5.1), IPFIX (RFC 7011 §3.1), sFlow v5 (IPv4 agent). */
function seqOffset(d: Buffer): number {
  const v = d.readUInt16BE(0);
  return v === 9 ? 12 : v === 10 ? 8 : 16;
}

function context(): CollectorContext {
  return {
    emitter: { emit: () => undefined, error: (e) => process.stderr.write(`flow-handle: ${String(e)}\n`) },
    log: pino({ level: 'silent' }),
    dataDir: '/nonexistent',
    configDir: '/nonexistent',
    shard: { index: 0, count: 1 },
    interfaces: { update: () => undefined, lookup: () => undefined, deviceName: () => undefined },
    signals: { udpSocket: () => undefined, udpSocketClosed: () => undefined, exporterClockOffset: () => undefined, snmpRequest: () => undefined },
  };
}

export function time(file: string, rounds: number): { usPerDatagram: number; datagrams: number; records: number; errors: number } {
  const ring = udpPayloads(readFileSync(file));
  const off = seqOffset(ring[0] as Buffer);
  const seqs = ring.map((d) => d.readUInt32BE(off));
  const steps = seqs.map((s, i) => (i + 1 < seqs.length ? ((seqs[i + 1] as number) - s) >>> 0 : 0));
  steps[steps.length - 1] = steps[steps.length - 2] ?? 1;
  const def = collectors.find((c) => c.name === 'flow');
  if (!def) throw new Error('no flow collector');
  const c = def.create(def.configSchema.parse({}), context()) as FlowCollector;
  let seq = seqs[0] as number;
  const pass = (): void => {
    for (let i = 0; i < ring.length; i++) {
      const b = ring[i] as Buffer;
      b.writeUInt32BE(seq >>> 0, off);
      seq += steps[i] as number;
      c.processor.handle(b, '127.0.0.1', 40000, Date.now());
    }
  };
  for (let k = 0; k < 3; k++) pass();
  const before = c.processor.exporterStats('127.0.0.1')?.records ?? 0;
  pass();
  const records = (c.processor.exporterStats('127.0.0.1')?.records ?? 0) - before;
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    let passes = 0;
    const t0 = process.hrtime.bigint();
    let ns = 0;
    while (ns < 5e8) {
      pass();
      passes++;
      ns = Number(process.hrtime.bigint() - t0);
    }
    best = Math.min(best, ns / passes);
  }
  const errors = Object.values(c.processor.exporterStats('127.0.0.1')?.errors ?? {}).reduce((a, b) => a + b, 0);
  return { usPerDatagram: best / 1e3 / ring.length, datagrams: ring.length, records, errors };
}

if (process.argv[1]?.endsWith('flow-handle.js')) {
  const args = process.argv.slice(2);
  const ri = args.indexOf('--rounds');
  const rounds = ri >= 0 ? Number(args.splice(ri, 2)[1]) : 7;
  for (const f of args) {
    const load = loadavg()[0] as number;
    const t = time(f, rounds);
    console.log(`${basename(f)}: ${t.usPerDatagram.toFixed(2)} µs/datagram (best of ${rounds}), ${t.datagrams} datagrams, ${(t.records / t.datagrams).toFixed(1)} records each, errors ${t.errors}, load ${load.toFixed(1)}`);
  }
}
