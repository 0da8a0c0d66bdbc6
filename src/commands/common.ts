import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectors } from '../../collectors/index.js';
import { loadConfig, mergeOverrides, overridesFromEnv, type Overrides } from '../config/load.js';
import { buildConfigSchema, type AppConfig } from '../config/schema.js';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** The package root, whether running from dist/src or from src (tests). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
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
    fileSink: v['no-file-sink'] ? false : undefined,
    httpListen: v['http-listen'] as string | undefined,
    shard: v.shard as string | undefined,
  };
}

export function configSchema() {
  return buildConfigSchema(collectors);
}

export function loadAppConfig(file: string, flags: Overrides, env: NodeJS.ProcessEnv = process.env): AppConfig {
  return loadConfig(file, configSchema(), mergeOverrides(overridesFromEnv(env), flags), env);
}

export const OVERRIDE_HELP = `  -c, --config FILE     config file (env NETVIGIL_CONFIG; default: the shipped config/collector.yaml)
      --influx-url URL  write to InfluxDB at URL, e.g. http://127.0.0.1:8086 (env NETVIGIL_INFLUX_URL)
      --influx-db NAME  InfluxDB database (env NETVIGIL_INFLUX_DB)
      --data-dir DIR    spool, templates and line-protocol files (env NETVIGIL_DATA_DIR)
      --log-level LVL   fatal|error|warn|info|debug|trace|silent (env NETVIGIL_LOG_LEVEL)
      --no-file-sink    do not write line-protocol files (env NETVIGIL_FILE_SINK=off)
      --http-listen A:P /metrics, /healthz, /readyz, status page (env NETVIGIL_HTTP_LISTEN; default 127.0.0.1:9108)
      --shard I/N       poll only SNMP shard I of N, by stable hash of the device name (env NETVIGIL_SHARD)
  InfluxDB credentials: env NETVIGIL_INFLUX_USERNAME / NETVIGIL_INFLUX_PASSWORD or the config file.`;
