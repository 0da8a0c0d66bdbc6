/**
 * The trap/inform receiver collector (v1, v2c, v3). Each notification becomes one `snmp_trap`
 * record; messages from senders outside `allow`, unknown communities or users, or that do not
 * decode are counted per sender and reason and reported once per `report_interval` (log line +
 * `snmptrap_rejected` health record), never per packet; `snmptrap_stats` carries the totals.
 *
 * On a bus (`ctx.traps`, src/bus/traps.ts) a receiver answers and checks as always but forwards each
 * accepted notification's datagram instead of writing it; a processor binds no port and decodes
 * what the bus hands it, with the receiver's receive time as the record's time.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { defineCollector, duration, type Collector, type CollectorContext } from '../../src/collector.js';
import { makeRecord } from '../../src/record/record.js';
import { Allowlist, isCidr } from '../../src/wire/cidr.js';
import { v3UserSchema } from '../snmp/credentials.js';
import { MibResolver } from '../snmp/mibs.js';
import { trapRecord, type Notification } from './normalize.js';
import { TrapReceiver, type Rejection } from './receiver.js';

export const snmptrapConfigSchema = z.strictObject({
  address: z.string().min(1).default('0.0.0.0'),
  /** 162 needs root or CAP_NET_BIND_SERVICE; 1162 works unprivileged (point devices at it). */
  port: z.number().int().min(1).max(65535).default(162),
  /** Sender allowlist (CIDRs); empty or absent = everyone. Others are dropped unparsed and counted. */
  allow: z.array(z.string().refine(isCidr, { message: 'expected an IP address or CIDR' })).default([]),
  /** v1/v2c communities accepted; others are counted and reported as `unknown_community`. */
  communities: z.array(z.string().min(1)).default(['public']),
  accept_any_community: z.boolean().default(false),
  /** v3 users (auth/priv) allowed to send traps and informs. */
  users: z.array(v3UserSchema).default([]),
  /** Our engine ID (hex) for v3 informs; random when absent. */
  engine_id: z.string().regex(/^[0-9a-fA-F]{10,64}$/).optional(),
  /** Extra MIB directories for naming trap OIDs and varbinds. */
  mib_dirs: z.array(z.string().min(1)).default([]),
  report_interval: duration().default(60_000),
});
export type SnmptrapConfig = z.output<typeof snmptrapConfigSchema>;

const MAX_REJECT_KEYS = 1000;
/** Every reason a notification is refused (receiver.ts), each a field of `snmptrap_stats`. */
const REASONS = ['not_allowed', 'unknown_community', 'unknown_user', 'wrong_auth', 'wrong_priv', 'malformed', 'invalid'] as const;

class SnmptrapCollector implements Collector {
  private receiver: TrapReceiver | undefined;
  /** Processor on a bus: net-snmp's receiver fed from the bus, no socket. */
  private fromBus: TrapReceiver | undefined;
  private detach: (() => void) | undefined;
  private decoded = 0;
  private readonly rejected = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private received = 0;
  /** Rejections since start, by reason (not_allowed, unknown_community, ..., malformed). */
  private readonly rejectedTotal = new Map<string, number>();

  constructor(
    private readonly config: SnmptrapConfig,
    private readonly ctx: CollectorContext,
  ) {}

