/**
 * A TCP forwarder on loopback that can go silent: `cut()` stops moving bytes both ways but keeps
 * every connection open, as a network partition does (no RST, no FIN), so a client notices only by
 * its own timeouts. Used to cut one netvigil instance off NATS without touching the cluster.
 * `cut('replies')` stops only the server's bytes: requests still arrive and take effect, their
 * answers never come back (a publish stored whose acknowledgement is lost).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface Blackhole {
  port: number;
  cut(only?: 'replies'): void;
  close(): Promise<void>;
}

export async function startBlackhole(targetPort: number): Promise<Blackhole> {
  let silent = false;
  let deaf = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (d) => silent || upstream.write(d));
    upstream.on('data', (d) => silent || deaf || client.write(d));
    client.on('close', () => silent || upstream.destroy());
    upstream.on('close', () => silent || client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return {
    port: addr.port,
    cut: (only) => {
      if (only === 'replies') deaf = true;
      else silent = true;
      server.close();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
