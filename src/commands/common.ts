import { dirname, join, resolve } from 'node:path';
import { collectors } from '../../collectors/index.js';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { loadConfig, resolveOverrides, type Overrides } from '../config/load.js';
import { buildConfigSchema, type AppConfig } from '../config/schema.js';
import { checkEnrich } from '../enrich/config.js';
import { packageRoot } from '../version.js';

export { packageRoot };

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** -c/--config, else $NETVIGIL_CONFIG, else the shipped default config/collector.yaml. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env.NETVIGIL_CONFIG ?? join(packageRoot(), 'config', 'collector.yaml'));
}

export const OVERRIDE_OPTIONS = {
  config: { type: 'string', short: 'c' },
  'influx-url': { type: 'string' },
  'influx-db': { type: 'string' },
  'data-dir': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'no-file-sink': { type: 'boolean' },
  'http-listen': { type: 'string' },
  shard: { type: 'string' },
} as const;

export function overridesFromFlags(v: { [k: string]: string | boolean | undefined }): Overrides {
  return {
    influxUrl: v['influx-url'] as string | undefined,
    influxDb: v['influx-db'] as string | undefined,
    dataDir: v['data-dir'] as string | undefined,
    logLevel: v['log-level'] as string | undefined,
    logFormat: v['log-format'] as string | undefined,
    fileSink: v['no-file-sink'] ? false : undefined,
    httpListen: v['http-listen'] as string | undefined,
    shard: v.shard as string | undefined,
  };
}

export function configSchema() {
  return buildConfigSchema(collectors);
}

/**
 * Loads the config and checks the files its collector blocks name (device inventories, ...), so a
 * config is accepted whole or not at all; every problem is reported together.
 */
/** `extra` edits the raw config after the overrides (the demo's settings). */
export function loadAppConfig(file: string, flags: Overrides, env: NodeJS.ProcessEnv = process.env, extra?: (raw: Record<string, unknown>) => void): AppConfig {
  const { values, from } = resolveOverrides(env, flags);
  const cfg = loadConfig(file, configSchema(), values, env, from, extra);
  const problems: ConfigProblem[] = [];
  for (const def of collectors) {
    const block = (cfg.collectors as Record<string, { enabled: boolean } | undefined>)[def.name];
    if (!block?.enabled || !def.check) continue;
    try {
      def.check(block, dirname(file));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problems.push(...e.problems);
    }
  }
  try {
    checkEnrich(cfg.enrich, dirname(file));
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems);
  }
  if (problems.length) throw new ConfigError(problems);
  return cfg;
}

export const OVERRIDE_HELP = `  -c, --config FILE     config file (env NETVIGIL_CONFIG; default: the shipped config/collector.yaml)
      --influx-url URL  write to InfluxDB at URL, e.g. http://127.0.0.1:8086 (env NETVIGIL_INFLUX_URL)
      --influx-db NAME  InfluxDB database (env NETVIGIL_INFLUX_DB)
      --data-dir DIR    spool, templates and line-protocol files (env NETVIGIL_DATA_DIR)
      --log-level LVL   fatal|error|warn|info|debug|trace|silent (env NETVIGIL_LOG_LEVEL)
      --log-format F    auto|pretty|json; auto is text on a terminal, JSON lines otherwise (env
                        NETVIGIL_LOG_FORMAT)
      --no-file-sink    do not write line-protocol files (env NETVIGIL_FILE_SINK=off)
      --http-listen A:P serve /metrics, /healthz, /readyz and the status page on ADDRESS:PORT (env
                        NETVIGIL_HTTP_LISTEN; config http.listen)
      --shard I/N       poll only SNMP shard I of N, by stable hash of the device name (env NETVIGIL_SHARD)
  InfluxDB credentials: env NETVIGIL_INFLUX_USERNAME / NETVIGIL_INFLUX_PASSWORD or the config file.`;
