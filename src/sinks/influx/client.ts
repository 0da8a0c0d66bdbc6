/**
 * The HTTP side of the InfluxDB sink, on node:http/https. One POST of line protocol we serialized
 * ourselves, to `/write` (InfluxDB 1.x, VictoriaMetrics) or `/api/v2/write` (InfluxDB 1.8+, 2.x, 3.x,
 * VictoriaMetrics), optionally gzip-compressed, and the two `CREATE` statements of the 1.x admin API.
 * The `influx` package did this through a private path (lib/src/pool) and could not pass a CA;
 * node:https takes one directly, so the package is gone.
 *
 * Every failure becomes a WriteError whose `kind` decides what the sink does with the batch.
 */
import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { SinkError } from '../../errors.js';
import type { Precision } from '../../record/lineprotocol.js';

const gzip = promisify(gzipCb);

export type InfluxApi = 'v1' | 'v2';
export type { Precision };

export interface InfluxClientOptions {
  /** May carry `user:pass@`: used as the 1.x credentials (or basic auth for v2 without a token). */
  url: string;
  api: InfluxApi;
  database: string;
  retentionPolicy?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  token?: string | undefined;
  org?: string | undefined;
  bucket?: string | undefined;
  precision: Precision;
  gzip: boolean;
  /** PEM text of the CA that signs the server's certificate (replaces the system CAs for this sink). */
  ca?: string | undefined;
  timeoutMs: number;
}

/**
 * unauthorized: 401/403 (credentials or permissions); not_found: 404 (database, bucket or endpoint);
 * too_large: 413; rejected: 400/422, the server refused (some) points as bad data; unavailable:
 * 5xx, 429, timeouts, refused or reset connections and any other answer.
 */
export type WriteFailureKind = 'unauthorized' | 'not_found' | 'too_large' | 'rejected' | 'unavailable';

export class WriteError extends SinkError {
  readonly kind: WriteFailureKind;
  constructor(kind: WriteFailureKind, message: string, status?: number, options?: { cause?: unknown }) {
    super(message, kind !== 'rejected' && kind !== 'too_large', status, options);
    this.kind = kind;
  }
}

export function asWriteError(e: unknown): WriteError {
  return e instanceof WriteError ? e : new WriteError('unavailable', e instanceof Error ? e.message : String(e), undefined, { cause: e });
}

export function kindOf(status: number): WriteFailureKind {
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status === 413) return 'too_large';
  if (status === 400 || status === 422) return 'rejected';
  return 'unavailable';
}

const MAX_ANSWER = 64 * 1024;

export class InfluxClient {
  readonly opts: InfluxClientOptions;
  /** The user the server sees (for log lines), or undefined for token / anonymous access. */
  readonly user: string | undefined;
  private readonly base: URL;
  private readonly basePath: string;
  private readonly agent: http.Agent;
  private readonly authHeader: string | undefined;

  constructor(opts: InfluxClientOptions) {
    this.opts = opts;
    const u = new URL(opts.url);
    const urlUser = u.username ? decodeURIComponent(u.username) : undefined;
    const urlPass = u.password ? decodeURIComponent(u.password) : undefined;
    const user = opts.username ?? urlUser;
    const pass = opts.password ?? urlPass ?? '';
    u.username = '';
    u.password = '';
    this.base = u;
    this.basePath = u.pathname.replace(/\/$/, '');
    const tls = u.protocol === 'https:';
    this.agent = tls ? new https.Agent({ keepAlive: true, ...(opts.ca !== undefined ? { ca: opts.ca } : {}) }) : new http.Agent({ keepAlive: true });
    if (opts.api === 'v2' && opts.token !== undefined) {
      this.authHeader = `Token ${opts.token}`;
      this.user = undefined;
    } else {
      this.authHeader = user !== undefined ? `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` : undefined;
      this.user = user;
    }
  }

  /** What the data goes to, for log lines: `database netvigil` or `bucket b (org o)`. */
  get target(): string {
    return this.opts.api === 'v2' ? `bucket ${this.opts.bucket ?? this.opts.database}${this.opts.org ? ` (org ${this.opts.org})` : ''}` : `database ${this.opts.database}`;
  }

