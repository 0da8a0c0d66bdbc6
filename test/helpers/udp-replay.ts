/**
 * Replays recorded datagrams to a collector on loopback from bound sender sockets: each stream in
 * order, the streams interleaved, a few datagrams per turn of the loop so nothing is dropped on lo.
 */
import { createSocket, type Socket } from 'node:dgram';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A socket bound to `address` (an exporter's source address); its close is pushed onto `cleanups`. */
export async function sender(address: string, cleanups: (() => Promise<void>)[]): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, address, () => r()));
  cleanups.push(() => new Promise((r) => s.close(() => r())));
  return s;
}

/** Sends every stream's datagrams to 127.0.0.1:`port`, 8 per stream per turn, 1 ms apart. */
export async function replay(port: number, streams: [Socket, Buffer[]][]): Promise<void> {
  const longest = Math.max(...streams.map(([, d]) => d.length));
  for (let i = 0; i < longest; i += 8) {
    const sends: Promise<void>[] = [];
    for (const [s, d] of streams) for (const x of d.slice(i, i + 8)) sends.push(new Promise((r, j) => s.send(x, port, '127.0.0.1', (e) => (e ? j(e) : r()))));
    await Promise.all(sends);
    await sleep(1);
  }
}