  async start(): Promise<void> {
    const c = this.config;
    const { resolver, problems } = MibResolver.load(c.mib_dirs.map((d) => resolve(this.ctx.configDir, d)));
    for (const p of problems) this.ctx.log.warn({ file: p.file }, `snmptrap: ${p.message}`);
    const allow = c.allow.length ? new Allowlist(c.allow) : undefined;
    const opts = { address: c.address, port: c.port, communities: c.communities, acceptAnyCommunity: c.accept_any_community, users: c.users, allow, ...(c.engine_id ? { engineId: c.engine_id } : {}) };
    const now = (): number => (this.ctx.clock ? this.ctx.clock.now() : Date.now());
    const write = (n: Notification, at: number): void => {
      const device = this.ctx.interfaces.deviceName(n.v1?.agentAddr ?? n.sender.address) ?? this.ctx.interfaces.deviceName(n.sender.address);
      this.ctx.emitter.emit(trapRecord(n, device, resolver, at));
    };
    const reject = (r: Rejection): void => {
      // per-sender detail is bounded: spoofed sources must not grow the map without limit
      const sender = this.rejected.size < MAX_REJECT_KEYS ? r.sender : 'other';
      const key = `${sender}\u0000${r.reason}`;
      this.rejected.set(key, (this.rejected.get(key) ?? 0) + 1);
      this.rejectedTotal.set(r.reason, (this.rejectedTotal.get(r.reason) ?? 0) + 1);
    };
    const feed = this.ctx.traps;
    const forward = feed?.forward;
    if (!feed?.consume || forward) {
      this.receiver = new TrapReceiver(
        opts,
        (n, datagram) => {
          this.received++;
          if (forward) forward(datagram, n.sender.address, n.sender.port, now());
          else write(n, now());
        },
        reject,
      );
      await this.receiver.start();
      this.ctx.signals.udpSocket('snmptrap', c.address.includes(':') ? 'udp6' : 'udp4', c.port);
      this.ctx.log.info({ address: c.address, port: c.port, users: c.users.map((u) => u.user), allow: c.allow.length ? c.allow : 'any sender', ...(forward ? { to: 'bus' } : {}) }, 'snmptrap: listening');
    }
    if (feed?.consume) {
      const onTrap = (n: Notification, _d: Buffer, at: number | undefined): void => {
        this.decoded++;
        write(n, at ?? now());
      };
      const bus = (this.fromBus = new TrapReceiver({ ...opts, allow: undefined, source: 'bus' }, onTrap, reject));
      await bus.start();
      this.detach = await feed.consume((d, address, port, at) => bus.feed(d, { address, port }, at));
      this.ctx.log.info({ users: c.users.map((u) => u.user) }, 'snmptrap: decoding traps from the bus');
    }
    this.timer = setInterval(() => this.report(), c.report_interval);
    this.timer.unref();
  }

  private report(): void {
    for (const [key, count] of this.rejected) {
      const [sender, reason] = key.split('\u0000') as [string, string];
      this.ctx.log.warn({ sender, reason, count }, 'snmptrap: rejected notifications (unknown community/user or bad keys)');
      this.ctx.emitter.emit(makeRecord('health', 'snmptrap_rejected', { sender, reason }, { count: BigInt(count) }));
    }
    this.rejected.clear();
    const fields: Record<string, bigint> = { received: BigInt(this.received), rejected: 0n, ...(this.fromBus ? { from_bus: BigInt(this.decoded) } : {}) };
    for (const reason of REASONS) fields[reason] = BigInt(this.rejectedTotal.get(reason) ?? 0);
    for (const n of this.rejectedTotal.values()) fields.rejected = (fields.rejected ?? 0n) + BigInt(n);
    this.ctx.emitter.emit(makeRecord('health', 'snmptrap_stats', {}, fields));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.detach?.(); // what arrives now goes back to the bus, not into an emitter that drops it
    this.report();
    await this.fromBus?.stop();
    if (!this.receiver) return;
    await this.receiver.stop();
    this.ctx.signals.udpSocketClosed(this.config.address.includes(':') ? 'udp6' : 'udp4', this.config.port);
  }

  status(): unknown {
    return {
      address: this.config.address, port: this.config.port, allow: this.config.allow, received: this.received,
      ...(this.fromBus ? { from_bus: this.decoded } : {}),
      rejected: Object.fromEntries(this.rejectedTotal), pending_rejections: Object.fromEntries(this.rejected),
    };
  }
}

export const snmptrapCollector = defineCollector({
  name: 'snmptrap',
  description: 'SNMP trap and inform receiver (v1, v2c, v3 with auth/priv users)',
  configSchema: snmptrapConfigSchema,
  create: (config, ctx) => new SnmptrapCollector(config, ctx),
});
