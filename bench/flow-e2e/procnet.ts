/**
 * Kernel-side view of a receiver's socket: /proc/net/udp has one line per socket with the local
 * address and port in hex and, in the last column, the datagrams the kernel dropped because the
 * receive buffer was full (proc(5)). A receiver that reads every datagram it is told about can still
 * have lost some here, so every trial checks this counter too.
 */
import { readdirSync, readFileSync } from 'node:fs';

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

/** pid -> [parent pid, CPU jiffies (user + system)] of every process (proc(5) stat fields 4, 14, 15). */
function processTable(): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // the command name may hold spaces: fields are counted after its closing parenthesis
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(d), [Number(f[1]), Number(f[11]) + Number(f[12])]);
    } catch {
      // gone between listing and reading
    }
  }
  return out;
}

/** The given processes and all their descendants (pmacct forks its plugins). */
export function treePids(roots: readonly number[], table = processTable()): Set<number> {
  const inTree = new Set(roots);
  // parents precede children in pid order almost always; iterate until no new member appears
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, [ppid]] of table) {
      if (inTree.has(pid) || !inTree.has(ppid)) continue;
      inTree.add(pid);
      grew = true;
    }
  }
  return inTree;
}

/** CPU jiffies (1/100 s) used by the given processes and all their descendants. */
export function treeCpu(roots: readonly number[]): number {
  const table = processTable();
  let sum = 0;
  for (const pid of treePids(roots, table)) sum += table.get(pid)?.[1] ?? 0;
  return sum;
}

/**
 * Times the processes' threads (and their descendants') gave up the CPU to wait, summed
 * (voluntary_ctxt_switches of /proc/<pid>/task/<tid>/status, proc(5)): an idle event loop that
 * blocks in epoll_wait and is woken for a datagram counts one.
 */
export function treeWaits(roots: readonly number[]): number {
  let sum = 0;
  for (const pid of treePids(roots)) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const m = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
        sum += Number(m?.[1] ?? 0);
      } catch {
        // exited
      }
    }
  }
  return sum;
}

/** Resident memory of the processes and their descendants, in bytes (VmRSS, proc(5)). */
export function treeRss(roots: readonly number[]): number {
  let sum = 0;
  for (const pid of treePids(roots)) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      sum += Number(m?.[1] ?? 0) * 1024;
    } catch {
      // exited
    }
  }
  return sum;
}

/**
 * Waits until the given processes (receivers, with their children) are idle — under 10% of a core
 * over 200 ms — or `maxMs` passed: a receiver still draining a backlog from its last trial
 * (pmacct's plugin queue can hold seconds of work) would otherwise steal core 0 from the next
 * receiver's trial. Other load on this shared machine is not waited for (it is noise either way).
 * Returns the ms waited.
 */
export async function waitQuiet(pids: readonly number[], maxMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const a = treeCpu(pids);
    await new Promise((r) => setTimeout(r, 200));
    const b = treeCpu(pids);
    // USER_HZ is 100 on Linux: 2 ticks = 20 ms of CPU in 200 ms = 10%
    if (b - a < 2 || Date.now() - t0 > maxMs) return Date.now() - t0;
  }
}
