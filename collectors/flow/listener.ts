/**
 * UDP sockets for the flow collector. Each asks the kernel for a large SO_RCVBUF (bursts of export
 * datagrams outrun one event-loop turn) and reports what was granted: Linux caps the request at
 * net.core.rmem_max and reports double the usable size (socket(7)).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';

export interface OpenSocket {
  socket: Socket;
  family: 'udp4' | 'udp6';
  address: string;
  port: number;
  requestedRcvbuf: number;
  /** What getsockopt(SO_RCVBUF) returned (Linux: twice the usable size). */
  grantedRcvbuf: number;
  /** net.core.rmem_max when it stopped us getting what we asked for. */
  cappedBy?: number;
}

export function readRmemMax(): number | undefined {
  try {
    const v = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export async function openSocket(
  address: string,
  port: number,
  rcvbuf: number,
  onMessage: (msg: Buffer, rinfo: RemoteInfo) => void,
): Promise<OpenSocket> {
  const family = isIPv6(address) ? 'udp6' : 'udp4';
  const socket = createSocket({ type: family, recvBufferSize: rcvbuf });
  socket.on('message', onMessage);
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    socket.once('error', onError);
    socket.bind(port, address, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  const granted = socket.getRecvBufferSize();
  const res: OpenSocket = { socket, family, address, port: socket.address().port, requestedRcvbuf: rcvbuf, grantedRcvbuf: granted };
  const rmemMax = readRmemMax();
  if (granted / 2 < rcvbuf && rmemMax !== undefined && rmemMax < rcvbuf) res.cappedBy = rmemMax;
  return res;
}

export function closeSocket(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      s.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
