import { type DestinationStream, type Logger, pino } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface CreateLoggerOptions {
  level: LogLevel;
  /** Where JSON lines go: file descriptor 1 (stdout) by default; the CLI tools log to 2. */
  fd?: 1 | 2;
  /** A stream instead of a file descriptor (tests). */
  stream?: DestinationStream;
  /** Fields on every line. */
  base?: Record<string, unknown>;
}

/**
 * Structured logs, one JSON object per line (pino). Writes are synchronous so
 * that the last lines before an exit (a config error, the end of a graceful
 * shutdown) are never lost.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const destination = options.stream ?? pino.destination({ dest: options.fd ?? 1, sync: true });
  return pino(
    {
      level: options.level,
      base: { name: 'presence-b2b', ...(options.base ?? {}) },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** The logger of one internal subscription: every line carries its id, record and subscriber. */
export function subscriptionLogger(parent: Logger, subscription: { id: string; record: string; subscriber: string }): Logger {
  return parent.child({ subscription: subscription.id, record: subscription.record, subscriber: subscription.subscriber });
}

export type { Logger };
