import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { App } from '../app.js';
import { ConfigError } from '../errors.js';
import { createLogger } from '../log.js';
import { configPath, loadAppConfig, OVERRIDE_HELP, OVERRIDE_OPTIONS, overridesFromFlags, type Io } from './common.js';
import { demoOverlay, DEMO_HELP, startDemo } from './demo.js';
import { EXIT } from './exit-codes.js';

export const RUN_HELP = `Usage: netvigil run [options]

Runs the collector until SIGTERM or SIGINT, then stops the collectors, flushes queues and sinks
within shutdown_timeout and exits 0; a second signal during that flush is logged and ignored, so
the interval in progress is still written. SIGHUP re-reads the config: a valid one is applied, an
invalid one is reported and the running config kept. Exit 1: the config is invalid; 3: the
collector could not start (e.g. a port in use) or did not stop cleanly.

${OVERRIDE_HELP}
${DEMO_HELP}`;

export async function runRun(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { ...OVERRIDE_OPTIONS, demo: { type: 'boolean' } }, strict: true });
  const file = configPath(values.config);
  const flags = overridesFromFlags(values);
  // Signals are taken from here on: one that arrives while the collector is still starting (an
  // orchestrator stopping a container that just started) stops it as soon as it has started,
  // instead of killing it half-way by Node's default handling.
  let early: string | undefined;
  let onSignal = (sig: string): void => void (early ??= sig);
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  const demo = values.demo ? await demoOverlay() : undefined;
  let cfg;
  try {
    cfg = loadAppConfig(file, flags, process.env, demo?.apply);
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr.write(`${e.message}\n`);
      return EXIT.CONFIG;
    }
    throw e;
  }
  const log = createLogger(cfg.log_level, undefined, cfg.log_format);
  let app: App;
  try {
    app = new App(cfg, { log, configDir: dirname(file) });
    await app.start();
  } catch (e) {
    log.fatal({ err: (e as Error).message }, 'cannot start');
    log.flush();
    io.stderr.write(`netvigil run: ${(e as Error).message}\n`);
    return EXIT.RUNTIME;
  }
  log.info({ config: file }, 'running; SIGTERM/SIGINT to stop, SIGHUP to reload');
  const demoRun = demo ? startDemo(cfg, demo, log) : undefined;

  return new Promise<number>((resolve) => {
    // Timers inside are unref'd so tests can stop an App without leaks; the CLI itself runs until a signal.
    const keepAlive = setInterval(() => {}, 1 << 30);
    let stopping = false;
    const stop = (sig: string): void => {
      if (stopping) {
        // Default handling would kill the process mid-flush and lose the interval in progress;
        // shutdown_timeout already bounds the wait.
        log.warn({ signal: sig, shutdown_timeout_ms: cfg.shutdown_timeout }, 'already stopping; flushing within shutdown_timeout');
        return;
      }
      stopping = true;
      clearInterval(keepAlive);
      demoRun?.stop();
      log.info({ signal: sig }, 'stopping');
      app.stop().then(
        () => {
          log.flush();
          resolve(EXIT.OK);
        },
        (e: unknown) => {
          log.error({ err: (e as Error).message }, 'error while stopping');
          log.flush();
          resolve(EXIT.RUNTIME);
        },
      );
    };
    onSignal = stop;
    if (early !== undefined) stop(early);
    process.on('SIGHUP', () => {
      try {
        const next = loadAppConfig(file, flags, process.env, demo?.apply);
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
