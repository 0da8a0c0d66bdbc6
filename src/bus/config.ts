/**
 * `roles` and `bus.nats`: which parts of netvigil this instance runs, and the broker between them.
 * Secrets are named by file (`token_file`, `creds_file`, ...), never written in the config.
 */
import { z } from 'zod';
import { duration, size } from '../config/units.js';

export const ROLES = ['receiver', 'processor', 'poller'] as const;
export type Role = (typeof ROLES)[number];

export const rolesSchema = z
  .array(z.enum(ROLES))
  .min(1)
  .default([...ROLES])
  .describe('receiver: UDP flow listeners and the trap port (informs answered); processor: decode, aggregate, write flows and traps; poller: SNMP polling');

const natsSchema = z
  .object({
    servers: z.array(z.string().regex(/^(nats|tls):\/\/[^\s/]+$|^[^\s/:]+:\d{1,5}$/, 'expected nats://HOST:PORT, tls://HOST:PORT or HOST:PORT')).min(1).default(['nats://127.0.0.1:4222']),
    token_file: z.string().min(1).optional().describe('file holding the auth token'),
    user: z.string().min(1).optional(),
    password_file: z.string().min(1).optional().describe('file holding the password for user'),
    creds_file: z.string().min(1).optional().describe('NATS .creds file (JWT + nkey seed)'),
    nkey_seed_file: z.string().min(1).optional().describe('file holding an nkey seed (SU...)'),
    tls: z
      .object({ ca: z.string().min(1).optional(), cert: z.string().min(1).optional(), key: z.string().min(1).optional() })
      .strict()
      .optional(),
    stream: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only (it is a subject token)').default('NETVIGIL'),
    replicas: z.number().int().min(1).max(5).default(1).describe('stream and bucket replicas: 3 on a 3-node cluster'),
    partitions: z.number().int().min(1).max(1024).default(16).describe('exporters are hashed to this many partitions; processors share them'),
    max_age: duration().default(86_400_000).describe('how long the stream keeps datagrams'),
    batch_bytes: size().default(256 * 1024).describe('a receiver publishes a partition batch at this size...'),
    batch_delay: duration().default(50).describe('...or this long after its first datagram'),
    buffer: size().default(64 * 1024 * 1024).describe('bytes a receiver holds while the broker is slow or away; beyond, the oldest batch is dropped (counted)'),
    spool_size: size()
      .default(64 * 1024 * 1024)
      .describe('bytes of batches a receiver writes to <data_dir>/bus-spool when the bus has not acknowledged them by its stop deadline, published first at the next start; beyond, dropped (counted); 0: no spool'),
    lease_ttl: duration()
      .optional()
      .describe(
        "a dead processor's partitions and a dead poller's devices move after about this long; default 6s with one server and replicas 1, 16s on a cluster (servers names more than one, or replicas above 1), where a node's loss stops renewals for seconds (README, Scale-out)",
      ),
    ack_wait: duration().default(600_000).describe('unused since processors read by stream sequence; accepted so older configs load'),
  })
  .strict()
  .superRefine((v, ctx) => {
    const auth = (['token_file', 'creds_file', 'nkey_seed_file', 'user'] as const).filter((k) => v[k] !== undefined);
    if (auth.length > 1) ctx.addIssue({ code: 'custom', path: [auth[1] as string], message: `one way to authenticate: ${auth.join(' and ')} are both set` });
    if ((v.user === undefined) !== (v.password_file === undefined)) ctx.addIssue({ code: 'custom', path: [v.user === undefined ? 'password_file' : 'user'], message: 'user and password_file go together' });
    if (v.tls && (v.tls.cert === undefined) !== (v.tls.key === undefined)) ctx.addIssue({ code: 'custom', path: ['tls', v.tls.cert === undefined ? 'key' : 'cert'], message: 'tls.cert and tls.key go together' });
  })
  .transform((v) => ({ ...v, lease_ttl: v.lease_ttl ?? defaultLeaseTtl(v) }));

/**
 * On a NATS cluster the loss of the node leading the leases bucket stops renewals until the other
 * two elect a leader: 5.0-6.9 s in 11 SIGKILLs on a 3-node loopback cluster (bench
 * lease-failover.bench.ts, load average 0-8 alike). A processor fences itself once its last accepted
 * renewal was sent two thirds of the TTL ago; it renews every sixth of the TTL and sends a refused
 * renewal again within 500 ms, so the TTL must exceed twice the outage plus a second: 16 s (oldest
 * proof measured 8.5 s, fence at 10.7 s; 10 s fenced 6 of 24 holders). A single server has no
 * election to ride out: 6 s moves a dead processor's work sooner.
 */
export function defaultLeaseTtl(n: { servers: readonly string[]; replicas: number }): number {
  return n.servers.length > 1 || n.replicas > 1 ? CLUSTER_LEASE_TTL_MS : SINGLE_LEASE_TTL_MS;
}

export const SINGLE_LEASE_TTL_MS = 6000;
export const CLUSTER_LEASE_TTL_MS = 16_000;

export const busSchema = z.object({ nats: natsSchema }).strict().describe('scale-out: receivers and processors on many machines, over NATS JetStream');

export type NatsConfig = z.output<typeof natsSchema>;
export type BusConfig = z.output<typeof busSchema>;

/** Cross-key rules for the top-level config (added to its schema with superRefine). */
export function checkRoles(cfg: { roles: readonly Role[]; bus?: BusConfig | undefined; instance?: string | undefined; shard?: string }, ctx: z.RefinementCtx): void {
  const all = ROLES.every((r) => cfg.roles.includes(r));
  if (!cfg.bus && !all) ctx.addIssue({ code: 'custom', path: ['roles'], message: 'split roles need a bus (bus.nats): without one an instance holds every role' });
  if (cfg.bus && cfg.shard !== undefined && cfg.shard !== '0/1') ctx.addIssue({ code: 'custom', path: ['shard'], message: 'not with a bus: pollers on a bus share the devices by leases (README, Scale-out)' });
  const leased = cfg.roles.filter((r) => r === 'processor' || r === 'poller');
  if (cfg.bus && leased.length && cfg.instance === undefined) {
    ctx.addIssue({ code: 'custom', path: ['instance'], message: `a ${leased.join(' and ')} on the bus needs a unique instance name: its lease owner and the tag that keeps its points apart from other instances'` });
  }
}

/** Which role runs each collector; a collector not named here runs on every instance. */
// snmptrap on a processor decodes what receivers put on the bus (src/bus/traps.ts); it binds no port
const COLLECTOR_ROLES: Record<string, readonly Role[]> = { flow: ['receiver', 'processor'], snmptrap: ['receiver', 'processor'], snmp: ['poller'] };

export function runsCollector(name: string, roles: readonly Role[]): boolean {
  const need = COLLECTOR_ROLES[name];
  return !need || need.some((r) => roles.includes(r));
}
