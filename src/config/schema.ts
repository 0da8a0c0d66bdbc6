/**
 * The main config file's schema. Every object is strict (a typo is an error, not a silently ignored
 * key) and every key has a default, so an empty file is a valid config. Collector and monitor blocks
 * come from their own modules; this file only assembles them. Collectors are passed in (src/ reaches
 * collectors/ only through collectors/index.ts, which the caller imports).
 */
import { z } from 'zod';
import type { CollectorDefinition } from '../collector.js';
import { xcheckSchema } from '../xcheck/config.js';
import { monitorConfigSchema } from '../monitor/index.js';
import { enrichConfigSchema } from '../enrich/config.js';
import { LOG_FORMATS } from '../log.js';
import { duration, size } from './units.js';
import { busSchema, checkRoles, rolesSchema } from '../bus/config.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const pipelineSchema = z
  .object({
    queue_size: z.number().int().min(100).default(200_000).describe('records held between collectors and sinks'),
    overflow: z.enum(['drop_oldest', 'drop_newest']).default('drop_oldest').describe('which records a full queue drops (counted)'),
    batch_size: z.number().int().min(1).max(100_000).default(5000),
    flush_interval: duration().default(1000).describe('send a partial batch after this long'),
    concurrency: z.number().int().min(1).max(16).default(2).describe('batches in the sinks at once'),
  })
  .strict();

const fileSinkSchema = z
  .object({
    enabled: z.boolean().default(true),
    dir: z.string().optional().describe('default: <data_dir>/lp'),
    rotate_size: size().default(64 * 1024 * 1024),
    rotate_interval: duration().default(3_600_000),
    keep: z.number().int().min(0).default(24).describe('rotated files kept'),
    database: z.string().min(1).optional().describe('database in each file\'s "# CONTEXT-DATABASE" header for influx -import; default: sinks.influx.database or netvigil'),
  })
  .strict();

const influxSinkSchema = z
  .object({
    enabled: z.boolean().default(true),
    url: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8086').describe('user:pass@ in the URL is used as username/password (1.x); not together with username'),
    api: z.enum(['v1', 'v2']).default('v1').describe('v1: /write?db= (InfluxDB 1.x); v2: /api/v2/write?org=&bucket= (InfluxDB 1.8+, 2.x, 3.x; VictoriaMetrics takes both)'),
    database: z.string().min(1).default('netvigil'),
    username: z.string().optional(),
    password: z.string().optional().describe('use "${ENV_VAR}" or "file:/run/secrets/x", never inline'),
    token: z.string().optional().describe('v2: API token (Authorization: Token); use "${ENV_VAR}" or "file:..."'),
    org: z.string().min(1).optional().describe('v2: organization (InfluxDB 2.x; 3.x and VictoriaMetrics ignore it)'),
    bucket: z.string().min(1).optional().describe('v2: bucket (3.x: database); default: database'),
    precision: z.enum(['s', 'ms', 'us', 'ns']).default('ms').describe('timestamp unit written and sent as precision='),
    gzip: z.boolean().default(false).describe('gzip request bodies (Content-Encoding: gzip)'),
    integers: z.enum(['int64', 'unsigned']).default('int64').describe('int64: values above 2^63-1 written as 2^63-1 (counted); unsigned: `u` for values >= 0 (servers with unsigned support only: 2.x, 3.x, VictoriaMetrics)'),
    tls: z
      .object({ ca: z.string().min(1).optional().describe('PEM file of the CA that signs the server certificate') })
      .strict()
      .optional(),
    create_database: z.boolean().default(true).describe('v1: CREATE DATABASE / RETENTION POLICY at start; a 401/403 answer is a warning, writes go on'),
    retention_policy: z
      .object({
        name: z.string().min(1),
        duration: z.string().regex(/^(INF|\d+[hdw])$/, 'InfluxDB duration like 30d, 720h, 4w or INF'),
        replication: z.number().int().min(1).default(1),
        default: z.boolean().default(true),
      })
      .strict()
      .optional(),
    timeout: duration().default(10_000),
    hang_threshold: duration()
      .default(2_000)
      .describe('a write unanswered this long is abandoned and its batch spooled (a hung server holds the pipeline no longer); replays wait the whole timeout'),
    max_in_flight: z.number().int().min(1).max(16).default(2),
    retry: z
      .object({ initial: duration().default(500), max: duration().default(30_000) })
      .strict()
      .default({ initial: 500, max: 30_000 }),
    spool: z
      .object({
        dir: z.string().optional().describe('default: <data_dir>/spool/influx'),
        max_size: size().default(1024 * 1024 * 1024),
        max_age: duration().default(7 * 86_400_000),
      })
      .strict()
      .default({ max_size: 1024 * 1024 * 1024, max_age: 7 * 86_400_000 }),
  })
  .strict()
  .superRefine((v, ctx) => {
    // Credentials in the URL are used; two sources for one user would leave it unclear which applies.
    const u = URL.canParse(v.url) ? new URL(v.url) : undefined; // a bad url is reported by its own check
    if (u && (u.username || u.password) && (v.username !== undefined || v.password !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'credentials both in url (user:pass@) and in username/password: keep one' });
    }
    if (v.api === 'v1' && (v.token !== undefined || v.org !== undefined || v.bucket !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['api'], message: 'token, org and bucket belong to api: v2 (the 1.x API uses database, username, password)' });
    }
    if (v.api === 'v2' && v.retention_policy !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['retention_policy'], message: 'retention_policy is created through the 1.x API only (api: v1)' });
    }
  });

