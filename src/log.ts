import { pino, type Logger, type LevelWithSilent } from 'pino';
import { prettyDestination } from './log-pretty.js';

export type { Logger };

/** `auto`: readable text on a terminal, JSON lines otherwise (a file, a pipe, a container log). */
export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * Paths pino blanks before a line is written. Secrets come from config (`${ENV}`/`file:` references)
 * and must never reach a log, whatever object a module logs.
 */
export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'community',
  '*.community',
  '*.*.community',
  'auth_key',
  '*.auth_key',
  '*.*.auth_key',
  'priv_key',
  '*.priv_key',
  '*.*.priv_key',
  'token',
  '*.token',
  'headers.authorization',
];

/**
 * A logger writing to `destination`, or to stderr. Given a destination, `auto` means JSON (tests
 * and other programs read it); on stderr it means text when stderr is a terminal. Colour follows
 * the terminal and NO_COLOR (https://no-color.org).
 */
export function createLogger(level: LevelWithSilent = 'info', destination?: pino.DestinationStream, format: LogFormat = 'auto'): Logger {
  const tty = destination === undefined && process.stderr.isTTY === true;
  const pretty = format === 'pretty' || (format === 'auto' && tty);
  const out = destination ?? pino.destination({ fd: 2, sync: false });
  return pino(
    {
      level,
      base: { app: 'netvigil' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pretty ? prettyDestination(out, tty && !process.env.NO_COLOR) : out,
  );
}
