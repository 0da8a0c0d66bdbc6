/**
 * The collector's per-datagram cost without a socket, on REAL exporters' captures: every datagram
 * of a dumpcap capture (softflowd v9/IPFIX, pmacctd nfprobe/sfprobe, built by the `flow-real`
 * bench into `$FLOW_REAL_CACHE` or `$TMPDIR/netvigil-flow-real/`) through FlowProcessor.handle with
 * the default config (decode, loss accounting, keys, aggregation with top talkers), timed by
 * flow-e2e/inprocess.ts. Reports the fastest of `rounds` rounds of >= 0.5 s (on a shared machine
 * other work only ever adds time) and the 1-minute load average.
 *
 *   npm run build && node dist/bench/flow-handle.js <capture.pcap>... [--rounds N]
 */
import { loadavg } from 'node:os';
import { basename } from 'node:path';
import { time } from './flow-e2e/inprocess.js';

const args = process.argv.slice(2);
const ri = args.indexOf('--rounds');
const rounds = ri >= 0 ? Number(args.splice(ri, 2)[1]) : 7;
for (const f of args) {
  const load = loadavg()[0] as number;
  const t = time(f, rounds);
  console.log(`${basename(f)}: ${t.usPerDatagram.toFixed(2)} µs/datagram (best of ${rounds}), ${t.datagrams} datagrams, ${(t.records / t.datagrams).toFixed(1)} records each, errors ${t.errors}, load ${load.toFixed(1)}`);
}
