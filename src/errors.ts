/**
 * Error classes with stable codes. The README's "Errors" table lists every code; a test checks the two
 * agree, so add a row there when you add one here.
 */
export const ERROR_CODES = {
  NV_CONFIG: 'configuration file could not be read, parsed or validated',
  NV_DECODE: 'a datagram or capture could not be decoded (counted and dropped)',
  NV_SINK: 'a sink could not write a batch (retryable ones are retried and spooled)',
  NV_SPOOL: 'the disk spool could not be read or written',
  NV_SNMP: 'an SNMP request failed (timeout, agent error, bad credentials)',
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export class NetvigilError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export interface ConfigProblem {
  file: string;
  line?: number;
  column?: number;
  /** Dotted key path, e.g. `sinks.influx.url` or `devices[3].port`. */
  path: string;
  message: string;
}

export class ConfigError extends NetvigilError {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super('NV_CONFIG', problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}:${p.column ?? 1}` : p.file;
  return `${where}: ${p.path || '(root)'}: ${p.message}`;
}

export class DecodeError extends NetvigilError {
  readonly protocol: string;
  readonly offset: number;
  readonly field: string;
  /** Short stable reason, used as a tag on drop counters (e.g. `truncated`, `bad_version`). */
  readonly reason: string;
  constructor(protocol: string, offset: number, field: string, reason: string, detail?: string) {
    super('NV_DECODE', `${protocol}: ${reason} at offset ${offset} (field ${field})${detail ? `: ${detail}` : ''}`);
    this.protocol = protocol;
    this.offset = offset;
    this.field = field;
    this.reason = reason;
  }
}

export class SinkError extends NetvigilError {
  readonly retryable: boolean;
  readonly status?: number;
  constructor(message: string, retryable: boolean, status?: number, options?: { cause?: unknown }) {
    super('NV_SINK', message, options);
    this.retryable = retryable;
    if (status !== undefined) this.status = status;
  }
}

export class SpoolError extends NetvigilError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NV_SPOOL', message, options);
  }
}

export class SnmpError extends NetvigilError {
  readonly device: string;
  readonly kind: 'timeout' | 'agent' | 'auth' | 'socket' | 'budget';
  constructor(device: string, kind: SnmpError['kind'], message: string, options?: { cause?: unknown }) {
    super('NV_SNMP', `${device}: ${message}`, options);
    this.device = device;
    this.kind = kind;
  }
}
