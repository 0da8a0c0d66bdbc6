/**
 * Real chronyd instances that never touch the clock (`-x`), each with its own config, pid file and
 * command socket in a temp dir: a server (`local stratum 8`) on a free loopback NTP port, and a
 * client that tracks it. Stopped by PID through `running` like every other test daemon.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort, waitFor } from './net.js';
import { startDaemon, type Daemon } from './proc.js';

export const CHRONYD = '/usr/sbin/chronyd';

export interface Chronyd {
  daemon: Daemon;
  /** Its command socket, for `chronyc -h`. */
  socket: string;
  /** The NTP port it serves on 127.0.0.1 (0 for a client that serves nothing). */
  port: number;
}

async function start(dir: string, name: string, lines: string[], running: Daemon[]): Promise<Chronyd> {
  const home = join(dir, name);
  mkdirSync(home, { recursive: true });
  // chronyd refuses a command socket in a directory others can reach
  chmodSync(home, 0o700);
  const socket = join(home, 'chronyd.sock');
  const conf = join(home, 'chrony.conf');
  writeFileSync(conf, [...lines, 'cmdport 0', `bindcmdaddress ${socket}`, `pidfile ${join(home, 'chronyd.pid')}`, ''].join('\n'));
  // -d: foreground (stopped by PID), -x: never adjust the system clock, -u: no privilege drop to _chrony
  const daemon = startDaemon(CHRONYD, ['-d', '-x', '-u', userInfo().username, '-f', conf]);
  running.push(daemon);
  await waitFor(`chronyd ${name} command socket\n${daemon.output()}`, () => existsSync(socket), 10_000);
  const port = Number(/^port (\d+)/m.exec(lines.join('\n'))?.[1] ?? 0);
  return { daemon, socket, port };
}

/** A server of its own local clock at stratum 8 for 127.0.0.1 only. */
export async function startChronyServer(dir: string, running: Daemon[], name = 'server'): Promise<Chronyd> {
  const port = await freeUdpPort();
  return start(dir, name, [`port ${port}`, 'bindaddress 127.0.0.1', 'local stratum 8', 'allow 127.0.0.1'], running);
}

/**
 * A client tracking `serverPort` on 127.0.0.1, polling every 1/16 s so it selects the source within
 * a second and declares it unreachable within a second of it going away (8 missed polls).
 */
export async function startChronyClient(dir: string, serverPort: number, running: Daemon[], name = 'client'): Promise<Chronyd> {
  return start(dir, name, ['port 0', `server 127.0.0.1 port ${serverPort} iburst minpoll -4 maxpoll -4`], running);
}
