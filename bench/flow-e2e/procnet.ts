/**
 * Kernel-side view of a receiver's socket: /proc/net/udp has one line per socket with the local
 * address and port in hex and, in the last column, the datagrams the kernel dropped because the
 * receive buffer was full (proc(5)). A receiver that reads every datagram it is told about can still
 * have lost some here, so every trial checks this counter too.
 */
import { readFileSync } from 'node:fs';

export interface UdpSocketStats {
  /** Bytes queued for the application right now (rx_queue). */
  rxQueue: number;
  /** Cumulative kernel drops on the socket. */
  drops: number;
}

/** The 127.0.0.1 (or 0.0.0.0) socket bound to `port`, or undefined when none is. */
export function udpSocketStats(port: number): UdpSocketStats | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let text: string;
  try {
    text = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    if (!local || (local !== `0100007F:${hexPort}` && local !== `00000000:${hexPort}`)) continue;
    const queues = (cols[4] ?? '0:0').split(':');
    return { rxQueue: parseInt(queues[1] ?? '0', 16), drops: Number(cols[cols.length - 1] ?? 0) };
  }
  return undefined;
}

/** Busy and total jiffies of one CPU from /proc/stat. */
function cpuTimes(core: number): { busy: number; total: number } | undefined {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${core} `));
  if (!line) return undefined;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  // idle + iowait are the only not-busy columns (proc(5))
  return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
}

/**
 * Waits until `core` is mostly idle (busy < 10% over 200 ms) or `maxMs` passed: a receiver still
 * draining a backlog from the previous trial (pmacct's plugin queue can hold seconds of work)
 * would otherwise steal the core from the next receiver's trial. Returns the ms waited.
 */
export async function waitIdle(core: number, maxMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const a = cpuTimes(core);
    await new Promise((r) => setTimeout(r, 200));
    const b = cpuTimes(core);
    if (!a || !b || b.total === a.total || (b.busy - a.busy) / (b.total - a.total) < 0.1) break;
    if (Date.now() - t0 > maxMs) break;
  }
  return Date.now() - t0;
}
