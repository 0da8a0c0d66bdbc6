/**
 * What the flow-vs-SNMP tests on a veth pair share (test/xcheck-netns.test.ts, test/xcheck-bus.test.ts):
 * generated UDP traffic between the namespaces, written to node scripts run inside them, and a
 * parser of our own for the points netvigil's file sink wrote.
 */
import { existsSync, readFileSync } from 'node:fs';

/**
 * Generated traffic: 32 sockets in A (flows expire at spread-out times), 400 datagrams/s each way.
 * Args: dst, seconds, src, and optionally the wall time (ms) to start at, so that a node started
 * late on a loaded machine does not move the traffic against the flow intervals.
 */
export const SENDER = `
import { createSocket } from 'node:dgram';
const [dst, secs] = [process.argv[2], Number(process.argv[3])];
const startAt = Number(process.argv[5] ?? 0);
setTimeout(() => {
  const socks = [];
  const payload = Buffer.alloc(1000, 1);
  const until = Date.now() + secs * 1000;
  let i = 0;
  const t = setInterval(() => {
    if (socks.length < 32 && i % 6 === 0) { const s = createSocket('udp4'); s.bind(0, process.argv[4]); socks.push(s); }
    i++;
    for (let k = 0; k < 4; k++) socks[(i * 4 + k) % socks.length]?.send(payload, 9000, dst);
    if (Date.now() > until) { clearInterval(t); setTimeout(() => { for (const s of socks) s.close(); }, 200); }
  }, 10);
}, Math.max(0, startAt - Date.now()));
`;

/** The far end: sends every datagram back, for `seconds`. Args: address, seconds. */
export const ECHO = `
import { createSocket } from 'node:dgram';
const s = createSocket('udp4');
s.on('message', (m, r) => s.send(m, r.port, r.address));
s.bind(9000, process.argv[2]);
setTimeout(() => s.close(), Number(process.argv[3]) * 1000);
`;

export interface Point {
  tags: Record<string, string>;
  /** As written: `5i`, `1.5`, `"text"`. */
  fields: Record<string, string>;
  time: number;
}

/** Points of one measurement in a line-protocol file (escaped spaces and commas in tags kept apart). */
export function points(file: string, measurement: string): Point[] {
  if (!existsSync(file)) return [];
  const out: Point[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith(`${measurement},`)) continue;
    const parts = line.split(/(?<!\\) (?=(?:[^"]*"[^"]*")*[^"]*$)/);
    const [head = '', fields = '', time = ''] = parts;
    const tags = head.split(/(?<!\\),/).slice(1).map((t) => t.split(/(?<!\\)=/) as [string, string]);
    const f = fields.match(/([a-z_]+)=("(?:[^"\\]|\\.)*"|[^,]+)/g)?.map((x) => [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)]) ?? [];
    out.push({ tags: Object.fromEntries(tags), fields: Object.fromEntries(f), time: Number(time) });
  }
  return out;
}
