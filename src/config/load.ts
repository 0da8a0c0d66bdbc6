/**
 * Loads the main config with the overrides container users expect: flags win over environment
 * variables, which win over the file. Overrides are applied before validation, and a bad value
 * given by flag or environment is reported under the flag's or the variable's name, never at the
 * file's line for the same key (the file's value is not what failed).
 */
import type { z } from 'zod';
import { loadYamlFile, parseYaml } from './yaml.js';

export interface Overrides {
  influxUrl?: string | undefined;
  influxDb?: string | undefined;
  influxUsername?: string | undefined;
  influxPassword?: string | undefined;
  dataDir?: string | undefined;
  logLevel?: string | undefined;
  logFormat?: string | undefined;
  /** A string is a value the environment gave that is neither on nor off: validation names it. */
  fileSink?: boolean | string | undefined;
  httpListen?: string | undefined;
  shard?: string | undefined;
}

/** The environment variables read, by override; documented in the README. */
export const ENV_OVERRIDES: Record<keyof Overrides, string> = {
  influxUrl: 'NETVIGIL_INFLUX_URL',
  influxDb: 'NETVIGIL_INFLUX_DB',
  influxUsername: 'NETVIGIL_INFLUX_USERNAME',
  influxPassword: 'NETVIGIL_INFLUX_PASSWORD',
  dataDir: 'NETVIGIL_DATA_DIR',
  logLevel: 'NETVIGIL_LOG_LEVEL',
  logFormat: 'NETVIGIL_LOG_FORMAT',
  fileSink: 'NETVIGIL_FILE_SINK',
  httpListen: 'NETVIGIL_HTTP_LISTEN',
  shard: 'NETVIGIL_SHARD',
};

/** The flag of each override that has one (credentials come only from the environment). */
export const FLAG_OVERRIDES: Partial<Record<keyof Overrides, string>> = {
  influxUrl: '--influx-url',
  influxDb: '--influx-db',
  dataDir: '--data-dir',
  logLevel: '--log-level',
  logFormat: '--log-format',
  fileSink: '--no-file-sink',
  httpListen: '--http-listen',
  shard: '--shard',
};

/** Where each override came from, as a problem report names it: "flag --shard", "env NETVIGIL_SHARD". */
export type OverrideSources = Partial<Record<keyof Overrides, string>>;

/** Flags over environment, and the source of every value that survives. */
export function resolveOverrides(env: NodeJS.ProcessEnv, flags: Overrides): { values: Overrides; from: OverrideSources } {
  const fromEnv = overridesFromEnv(env);
  const from: OverrideSources = {};
  for (const k of Object.keys(fromEnv) as (keyof Overrides)[]) from[k] = `env ${ENV_OVERRIDES[k]}`;
  for (const [k, v] of Object.entries(flags) as [keyof Overrides, unknown][]) if (v !== undefined) from[k] = `flag ${FLAG_OVERRIDES[k] ?? k}`;
  return { values: mergeOverrides(fromEnv, flags), from };
}

export function overridesFromEnv(env: NodeJS.ProcessEnv): Overrides {
  const o: Overrides = {};
  for (const [k, name] of Object.entries(ENV_OVERRIDES) as [keyof Overrides, string][]) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (k === 'fileSink') o.fileSink = /^(1|true|on|yes)$/i.test(v) ? true : /^(0|false|off|no)$/i.test(v) ? false : v;
    else o[k] = v;
  }
  return o;
}

/** Flag values take precedence over the environment's. */
export function mergeOverrides(env: Overrides, flags: Overrides): Overrides {
  const out: Overrides = { ...env };
  for (const [k, v] of Object.entries(flags) as [keyof Overrides, string | boolean | undefined][]) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

function obj(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = parent[key];
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  const fresh: Record<string, unknown> = {};
  parent[key] = fresh;
  return fresh;
}

/** The config key path each override sets (the one whose problems it owns). */
const OVERRIDE_PATHS: Record<keyof Overrides, string> = {
  influxUrl: 'sinks.influx.url',
  influxDb: 'sinks.influx.database',
  influxUsername: 'sinks.influx.username',
  influxPassword: 'sinks.influx.password',
  dataDir: 'data_dir',
  logLevel: 'log_level',
  logFormat: 'log_format',
  fileSink: 'sinks.file.enabled',
  httpListen: 'http.listen',
  shard: 'shard',
};

/** Config key path -> source, for the overrides present. */
function originsOf(o: Overrides, from: OverrideSources): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, v] of Object.entries(o) as [keyof Overrides, unknown][]) {
    if (v !== undefined) m.set(OVERRIDE_PATHS[k], from[k] ?? 'a flag or environment variable');
  }
  return m;
}

export function applyOverrides(raw: Record<string, unknown>, o: Overrides): void {
  if (o.logLevel !== undefined) raw.log_level = o.logLevel;
  if (o.logFormat !== undefined) raw.log_format = o.logFormat;
  if (o.dataDir !== undefined) raw.data_dir = o.dataDir;
  const influxTouched = o.influxUrl ?? o.influxDb ?? o.influxUsername ?? o.influxPassword;
  if (influxTouched !== undefined) {
    const influx = obj(obj(raw, 'sinks'), 'influx');
    if (o.influxUrl !== undefined) {
      influx.url = o.influxUrl;
      influx.enabled = true; // naming a server means "write there"
    }
    if (o.influxDb !== undefined) influx.database = o.influxDb;
    if (o.influxUsername !== undefined) influx.username = o.influxUsername;
    if (o.influxPassword !== undefined) influx.password = o.influxPassword;
  }
  if (o.fileSink !== undefined) obj(obj(raw, 'sinks'), 'file').enabled = o.fileSink;
  if (o.httpListen !== undefined) obj(raw, 'http').listen = o.httpListen;
  if (o.shard !== undefined) raw.shard = o.shard;
}

export function loadConfig<S extends z.ZodType>(
  file: string,
  schema: S,
  overrides: Overrides = {},
  env: NodeJS.ProcessEnv = process.env,
  from: OverrideSources = {},
  extra?: (raw: Record<string, unknown>) => void,
): z.output<S> {
  const transform = (raw: Record<string, unknown>) => {
    applyOverrides(raw, overrides);
    extra?.(raw);
  };
  return loadYamlFile(file, schema, { env, transform, origins: originsOf(overrides, from) });
}

export function parseConfigText<S extends z.ZodType>(text: string, file: string, schema: S, overrides: Overrides = {}, env: NodeJS.ProcessEnv = process.env, from: OverrideSources = {}): z.output<S> {
  return parseYaml(text, file, schema, { env, transform: (raw) => applyOverrides(raw, overrides), origins: originsOf(overrides, from) });
}
