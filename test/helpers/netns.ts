/**
 * Network namespaces for tests that need real interfaces with real kernel counters: two fresh
 * namespaces joined by a veth pair (`ip netns add`, root only). Traffic between them never leaves
 * the machine, and inside a fresh namespace every loopback port is free. `exec` runs a daemon
 * inside one (through `ip netns exec`, stopped by PID like any daemon); `remove` deletes both
 * namespaces, which removes the veth pair with them.
 */
import { execFileSync, type SpawnOptions } from 'node:child_process';
import { startDaemon, type Daemon } from './proc.js';

export interface VethPair {
  /** Namespace names (A holds the probe, the agent and the collector; B is the far end). */
  a: string;
  b: string;
  /** Interface names and addresses on each side. */
  ifA: string;
  ifB: string;
  addrA: string;
  addrB: string;
  /** ifIndex of ifA inside namespace A (what SNMP and the probe report). */
  ifIndexA: number;
  exec(ns: string, cmd: string, args: readonly string[], opts?: SpawnOptions): Daemon;
  run(ns: string, cmd: string, args: readonly string[]): string;
  remove(): void;
}

const ip = (args: readonly string[]): string => execFileSync('ip', [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Why namespaces cannot be made here, or undefined when they can (tried for real). */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (ip netns add)';
  const probe = `nvprobe${process.pid}`;
  try {
    ip(['netns', 'add', probe]);
    ip(['netns', 'del', probe]);
    return undefined;
  } catch (e) {
    return `ip netns add failed: ${String(e)}`;
  }
}

export function makeVethPair(tag: string): VethPair {
  const a = `nv${tag}a${process.pid}`;
  const b = `nv${tag}b${process.pid}`;
  const ifA = `nv${tag}0`;
  const ifB = `nv${tag}1`;
  const addrA = '10.77.0.1';
  const addrB = '10.77.0.2';
  const run = (ns: string, cmd: string, args: readonly string[]): string => ip(['netns', 'exec', ns, cmd, ...args]);
  const remove = (): void => {
    for (const ns of [a, b]) {
      try {
        ip(['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
  };
  try {
    ip(['netns', 'add', a]);
    ip(['netns', 'add', b]);
    for (const ns of [a, b]) {
      run(ns, 'ip', ['link', 'set', 'lo', 'up']);
      // no IPv6 neighbour discovery or MLD on the link: the only traffic is the test's (and ARP)
      run(ns, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
      run(ns, 'sysctl', ['-qw', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    ip(['link', 'add', ifA, 'netns', a, 'type', 'veth', 'peer', 'name', ifB, 'netns', b]);
    run(a, 'ip', ['addr', 'add', `${addrA}/24`, 'dev', ifA]);
    run(b, 'ip', ['addr', 'add', `${addrB}/24`, 'dev', ifB]);
    run(a, 'ip', ['link', 'set', ifA, 'up']);
    run(b, 'ip', ['link', 'set', ifB, 'up']);
    const ifIndexA = Number(run(a, 'cat', [`/sys/class/net/${ifA}/ifindex`]).trim());
    return {
      a, b, ifA, ifB, addrA, addrB, ifIndexA, run, remove,
      exec: (ns, cmd, args, opts = {}) => startDaemon('ip', ['netns', 'exec', ns, cmd, ...args], opts),
    };
  } catch (e) {
    remove();
    throw e;
  }
}
