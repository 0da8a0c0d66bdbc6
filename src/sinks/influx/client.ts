/**
 * The HTTP side of the InfluxDB sink, through the `influx` package: its Pool for writes (we hand it
 * line protocol we serialized ourselves, because writePoints writes numbers as floats unless a schema
 * is declared and does not escape measurement names) and InfluxDB for database administration.
 */
import { InfluxDB } from 'influx';
import { Pool } from 'influx/lib/src/pool.js';
import type { IBackoffStrategy } from 'influx/lib/src/backoff/backoff.js';
import { SinkError } from '../../errors.js';

/** Never disable the host: the sink runs its own backoff, and a disabled host fails every request at once. */
const noBackoff: IBackoffStrategy = {
  getDelay: () => 0,
  next: () => noBackoff,
  reset: () => noBackoff,
};

export interface InfluxClientOptions {
  url: string;
  database: string;
  username?: string | undefined;
  password?: string | undefined;
  retentionPolicy?: string | undefined;
  timeoutMs: number;
}

export class InfluxClient {
  private readonly pool: Pool;
  readonly admin: InfluxDB;
  private readonly opts: InfluxClientOptions;
  private readonly auth: string | undefined;

  constructor(opts: InfluxClientOptions) {
    this.opts = opts;
    const u = new URL(opts.url);
    this.pool = new Pool({ maxRetries: 0, requestTimeout: opts.timeoutMs, backoff: noBackoff });
    this.pool.addHost(`${u.protocol}//${u.host}${u.pathname.replace(/\/$/, '')}`);
    this.auth = opts.username !== undefined ? `${opts.username}:${opts.password ?? ''}` : undefined;
    this.admin = new InfluxDB({
      host: u.hostname,
      port: Number(u.port || (u.protocol === 'https:' ? 443 : 8086)),
      protocol: u.protocol === 'https:' ? 'https' : 'http',
      database: opts.database,
      ...(opts.username !== undefined ? { username: opts.username, password: opts.password ?? '' } : {}),
      pool: { maxRetries: 0, requestTimeout: opts.timeoutMs, backoff: noBackoff },
    });
  }

  /** POST /write with millisecond precision. Errors become SinkError with `retryable` set. */
  async write(body: string): Promise<void> {
    try {
      await this.pool.discard({
        method: 'POST',
        path: '/write',
        query: { db: this.opts.database, precision: 'ms', ...(this.opts.retentionPolicy ? { rp: this.opts.retentionPolicy } : {}) },
        body,
        ...(this.auth !== undefined ? { auth: this.auth } : {}),
      });
    } catch (e) {
      throw classify(e);
    }
  }

  async ensureDatabase(rp?: { name: string; duration: string; replication: number; isDefault: boolean }): Promise<void> {
    try {
      await this.admin.createDatabase(this.opts.database); // idempotent in InfluxDB 1.x
      if (rp) {
        const existing = await this.admin.showRetentionPolicies(this.opts.database);
        const opts = { database: this.opts.database, duration: rp.duration, replication: rp.replication, isDefault: rp.isDefault };
        if (existing.some((p) => p.name === rp.name)) await this.admin.alterRetentionPolicy(rp.name, opts);
        else await this.admin.createRetentionPolicy(rp.name, opts);
      }
    } catch (e) {
      throw classify(e);
    }
  }
}

/** 5xx, timeouts and network errors are retryable; 4xx other than auth/not-found are bad data. */
export function classify(e: unknown): SinkError {
  const err = e as { message?: string; code?: string; res?: { statusCode?: number } };
  const status = err.res?.statusCode;
  const msg = err.message ?? String(e);
  if (status !== undefined && status >= 400 && status < 500) {
    // 401/403: credentials; 404: database missing. Both are operator-fixable: keep the data and retry.
    const retryable = status === 401 || status === 403 || status === 404;
    return new SinkError(msg, retryable, status, { cause: e });
  }
  return new SinkError(msg + (err.code ? ` (${err.code})` : ''), true, status, { cause: e });
}
