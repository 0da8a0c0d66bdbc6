/**
 * The one place the trap collector touches net-snmp's receiver. Its notification objects are loosely
 * typed; they leave this module as `Notification`. Informs are acknowledged by net-snmp itself
 * (RFC 3416 4.2.7) before our callback runs.
 *
 * On a bus (src/bus/traps.ts) a processor runs the same net-snmp receiver on datagrams a receiver
 * took (`source: 'bus'`, `feed`): net-snmp's `dgramModule` option gives it a socket that binds and
 * sends nothing, so whatever it would answer (the receiver answered already) goes nowhere.
 */
import { EventEmitter } from 'node:events';
import { createSocket, type Socket } from 'node:dgram';
import type { Allowlist } from '../../src/wire/cidr.js';
import snmp from 'net-snmp';
import { toUser } from '../snmp/netsnmp.js';
import type { V3User } from '../snmp/credentials.js';
import { convertValue, type Vb } from '../snmp/values.js';
import type { Notification } from './normalize.js';

export interface ReceiverOptions {
  address: string;
  port: number;
  communities: readonly string[];
  acceptAnyCommunity: boolean;
  users: readonly V3User[];
  engineId?: string;
  /** Senders outside it are dropped before net-snmp parses (or acknowledges) anything. */
  allow?: Allowlist | undefined;
  /** `bus`: no socket; datagrams come through `feed`, any community is taken (the receiver checked it). Default `socket`. */
  source?: 'socket' | 'bus';
}

/** An accepted notification, its datagram as received, and its receive time when it came through `feed`. */
export type OnTrap = (n: Notification, datagram: Buffer, receivedAt: number | undefined) => void;

export interface Rejection {
  sender: string;
  reason: string;
}

interface RawPdu {
  type?: number;
  varbinds?: { oid?: unknown; type?: unknown; value?: unknown }[];
  community?: string;
  user?: string;
  scoped?: boolean;
  enterprise?: string;
  agentAddr?: string;
  generic?: number;
  specific?: number;
  upTime?: number;
}

type Rinfo = { address: string; port: number };

/** What net-snmp's Listener uses of a dgram socket, doing nothing: the bus feeds it (`feed`). */
class InertSocket extends EventEmitter {
  bind(): void {}
  send(): void {}
  close(cb?: () => void): void {
    cb?.();
  }
  address(): { address: string; port: number } {
    return { address: '', port: 0 };
  }
}

interface RawReceiver {
  getAuthorizer(): { addCommunity(c: string): void; addUser(u: unknown): void };
  close(cb?: () => void): void;
  listener?: { sockets?: Record<string, Socket> };
}

const PDU_TRAP_V1 = 164;
const PDU_INFORM = 166;

function toNotification(pdu: RawPdu, rinfo: Rinfo): Notification {
  const varbinds: Vb[] = (pdu.varbinds ?? []).map((v) => ({ oid: String(v.oid ?? ''), value: convertValue(typeof v.type === 'number' ? v.type : undefined, v.value) }));
  const version = pdu.type === PDU_TRAP_V1 ? 'v1' : pdu.user !== undefined || pdu.scoped ? 'v3' : 'v2c';
  const n: Notification = { version, pdu: pdu.type === PDU_INFORM ? 'inform' : 'trap', sender: { address: rinfo.address, port: rinfo.port }, varbinds };
  if (pdu.community !== undefined) n.community = pdu.community;
  if (pdu.user !== undefined) n.user = pdu.user;
  if (pdu.type === PDU_TRAP_V1) {
    n.v1 = { enterprise: String(pdu.enterprise ?? ''), agentAddr: String(pdu.agentAddr ?? ''), generic: Number(pdu.generic ?? 0), specific: Number(pdu.specific ?? 0), upTime: Number(pdu.upTime ?? 0) };
  }
  return n;
}

/** Why net-snmp refused a message, in words a log reader can act on. */
function reasonOf(err: { message?: string; name?: string; error?: { message?: string } }): string {
  const m = err.message ?? '';
  // a message that does not even decode (BER, or a PDU net-snmp cannot take apart)
  if (err.name === 'ProcessingError') return /community|user|digest|auth|decrypt|priv/i.test(err.error?.message ?? '') ? reasonOf(err.error ?? {}) : 'malformed';
  if (/community/i.test(m)) return 'unknown_community';
  if (/user/i.test(m)) return 'unknown_user';
  if (/digest|auth/i.test(m)) return 'wrong_auth';
  if (/decrypt|priv/i.test(m)) return 'wrong_priv';
  return 'invalid';
}

export class TrapReceiver {
  private receiver: RawReceiver | undefined;
  /** The datagram net-snmp is taking apart (it does so synchronously), for `onTrap`. */
  private current: { datagram: Buffer; at: number | undefined } | undefined;
  /** `feed`: net-snmp called back (a notification or a refusal) for the current datagram. */
  private answered = false;
  private inert: InertSocket | undefined;

  constructor(
    private readonly opts: ReceiverOptions,
    private readonly onTrap: OnTrap,
    private readonly onReject: (r: Rejection, err: unknown) => void,
  ) {}

