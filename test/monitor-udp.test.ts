/**
 * Real kernel drops on a real socket: a child process binds a UDP socket with a tiny receive buffer
 * and is then frozen (SIGSTOP), so nothing drains it; a bounded burst on loopback overflows it and
 * the kernel counts drops in /proc/net/udp. The monitor must put them on that socket's port, and
 * not on a healthy socket it watches next to it.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { createMonitor, monitorConfigSchema } from '../src/monitor/index.js';
import type { NetRecord } from '../src/record/record.js';
import { waitFor } from './helpers/net.js';
import { startDaemon, type Daemon } from './helpers/proc.js';

const CHILD = `
const s = require('node:dgram').createSocket({ type: 'udp4', recvBufferSize: 4096 });
s.on('message', () => {});
s.bind(0, '127.0.0.1', () => { process.stdout.write('PORT ' + s.address().port + '\\n'); });
setTimeout(() => process.exit(0), 60000);
`;

let child: Daemon | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  if (child) {
    process.kill(child.pid, 'SIGCONT');
    await child.stop('SIGKILL', 2000);
    child = undefined;
  }
  for (const s of sockets.splice(0)) s.close();
});

function send(sock: Socket, port: number, payload: Buffer): Promise<void> {
  return new Promise((resolve, reject) => sock.send(payload, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
}

describe('per-socket UDP drops', () => {
  it('attributes kernel drops to the frozen socket and none to the healthy one', async () => {
    child = startDaemon(process.execPath, ['-e', CHILD]);
    const childPort = Number((await waitFor('child port', () => /PORT (\d+)/.exec(child!.output())))[1]);
    process.kill(child.pid, 'SIGSTOP');

    const healthy = createSocket('udp4');
    sockets.push(healthy);
    let healthyGot = 0;
    healthy.on('message', () => healthyGot++);
    await new Promise<void>((r) => healthy.bind(0, '127.0.0.1', () => r()));
    const healthyPort = healthy.address().port;

    const records: NetRecord[] = [];
    const m = createMonitor(monitorConfigSchema.parse({}), {
      emit: (r) => records.push(r),
      log: createLogger('silent'),
    });
    m.tick(); // host baseline
    m.udpSocket('sflow', 'udp4', childPort);
    m.udpSocket('netflow', 'udp4', healthyPort);
    m.tick(); // per-socket baseline, before any traffic
    const firstSockets = records.filter((r) => r.measurement === 'vm_socket');
    expect(firstSockets).toEqual([]);

    const sender = createSocket('udp4');
    sockets.push(sender);
    const payload = Buffer.alloc(1000, 0x5a);
    // Bounded: 300 datagrams to the frozen socket (its 4 KiB buffer holds a few), 50 to the healthy one.
    for (let i = 0; i < 300; i++) await send(sender, childPort, payload);
    for (let i = 0; i < 50; i++) await send(sender, healthyPort, payload);
    await waitFor('healthy socket to read its datagrams', () => healthyGot === 50, 5000);

    records.length = 0;
    m.tick();
    const socketRecs = records.filter((r) => r.measurement === 'vm_socket');
    const frozen = socketRecs.find((r) => r.tags.port === String(childPort));
    const ok = socketRecs.find((r) => r.tags.port === String(healthyPort));
    expect(frozen?.tags).toEqual({ collector: 'sflow', family: 'udp4', port: String(childPort) });
    // Most of the burst was dropped; what the buffer held is waiting in the queue.
    expect(Number(frozen?.fields.drops)).toBeGreaterThan(200);
    expect(Number(frozen?.fields.drops)).toBeLessThanOrEqual(300);
    expect(Number(frozen?.fields.rx_queue_bytes)).toBeGreaterThan(0);
    expect(ok?.tags.collector).toBe('netflow');
    expect(ok?.fields.drops).toBe(0n);
    const host = records.find((r) => r.measurement === 'vm_host');
    expect(host?.fields.socket_drops).toBe(frozen?.fields.drops);
    // The host-wide counter saw them too (loopback is in our network namespace).
    expect(Number(host?.fields.udp_rcvbuf_errors)).toBeGreaterThanOrEqual(Number(frozen?.fields.drops));
    expect(m.current().reasons).toContain('socket_drops');
    expect(m.current().verdict).not.toBe('ok');

    // A socket that was closed is no longer watched.
    m.udpSocketClosed('udp4', childPort);
    records.length = 0;
    m.tick();
    expect(records.filter((r) => r.measurement === 'vm_socket').map((r) => r.tags.port)).toEqual([String(healthyPort)]);
  });
});