const httpSchema = z
  .object({
    enabled: z.boolean().default(true),
    listen: z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected ADDRESS:PORT, e.g. 127.0.0.1:9108 or [::1]:9108')
      .default('127.0.0.1:9108')
      .describe('/metrics, /healthz, /readyz and the status page; loopback by default'),
  })
  .strict();

const shardSchema = z
  .string()
  .regex(/^\d+\/\d+$/, 'expected INDEX/COUNT, e.g. 0/2')
  .refine((v) => {
    const [i, n] = v.split('/').map(Number) as [number, number];
    return n >= 1 && i < n;
  }, 'the index must be below the count (0/2 and 1/2 for two instances)')
  .default('0/1')
  .describe('this instance polls the SNMP devices whose stable hash falls in shard INDEX of COUNT');

export function buildConfigSchema(collectors: readonly CollectorDefinition[]) {
  const monitor = monitorConfigSchema;
  const collectorShape: Record<string, z.ZodType> = {};
  for (const def of collectors) {
    collectorShape[def.name] = def.configSchema.extend({ enabled: z.boolean().default(true) }).strict().optional().describe(def.description);
  }
  return z
    .object({
      log_level: z.enum(LOG_LEVELS).default('info'),
      log_format: z.enum(LOG_FORMATS).default('auto').describe('auto: text on a terminal, JSON lines otherwise'),
      data_dir: z.string().default('./data').describe('spool, template store and state; relative to the working directory'),
      telemetry_interval: duration().default(10_000).describe('how often netvigil writes its own metrics'),
      shutdown_timeout: duration().default(10_000).describe('flush deadline on SIGTERM/SIGINT'),
      instance: z.string().min(1).optional().describe('tag `instance` on every record, for several instances writing to one database'),
      shard: shardSchema,
      // Off unless the block (or --http-listen) is present: two instances, or tests, on one machine
      // must not race for the same default port.
      http: httpSchema.default({ enabled: false, listen: '127.0.0.1:9108' }),
      xcheck: xcheckSchema.optional().describe('flow-vs-SNMP cross-check per interface (src/xcheck/); on when present'),
      pipeline: pipelineSchema.default(pipelineSchema.parse({})),
      sinks: z
        .object({ file: fileSinkSchema.optional(), influx: influxSinkSchema.optional() })
        .strict()
        .default({}),
      enrich: enrichConfigSchema,
      collectors: z.object(collectorShape).strict().default({}),
      monitor: monitor.default(monitor.parse({})),
      roles: rolesSchema,
      bus: busSchema.optional(),
    })
    .strict()
    .superRefine(checkRoles);
}

export type ConfigSchema = ReturnType<typeof buildConfigSchema>;
export type AppConfig = z.output<ConfigSchema>;
export type InfluxSinkConfig = z.output<typeof influxSinkSchema>;
export type FileSinkConfig = z.output<typeof fileSinkSchema>;
