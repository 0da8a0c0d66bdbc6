import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

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

export function createLogger(level: LevelWithSilent = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { app: 'netvigil' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
