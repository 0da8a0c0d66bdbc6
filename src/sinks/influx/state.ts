/**
 * The InfluxDB sink's delivery state (sink.ts SinkState) and its log lines: a change is logged at
 * once, a repeat of the same failing state at most once per interval, so an outage of hours or a
 * hung server that fails every batch writes one line per interval, not one per batch.
 */
import type { Logger } from '../../log.js';
import type { SinkState } from '../sink.js';
import type { WriteError } from './client.js';

export interface StateContext {
  user: string | undefined;
  target: string;
  retentionPolicy: string | undefined;
  spool: () => unknown;
}

export class DeliveryState {
  current: SinkState = 'ok';
  private lastLog = 0;
  private readonly log: Logger;
  private readonly everyMs: number;
  private readonly ctx: StateContext;

  constructor(log: Logger, everyMs: number, ctx: StateContext) {
    this.log = log;
    this.everyMs = everyMs;
    this.ctx = ctx;
  }

  set(next: SinkState, err?: WriteError): void {
    const prev = this.current;
    this.current = next;
    const now = Date.now();
    if (next === 'ok') {
      if (prev !== 'ok') this.log.info({ was: prev }, 'InfluxDB accepts writes again');
      return;
    }
    if (prev === next && now - this.lastLog < this.everyMs) return;
    this.lastLog = now;
    const { user, target } = this.ctx;
    const ctx = { err: err?.message, status: err?.status, user: user ?? null, target, spool: this.ctx.spool() };
    if (next === 'unauthorized') this.log.error(ctx, `InfluxDB refuses writes to ${target} for ${user ? `user ${user}` : 'these credentials'}: spooling; fix the credentials or grant WRITE`);
    else if (next === 'not_found') {
      const rp = /retention policy/i.test(err?.message ?? '') ? `retention policy ${this.ctx.retentionPolicy ?? ''} in ` : '';
      this.log.error(ctx, `InfluxDB has no ${rp}${target}: spooling; create it or set create_database`);
    } else this.log.warn(ctx, 'InfluxDB write failed; spooling to disk and retrying');
  }
}
