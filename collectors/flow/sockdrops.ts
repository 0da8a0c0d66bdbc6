/**
 * Kernel drops on the flow collector's own UDP sockets, read from /proc/net/udp{,6} (the last
 * column, `sk_drops`: datagrams the kernel threw away because our receive buffer was full). The
 * monitor watches the same counters for the VM verdict; the flow collector reads them itself for
 * its loss estimate (loss-ratio.ts), since a collector may not import the monitor.
 */
import { readFileSync } from 'node:fs';

/** Sum of `sk_drops` over the sockets bound to `ports` (both families); undefined when /proc is unreadable. */
export function socketDrops(ports: readonly number[], root = '/proc'): number | undefined {
  if (ports.length === 0) return 0;
  const want = new Set(ports);
  let total = 0;
  let read = false;
  for (const f of ['net/udp', 'net/udp6']) {
    let text: string;
    try {
      text = readFileSync(`${root}/${f}`, 'utf8');
    } catch {
      continue;
    }
    read = true;
    const lines = text.split('\n');
    for (let i = 1; i < lines.length; i++) {
      const cols = lines[i]?.trim().split(/\s+/);
      if (!cols || cols.length < 13) continue;
      const local = cols[1] ?? '';
      const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      if (!want.has(port)) continue;
      const drops = Number(cols[cols.length - 1]);
      if (Number.isFinite(drops)) total += drops;
    }
  }
  return read ? total : undefined;
}
