/**
 * The only module that touches net-snmp's session API. Its types are loose (Counter64 typed as bigint
 * but delivered as a Buffer, callbacks that may never fire after a socket error), so everything
 * crossing this boundary is converted to our own types, and every request carries our own deadline:
 * Counter64 comes as a Buffer of 1-9 bytes (BigInt, never Number); socket errors are swallowed, so a
 * callback may never fire; the library's 5 s timeout and 1 retry make a dead device cost 10 s; its
 * API is callbacks only, wrapped here once with that deadline.
 */
import { createCipheriv } from 'node:crypto';
import snmp from 'net-snmp';
import { SnmpError } from '../../src/errors.js';
import type { Credentials } from './credentials.js';
import { AsnType, compareOids, convertValue, isUnder, type Vb } from './values.js';

export interface Target {
  device: string;
  address: string;
  port: number;
  timeoutMs: number;
  retries: number;
  credentials: Credentials;
}

export type RequestOutcome = 'ok' | 'timeout' | 'error';

export interface WalkOptions {
  maxRepetitions: number;
  /** Stop (truncated) after this many values: agents that repeat OIDs would loop forever. */
  maxValues: number;
  /** performance.now() after which the walk stops (truncated). */
  deadlineAt: number;
}

export interface WalkResult {
  vbs: Vb[];
  truncated?: 'values' | 'time' | 'loop';
}

const AUTH: Record<string, snmp.AuthProtocols> = {
  md5: snmp.AuthProtocols.md5,
  sha: snmp.AuthProtocols.sha,
  sha224: snmp.AuthProtocols.sha224,
  sha256: snmp.AuthProtocols.sha256,
  sha384: snmp.AuthProtocols.sha384,
  sha512: snmp.AuthProtocols.sha512,
};
const PRIV: Record<string, snmp.PrivProtocols> = {
  des: snmp.PrivProtocols.des,
  aes: snmp.PrivProtocols.aes,
  aes128: snmp.PrivProtocols.aes,
  aes256b: snmp.PrivProtocols.aes256b,
  aes256r: snmp.PrivProtocols.aes256r,
};

/** net-snmp's user object for a v3 credential (RFC 3414 USM security levels). */
export function toUser(c: Extract<Credentials, { version: 'v3' }>): snmp.User {
  const level = c.priv_protocol ? snmp.SecurityLevel.authPriv : c.auth_protocol ? snmp.SecurityLevel.authNoPriv : snmp.SecurityLevel.noAuthNoPriv;
  const user: snmp.User = { name: c.user, level };
  if (c.auth_protocol) {
    user.authProtocol = AUTH[c.auth_protocol];
    user.authKey = c.auth_key;
  }
  if (c.priv_protocol) {
    user.privProtocol = PRIV[c.priv_protocol];
    user.privKey = c.priv_key;
  }
  return user;
}

let desOk: boolean | undefined;
/** OpenSSL 3 moved DES to its legacy provider; Node loads it only with --openssl-legacy-provider. */
export function desAvailable(): boolean {
  if (desOk === undefined) {
    try {
      createCipheriv('des-cbc', Buffer.alloc(8), Buffer.alloc(8));
      desOk = true;
    } catch {
      desOk = false;
    }
  }
  return desOk;
}

function rawVb(v: unknown): Vb {
  const o = v as { oid?: unknown; type?: unknown; value?: unknown };
  return { oid: String(o.oid ?? ''), value: convertValue(typeof o.type === 'number' ? o.type : undefined, o.value) };
}

function classify(device: string, err: unknown, v3: boolean): SnmpError {
  if (err instanceof SnmpError) return err;
  const e = err as { name?: string; message?: string; code?: number; status?: number };
  const msg = e.message ?? String(err);
  if (e.name === 'RequestTimedOutError') {
    return new SnmpError(device, 'timeout', v3 ? `no response (${msg}); for SNMPv3 also check the auth/priv keys and the AES-256 variant (aes256b/aes256r)` : `no response (${msg}); check address, port and community`);
  }
  if (e.name === 'ResponseInvalidError' && e.code === snmp.ResponseInvalidCode.EAuthFailure) {
    return new SnmpError(device, 'auth', `SNMPv3 authentication failed: ${msg} (check user, auth protocol and auth key)`, { cause: err });
  }
  if (e.name === 'ResponseInvalidError' && e.code === snmp.ResponseInvalidCode.ECouldNotDecrypt) {
    return new SnmpError(device, 'auth', `SNMPv3 decryption failed: ${msg} (check priv protocol and priv key)`, { cause: err });
  }
  if (e.name === 'ResponseInvalidError' && e.code === snmp.ResponseInvalidCode.ECommunityNoMatch) {
    // net-snmp's message quotes both communities; errors get logged, communities must not.
    return new SnmpError(device, 'auth', 'the response carries a different community than the request');
  }
  return new SnmpError(device, 'agent', msg, { cause: err });
}

/**
 * One device's session: typed get/walk with a hard deadline per request. A request whose callback
 * never arrives (net-snmp swallows socket errors) marks the session broken; it is replaced before
 * the next request.
 */
export class SnmpClient {
  private session: snmp.Session | undefined;
  private readonly v3: boolean;
  lastSocketError: string | undefined;

  constructor(
    readonly target: Target,
    private readonly onRequest: (outcome: RequestOutcome) => void = () => {},
  ) {
    this.v3 = target.credentials.version === 'v3';
  }

