/**
 * The process exit codes of every command. The README's "Exit codes" table lists them; a test
 * checks the two agree and causes each one it can.
 */
export const EXIT = {
  OK: 0,
  /** The config is invalid or unreadable; or a check said no (health, doctor, decode input). */
  CONFIG: 1,
  /** Unknown command or option, missing or malformed argument. */
  USAGE: 2,
  /** `run` could not start (a port in use, a data directory not writable) or stop cleanly. */
  RUNTIME: 3,
  /** A bug: an exception nothing expected; the stack trace is printed. */
  INTERNAL: 70,
} as const;

/** README wording of each code, in table order. */
export const EXIT_MEANINGS: Record<number, string> = {
  [EXIT.OK]: 'success',
  [EXIT.CONFIG]: 'the configuration is invalid or unreadable, or a check said no (`health`: not healthy; `doctor`: a check failed; `decode`: an input could not be read)',
  [EXIT.USAGE]: 'usage: unknown command or option, missing or malformed argument',
  [EXIT.RUNTIME]: 'runtime failure: `run` could not start (a port in use, a data directory not writable) or did not stop cleanly',
  [EXIT.INTERNAL]: 'internal error (a bug): the stack trace is printed',
};
