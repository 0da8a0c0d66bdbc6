import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { configPath, loadAppConfig, OVERRIDE_HELP, OVERRIDE_OPTIONS, overridesFromFlags, type Io } from './common.js';

export const VALIDATE_HELP = `Usage: netvigil validate [options]

Checks the config (and the files it references) and lists every problem with file, line, column and
key. Exit code 0 when valid, 1 when not.

${OVERRIDE_HELP}
  -q, --quiet           print nothing when valid`;

export async function runValidate(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { ...OVERRIDE_OPTIONS, quiet: { type: 'boolean', short: 'q' } }, strict: true });
  const file = configPath(values.config);
  try {
    const cfg = loadAppConfig(file, overridesFromFlags(values));
    const on = Object.entries(cfg.collectors as Record<string, { enabled: boolean } | undefined>).filter(([, b]) => b?.enabled).map(([k]) => k);
    const sinks = Object.entries(cfg.sinks).filter(([, s]) => s?.enabled).map(([k]) => k);
    // lease_ttl's default depends on the servers (bus/config.ts): say which one applies
    const bus = cfg.bus ? `; bus: ${cfg.bus.nats.servers.length} server(s), replicas ${cfg.bus.nats.replicas}, lease_ttl ${cfg.bus.nats.lease_ttl / 1000}s` : '';
    if (!values.quiet) io.stdout.write(`${file}: valid (collectors: ${on.join(', ') || 'none'}; sinks: ${sinks.join(', ') || 'none'}${bus})\n`);
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr.write(`${e.message}\n${e.problems.length} problem${e.problems.length === 1 ? '' : 's'} found\n`);
      return 1;
    }
    throw e;
  }
}