  private open(): snmp.Session {
    if (this.session) return this.session;
    const t = this.target;
    const c = t.credentials;
    if (c.version === 'v3' && c.priv_protocol === 'des' && !desAvailable()) {
      throw new SnmpError(t.device, 'auth', 'priv_protocol des needs Node started with --openssl-legacy-provider (e.g. NODE_OPTIONS=--openssl-legacy-provider): OpenSSL 3 ships DES only in its legacy provider');
    }
    const common = { port: t.port, timeout: t.timeoutMs, retries: t.retries, transport: t.address.includes(':') ? 'udp6' : 'udp4', backwardsGetNexts: false } as const;
    const s =
      c.version === 'v3'
        ? snmp.createV3Session(t.address, toUser(c), { ...common, version: snmp.Version3, context: c.context ?? '' })
        : snmp.createSession(t.address, c.community, { ...common, version: c.version === 'v1' ? snmp.Version1 : snmp.Version2c });
    s.on('error', (e: unknown) => {
      this.lastSocketError = String(e);
      this.discard();
    });
    this.session = s;
    return s;
  }

  private discard(): void {
    const s = this.session;
    this.session = undefined;
    try {
      s?.close();
    } catch {
      // already closed
    }
  }

  close(): void {
    this.discard();
  }

  get version(): Credentials['version'] {
    return this.target.credentials.version;
  }

  /** Runs one library request under our deadline: the library's own timeout times (retries + 1) plus slack. */
  private request<T>(deadlineAt: number, start: (s: snmp.Session, done: (err: unknown, v?: T) => void) => void): Promise<T> {
    const device = this.target.device;
    const own = this.target.timeoutMs * (this.target.retries + 1) + 250;
    const left = deadlineAt - performance.now();
    if (left <= 0) return Promise.reject(new SnmpError(device, 'budget', 'poll time budget exhausted'));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        // Either our budget ran out or net-snmp never called back (socket error swallowed): drop the session.
        if (left < own) {
          this.onRequest('timeout');
          reject(new SnmpError(device, 'budget', 'poll time budget exhausted'));
        } else {
          this.discard();
          this.onRequest('timeout');
          reject(new SnmpError(device, 'timeout', `no callback within ${own} ms${this.lastSocketError ? ` (socket: ${this.lastSocketError})` : ''}`));
        }
      }, Math.min(own, left));
      const done = (err: unknown, v?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          const se = classify(device, err, this.v3);
          this.onRequest(se.kind === 'timeout' ? 'timeout' : 'error');
          reject(se);
        } else {
          this.onRequest('ok');
          resolve(v as T);
        }
      };
      try {
        start(this.open(), done);
      } catch (e) {
        done(e);
      }
    });
  }

  /** GET of exact instances; missing ones come back as `missing` values, not errors (v2c/v3). */
  get(oids: readonly string[], deadlineAt: number): Promise<Vb[]> {
    return this.request<Vb[]>(deadlineAt, (s, done) =>
      s.get([...oids], (err, vbs) => done(err, (vbs ?? []).map(rawVb))),
    );
  }

  private next(oid: string, maxRep: number, deadlineAt: number): Promise<Vb[]> {
    if (this.version === 'v1') {
      return this.request<Vb[]>(deadlineAt, (s, done) =>
        s.getNext([oid], (err, vbs) => {
          // v1 signals the end of the MIB view with noSuchName (RFC 1157 4.1.3).
          const status = (err as { status?: number } | null)?.status;
          if (err && status === snmp.ErrorStatus.NoSuchName) done(null, []);
          else done(err, (vbs ?? []).map(rawVb));
        }),
      );
    }
    return this.request<Vb[]>(deadlineAt, (s, done) =>
      s.getBulk([oid], 0, maxRep, (err, vbs) => {
        const col = vbs?.[0];
        done(err, Array.isArray(col) ? col.map(rawVb) : []);
      }),
    );
  }

  /** Walks the subtree under `root` with GETBULK (GETNEXT for v1), capped in values, time and OID order. */
  walk(root: string, opts: WalkOptions): Promise<WalkResult> {
    return walkWith((oid) => this.next(oid, opts.maxRepetitions, opts.deadlineAt), root, opts);
  }
}

/**
 * The walk loop, separate from the socket so its caps are tested against misbehaving "agents":
 * stops at the end of the subtree or MIB view, on an OID that does not increase (RFC 3416 4.2.3:
 * a repeating agent would otherwise loop forever), after maxValues, or at the deadline.
 */
export async function walkWith(next: (oid: string) => Promise<Vb[]>, root: string, opts: Omit<WalkOptions, 'maxRepetitions'>): Promise<WalkResult> {
  const vbs: Vb[] = [];
  let cursor = root;
  for (;;) {
    if (performance.now() >= opts.deadlineAt) return { vbs, truncated: 'time' };
    const batch = await next(cursor);
    if (batch.length === 0) return { vbs };
    for (const vb of batch) {
      if (vb.value.kind === 'missing' && vb.value.reason === 'endOfMibView') return { vbs };
      if (!isUnder(vb.oid, root)) return { vbs };
      if (compareOids(vb.oid, cursor) <= 0) return { vbs, truncated: 'loop' };
      vbs.push(vb);
      cursor = vb.oid;
      if (vbs.length >= opts.maxValues) return { vbs, truncated: 'values' };
    }
  }
}

export { AsnType };
