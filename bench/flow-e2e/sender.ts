/**
 * The exporter side of the end-to-end bench, run as its own process pinned to the other core
 * (`taskset -c 1 node sender.js`) so sending never competes with the receiver being measured.
 * Told over IPC to send `count` datagrams of one protocol to 127.0.0.1:port at `rate`/s, it paces
 * in bursts of at most `burst` datagrams, reports the rate it really achieved, and stops. It exits when
 * its parent goes away (IPC disconnect), so it can never outlive the bench.
 */
import { createSocket, type Socket } from 'node:dgram';
import { captureReplay } from './capture.js';
import { buildReplay, PROTOCOLS, type Replay } from './datagrams.js';
import type { SendDone, SendRun } from './ipc.js';

/** One replay per protocol and source address, built when first asked for. */
const replays = new Map<string, Replay>();
/** Sequence numbers carry on across runs, as an exporter's would (per protocol and source). */
const seqs = new Map<string, number>();
/** Where in its ring each replay stopped (used by `resume` runs). */
const positions = new Map<string, number>();

/**
 * One socket per source and destination, kept across runs: an exporter keeps its source port, and
 * a collector may scope templates by it (a new port is a restarted exporter, whose v9/IPFIX data
 * waits for fresh templates).
 */
const sockets = new Map<string, Promise<Socket>>();

function socketFor(port: number, source: string): Promise<Socket> {
  const k = `${source}>${port}`;
  let s = sockets.get(k);
  if (!s) sockets.set(k, (s = connect(port, source)));
  return s;
}

async function connect(port: number, source: string): Promise<Socket> {
  const s = createSocket({ type: 'udp4', sendBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    // a second exporter (127.0.0.2) is a different source address, as a second router would be
    s.bind(0, source, () => s.connect(port, '127.0.0.1', () => resolve()));
  });
  return s;
}

async function send(run: SendRun): Promise<SendDone> {
  if (!run.capture && !PROTOCOLS.includes(run.protocol)) throw new Error(`unknown protocol ${String(run.protocol)}`);
  const key = `${run.capture ?? run.protocol}/${run.source}`;
  let r = replays.get(key);
  if (!r) replays.set(key, (r = run.capture ? captureReplay(run.capture, run.source) : buildReplay(run.protocol, run.source)));
  const sock = await socketFor(run.port, run.source);
  let seq = seqs.get(key) ?? 0;
  let sent = 0;
  let ring = run.resume ? (positions.get(key) ?? 0) : 0;
  let records = 0;
  let packets = 0;
  const t0 = process.hrtime.bigint();
  // token bucket holding at most one burst: after a stall (this core is shared too) the sender
  // carries on at the target rate instead of catching up at full speed, since a catch-up burst
  // would test the receiver's buffer, not its rate; the stall shows as an achieved rate below target
  let tokens = run.burst;
  let last = t0;
  await new Promise<void>((resolve) => {
    const step = (): void => {
      const now = process.hrtime.bigint();
      tokens = Math.min(run.burst, tokens + (Number(now - last) / 1e9) * run.rate);
      last = now;
      const until = Math.min(run.count, sent + Math.floor(tokens));
      tokens -= until - sent;
      for (; sent < until; sent++) {
        let b: Buffer;
        if (sent < r.preamble.length) b = r.preamble[sent] as Buffer;
        else {
          b = r.ring[ring] as Buffer;
          // a send is copied into the socket synchronously unless the send buffer is full; then only
          // the sequence number of a queued datagram could change, never its size or records
          b.writeUInt32BE(seq >>> 0, r.seqOffset);
          seq += r.seqSteps?.[ring] ?? r.seqStep;
          records += r.records?.[ring] ?? r.recordsPer;
          packets += r.packets[ring] ?? 0;
          ring = ring + 1 === r.ring.length ? 0 : ring + 1;
        }
        sock.send(b);
      }
      if (sent < run.count) setImmediate(step);
      else resolve();
    };
    step();
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  seqs.set(key, seq);
  positions.set(key, ring);
  return { type: 'sent', sent, seconds: secs, rate: sent / secs, records, packets };
}

process.on('message', (m: SendRun) => {
  send(m).then(
    (done) => process.send?.(done),
    (e: unknown) => process.send?.({ type: 'error', message: String(e) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