  /** `signal` abandons the request (the sink spools the batch): a hung server must not hold it. */
  async write(text: string, signal?: AbortSignal): Promise<void> {
    // 1.x spells microseconds `u` and reads an unknown `us` as nanoseconds (measured on 1.6); v2 spells it `us`
    const q: Record<string, string> = { precision: this.opts.api === 'v1' && this.opts.precision === 'us' ? 'u' : this.opts.precision };
    let path: string;
    if (this.opts.api === 'v2') {
      path = '/api/v2/write';
      q.bucket = this.opts.bucket ?? this.opts.database;
      if (this.opts.org !== undefined) q.org = this.opts.org;
    } else {
      path = '/write';
      q.db = this.opts.database;
      if (this.opts.retentionPolicy) q.rp = this.opts.retentionPolicy;
    }
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain; charset=utf-8' };
    let body = Buffer.from(text, 'utf8');
    if (this.opts.gzip) {
      body = await gzip(body);
      headers['content-encoding'] = 'gzip';
    }
    const res = await this.request('POST', path, q, body, headers, signal);
    if (res.status === 204 || res.status === 200) return;
    const msg = answerText(res.body, res.status);
    // influxd 1.x answers a missing retention policy with 500: operator-fixable like a missing database
    throw new WriteError(/retention policy not found/i.test(msg) ? 'not_found' : kindOf(res.status), msg, res.status);
  }

  /**
   * 1.x only: CREATE DATABASE (idempotent) and create or alter the retention policy. A WriteError of
   * kind `unauthorized` means the user may write but not administer.
   */
  async ensureDatabase(rp?: { name: string; duration: string; replication: number; isDefault: boolean }, signal?: AbortSignal): Promise<void> {
    const db = quoteIdent(this.opts.database);
    await this.query(`CREATE DATABASE ${db}`, signal);
    if (!rp) return;
    const shown = await this.query(`SHOW RETENTION POLICIES ON ${db}`, signal);
    const exists = shown.some((s) => s.values?.some((v) => v[0] === rp.name));
    const spec = `ON ${db} DURATION ${rp.duration} REPLICATION ${rp.replication}${rp.isDefault ? ' DEFAULT' : ''}`;
    await this.query(`${exists ? 'ALTER' : 'CREATE'} RETENTION POLICY ${quoteIdent(rp.name)} ${spec}`, signal);
  }

  private async query(q: string, signal?: AbortSignal): Promise<{ values?: unknown[][] }[]> {
    const body = Buffer.from(new URLSearchParams({ q }).toString());
    const res = await this.request('POST', '/query', {}, body, { 'content-type': 'application/x-www-form-urlencoded' }, signal);
    if (res.status !== 200) throw new WriteError(kindOf(res.status), answerText(res.body, res.status), res.status);
    let parsed: { results?: { error?: string; series?: { values?: unknown[][] }[] }[] };
    try {
      parsed = JSON.parse(res.body) as typeof parsed;
    } catch {
      throw new WriteError('unavailable', `unreadable /query answer: ${res.body.slice(0, 200)}`, res.status);
    }
    const r = parsed.results?.[0];
    // statement errors come back as 200 with an error text; permission ones name "authoriz"
    if (r?.error) throw new WriteError(/authoriz/i.test(r.error) ? 'unauthorized' : 'rejected', r.error, res.status);
    return r?.series ?? [];
  }

  private request(method: string, path: string, query: Record<string, string>, body: Buffer, headers: http.OutgoingHttpHeaders, signal?: AbortSignal): Promise<{ status: number; body: string }> {
    const url = new URL(this.base.href);
    url.pathname = this.basePath + path;
    url.search = new URLSearchParams(query).toString();
    const all: http.OutgoingHttpHeaders = { ...headers, 'content-length': body.length };
    if (this.authHeader !== undefined) all.authorization = this.authHeader;
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method, headers: all, agent: this.agent, ...(signal ? { signal } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_ANSWER) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => reject(netError(e)));
      });
      req.setTimeout(this.opts.timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${this.opts.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', (e) => reject(netError(e)));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function netError(e: Error): WriteError {
  // an abort carries the sink's reason (hang_threshold, shutdown) as its cause
  if (e.name === 'AbortError' && e.cause instanceof Error) return new WriteError('unavailable', e.cause.message, undefined, { cause: e });
  const code = (e as NodeJS.ErrnoException).code;
  return new WriteError('unavailable', e.message + (code && !e.message.includes(code) ? ` (${code})` : ''), undefined, { cause: e });
}

/** The server's reason: `{"error": ...}` (1.x), `{"message": ...}` (2.x, 3.x) or the text itself. */
export function answerText(body: string, status: number): string {
  try {
    const j = JSON.parse(body) as { error?: unknown; message?: unknown };
    if (typeof j.error === 'string') return j.error;
    if (typeof j.message === 'string') return j.message;
  } catch {
    // not JSON
  }
  const t = body.trim();
  return t ? t.slice(0, 1000) : `HTTP ${status}`;
}

function quoteIdent(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