  /**
   * net-snmp swallows socket errors (it emits them under the wrong event name), so a port in use or 162 without
   * privilege would fail silently: bind the same address ourselves first to get a real error.
   */
  private probe(): Promise<void> {
    const o = this.opts;
    return new Promise((resolve, reject) => {
      const s = createSocket(o.address.includes(':') ? 'udp6' : 'udp4');
      s.once('error', (e: NodeJS.ErrnoException) => {
        s.close();
        const hint = e.code === 'EACCES' ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE: use port 1162, or setcap cap_net_bind_service=+ep on node)' : '';
        reject(new Error(`snmptrap: cannot listen on ${o.address}:${o.port}: ${e.message}${hint}`));
      });
      s.bind(o.port, o.address, () => s.close(() => resolve()));
    });
  }

  /** Binds the socket; rejects on a bind error (port in use, 162 without privilege). */
  async start(): Promise<void> {
    if (this.opts.source !== 'bus') await this.probe();
    return this.listen();
  }

  /**
   * Bus source: one datagram a receiver accepted, as if it had just arrived from `rinfo`.
   * A message net-snmp answers with a report, never calling back, came from a v3 user this
   * instance does not know (or without the auth/priv its level needs): counted as `unknown_user`.
   */
  feed(datagram: Uint8Array, rinfo: Rinfo, receivedAt: number): void {
    const sock = this.inert;
    if (!sock) throw new Error('snmptrap: feed() needs source: bus, after start()');
    const buf = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
    this.current = { datagram: buf, at: receivedAt };
    this.answered = false;
    try {
      sock.emit('message', buf, { ...rinfo, family: rinfo.address.includes(':') ? 'IPv6' : 'IPv4', size: buf.length });
    } finally {
      this.current = undefined;
    }
    if (!this.answered) this.onReject({ sender: rinfo.address, reason: 'unknown_user' }, undefined);
  }

  private listen(): Promise<void> {
    const o = this.opts;
    const options: Record<string, unknown> = {
      port: o.port,
      address: o.address,
      transport: o.address.includes(':') ? 'udp6' : 'udp4',
      includeAuthentication: true,
      disableAuthorization: o.acceptAnyCommunity || o.source === 'bus',
    };
    if (o.engineId) options.engineID = o.engineId;
    if (o.source === 'bus') {
      const inert = (this.inert = new InertSocket());
      options.dgramModule = { createSocket: () => inert };
    }
    return new Promise((resolve, reject) => {
      let bound = false;
      const r = snmp.createReceiver(options, (err: (Error & { rinfo?: { address: string; port: number } }) | null, data: { pdu: RawPdu; rinfo: { address: string; port: number } } | null) => {
        this.answered = true;
        if (err) {
          const rinfo = err.rinfo;
          if (!bound && !rinfo) return reject(err);
          this.onReject({ sender: rinfo ? rinfo.address : 'unknown', reason: reasonOf(err) }, err);
          return;
        }
        if (data) this.onTrap(toNotification(data.pdu, data.rinfo), this.current?.datagram ?? Buffer.alloc(0), this.current?.at);
      }) as RawReceiver;
      this.receiver = r;
      if (o.source !== 'bus') this.guard(r);
      const auth = r.getAuthorizer();
      for (const c of o.communities) auth.addCommunity(c);
      for (const u of o.users) auth.addUser(toUser({ version: 'v3', ...u }));
      // net-snmp binds synchronously-ish and reports bind errors through the callback without rinfo;
      // give the socket one turn of the event loop to fail before calling it listening.
      setTimeout(() => {
        bound = true;
        resolve();
      }, 50);
    });
  }

  /**
   * Wraps net-snmp's sockets' message handler: the allowlist goes in front of it, so a sender
   * outside the list gets no inform acknowledgement or v3 discovery report and costs no decoding;
   * and the datagram is kept while net-snmp takes it apart, for `onTrap` (a receiver on a bus
   * forwards it as received).
   */
  private guard(r: RawReceiver): void {
    const allow = this.opts.allow;
    const sockets = Object.values(r.listener?.sockets ?? {});
    if (!sockets.length) throw new Error('snmptrap: net-snmp receiver has no sockets to wrap; refusing to run without the allowlist in front');
    for (const sock of sockets) {
      const handlers = sock.listeners('message') as ((msg: Buffer, rinfo: Rinfo) => void)[];
      sock.removeAllListeners('message');
      sock.on('message', (msg: Buffer, rinfo: Rinfo) => {
        if (allow && !allow.allows(rinfo.address)) return this.onReject({ sender: rinfo.address, reason: 'not_allowed' }, undefined);
        this.current = { datagram: msg, at: undefined };
        try {
          for (const h of handlers) h(msg, rinfo);
        } finally {
          this.current = undefined;
        }
      });
    }
  }

  stop(): Promise<void> {
    const r = this.receiver;
    this.receiver = undefined;
    if (!r) return Promise.resolve();
    return new Promise((resolve) => {
      try {
        r.close(() => resolve());
      } catch {
        resolve();
      }
      setTimeout(resolve, 500).unref();
    });
  }
}
