/**
 * Human-readable log lines for a terminal: `12:00:01.234 INFO  message key=value ...`, the level
 * coloured. pino still does the work (levels, redaction); this only re-renders each JSON line it
 * writes, which costs a parse per line: fine for logs, which never sit on a per-record path.
 */
import type { DestinationStream } from 'pino';

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '\x1b[90m' },
  20: { name: 'DEBUG', color: '\x1b[36m' },
  30: { name: 'INFO', color: '\x1b[32m' },
  40: { name: 'WARN', color: '\x1b[33m' },
  50: { name: 'ERROR', color: '\x1b[31m' },
  60: { name: 'FATAL', color: '\x1b[1;31m' },
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
/** Keys every line carries that a person at a terminal does not need repeated. */
const QUIET = new Set(['level', 'time', 'msg', 'app', 'pid', 'hostname']);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** One pino JSON line as text; a line that is not JSON passes through unchanged. */
export function formatLine(line: string, color: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const lvl = LEVELS[o.level as number] ?? { name: String(o.level), color: '' };
  const t = typeof o.time === 'string' ? o.time.slice(11, 23) : new Date(Number(o.time)).toISOString().slice(11, 23);
  const name = lvl.name.padEnd(5);
  const head = color ? `${DIM}${t}${RESET} ${lvl.color}${name}${RESET}` : `${t} ${name}`;
  const rest = Object.entries(o)
    .filter(([k]) => !QUIET.has(k))
    .map(([k, v]) => (color ? `${DIM}${k}=${RESET}${value(v)}` : `${k}=${value(v)}`));
  return `${head} ${String(o.msg ?? '')}${rest.length ? ' ' + rest.join(' ') : ''}\n`;
}

/** Wraps pino's destination so each line is re-rendered; flushing goes through to it. */
export function prettyDestination(out: DestinationStream & { flush?: (cb?: (e?: Error) => void) => void; flushSync?: () => void }, color: boolean): DestinationStream {
  return {
    write: (s: string) => out.write(formatLine(s.endsWith('\n') ? s.slice(0, -1) : s, color)),
    flush: (cb?: (e?: Error) => void) => (out.flush ? out.flush(cb) : cb?.()),
    flushSync: () => out.flushSync?.(),
  } as DestinationStream;
}
