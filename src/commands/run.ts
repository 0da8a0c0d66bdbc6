import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { App } from '../app.js';
import { ConfigError } from '../errors.js';
import { createLogger } from '../log.js';
import { configPath, loadAppConfig, OVERRIDE_HELP, OVERRIDE_OPTIONS, overridesFromFlags, type Io } from './common.js';

export const RUN_HELP = `Usage: netvigil run [options]

Runs the collector until SIGTERM or SIGINT, then stops the collectors, flushes queues and sinks
within shutdown_timeout and exits 0. SIGHUP re-reads the config: a valid one is applied, an invalid
one is reported and the running config kept.

${OVERRIDE_HELP}`;

export async function runRun(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: OVERRIDE_OPTIONS, strict: true });
  const file = configPath(values.config);
  const flags = overridesFromFlags(values);
  let cfg;
  try {
    cfg = loadAppConfig(file, flags);
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr.write(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const log = createLogger(cfg.log_level);
  const app = new App(cfg, { log, configDir: dirname(file) });
  await app.start();
  log.info({ config: file }, 'running; SIGTERM/SIGINT to stop, SIGHUP to reload');

  return new Promise<number>((resolve) => {
    // Timers inside are unref'd so tests can stop an App without leaks; the CLI itself runs until a signal.
    const keepAlive = setInterval(() => {}, 1 << 30);
    let stopping = false;
    const stop = (sig: string): void => {
      if (stopping) return;
      stopping = true;
      clearInterval(keepAlive);
      log.info({ signal: sig }, 'stopping');
      app.stop().then(
        () => {
          log.flush();
          resolve(0);
        },
        (e: unknown) => {
          log.error({ err: (e as Error).message }, 'error while stopping');
          log.flush();
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      try {
        const next = loadAppConfig(file, flags);
        app.reload(next).then(
          (changes) => log.info({ changes }, 'config reloaded'),
          (e: unknown) => log.error({ err: (e as Error).message }, 'config reload failed'),
        );
      } catch (e) {
        log.error({ err: (e as Error).message }, 'new config rejected; the running config stays in force');
      }
    });
  });
}
