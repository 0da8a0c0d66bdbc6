/**
 * What the nats-server nodes did during a bench phase, in counts rather than CPU (so a loaded
 * machine gives the same answer): messages and bytes in and out of every node (`/varz` on the
 * monitoring port: clients and routes alike, so replication shows), and how many messages each
 * stream took (its last sequence: the flow stream, and every KV bucket's `KV_<bucket>` stream, one
 * per put). Divided by the datagrams sent, it says where the nodes' work per datagram comes from.
 */
import { connect } from 'nats';

export interface NatsCounts {
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  /** Stream name -> last sequence. */
  streams: Map<string, number>;
}

export async function natsCounts(servers: string[], monitorUrls: string[]): Promise<NatsCounts> {
  const c: NatsCounts = { inMsgs: 0, outMsgs: 0, inBytes: 0, outBytes: 0, streams: new Map() };
  for (const u of monitorUrls) {
    const v = (await (await fetch(`${u}/varz`)).json()) as { in_msgs: number; out_msgs: number; in_bytes: number; out_bytes: number };
    c.inMsgs += v.in_msgs;
    c.outMsgs += v.out_msgs;
    c.inBytes += v.in_bytes;
    c.outBytes += v.out_bytes;
  }
  const nc = await connect({ servers });
  try {
    const jsm = await nc.jetstreamManager();
    for await (const s of jsm.streams.list()) c.streams.set(s.config.name, s.state.last_seq);
  } finally {
    await nc.close();
  }
  return c;
}

/** Per datagram between two counts: the nodes' totals, and the streams that took messages. */
export function perDatagram(a: NatsCounts, b: NatsCounts, datagrams: number): string {
  const per = (x: number): string => (x / Math.max(1, datagrams)).toFixed(2);
  const streams = [...b.streams]
    .map(([name, seq]) => [name, seq - (a.streams.get(name) ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .sort((x, y) => y[1] - x[1])
    .map(([name, n]) => `${name} ${per(n)}`);
  return `nats per datagram (all nodes): in ${per(b.inMsgs - a.inMsgs)} msgs / ${per(b.inBytes - a.inBytes)} B, out ${per(b.outMsgs - a.outMsgs)} msgs / ${per(b.outBytes - a.outBytes)} B; stream messages: ${streams.join(', ')}`;
}
