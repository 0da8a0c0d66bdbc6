/**
 * The one place the trap collector touches net-snmp's receiver. Its notification objects are loosely
 * typed; they leave this module as `Notification`. Informs are acknowledged by net-snmp itself
 * (RFC 3416 4.2.7) before our callback runs.
 */
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
}

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

interface RawReceiver {
  getAuthorizer(): { addCommunity(c: string): void; addUser(u: unknown): void };
  close(cb?: () => void): void;
  listener?: { sockets?: Record<string, Socket> };
}

const PDU_TRAP_V1 = 164;
const PDU_INFORM = 166;

function toNotification(pdu: RawPdu, rinfo: { address: string; port: number }): Notification {
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

  constructor(
    private readonly opts: ReceiverOptions,
    private readonly onTrap: (n: Notification) => void,
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
    await this.probe();
    return this.listen();
  }

  private listen(): Promise<void> {
    const o = this.opts;
    const options: Record<string, unknown> = {
      port: o.port,
      address: o.address,
      transport: o.address.includes(':') ? 'udp6' : 'udp4',
      includeAuthentication: true,
      disableAuthorization: o.acceptAnyCommunity,
    };
    if (o.engineId) options.engineID = o.engineId;
    return new Promise((resolve, reject) => {
      let bound = false;
      const r = snmp.createReceiver(options, (err: (Error & { rinfo?: { address: string; port: number } }) | null, data: { pdu: RawPdu; rinfo: { address: string; port: number } } | null) => {
        if (err) {
          const rinfo = err.rinfo;
          if (!bound && !rinfo) return reject(err);
          this.onReject({ sender: rinfo ? rinfo.address : 'unknown', reason: reasonOf(err) }, err);
          return;
        }
        if (data) this.onTrap(toNotification(data.pdu, data.rinfo));
      }) as RawReceiver;
      this.receiver = r;
      this.guard(r);
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
   * Puts the allowlist in front of net-snmp: its sockets' message handler is wrapped, so a sender
   * outside the list gets no inform acknowledgement or v3 discovery report and costs no decoding.
   */
  private guard(r: RawReceiver): void {
    const allow = this.opts.allow;
    if (!allow) return;
    const sockets = Object.values(r.listener?.sockets ?? {});
    if (!sockets.length) throw new Error('snmptrap: net-snmp receiver has no sockets to guard; refusing to run without the allowlist');
    for (const sock of sockets) {
      const handlers = sock.listeners('message') as ((msg: Buffer, rinfo: { address: string; port: number }) => void)[];
      sock.removeAllListeners('message');
      sock.on('message', (msg: Buffer, rinfo: { address: string; port: number }) => {
        if (!allow.allows(rinfo.address)) return this.onReject({ sender: rinfo.address, reason: 'not_allowed' }, undefined);
        for (const h of handlers) h(msg, rinfo);
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
