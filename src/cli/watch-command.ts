import { presenceSummary, statusView } from '../daemon/status-view.js';
import type { StatusMessage } from '../qsa/index.js';
import { systemClock } from '../util/clock.js';
import { cliCredentials, startEmbeddedStack } from './embedded-stack.js';
import { normalizeProxy } from './listen-option.js';

export interface WatchCommandOptions {
  as: string;
  /** false: --no-proxy, resolve the record's domain (RFC 3263). */
  proxy: string | false;
  json?: boolean;
  count?: number;
  /** Seconds for the whole watch. */
  timeout?: number;
  listen?: string;
  user?: string;
  password?: string;
}

/** Whether a status message means the subscription failed (for the exit status). */
export function isFailure(message: Pick<StatusMessage, 'state' | 'error'>): boolean {
  if (message.state === 'rejected') return true;
  // The engine reports failed attempts as terminated with a B2B_ERR_* code (it would retry later).
  return message.state === 'terminated' && message.error !== undefined && message.error.code.startsWith('B2B_ERR_');
}

/** One readable line: time, record, subscription state, basic status, note. */
export function formatStatusLine(message: StatusMessage): string {
  const { basic, note } = presenceSummary(message);
  let line = `${new Date(message.timestamp).toISOString()} ${message.record} ${message.state}`;
  if (basic !== undefined) line += ` ${basic}`;
  if (note !== undefined) line += ` ${JSON.stringify(note)}`;
  if (message.reason !== undefined) line += ` reason=${message.reason}`;
  if (message.error !== undefined) line += ` error=${message.error.code} (${message.error.message})`;
  return line;
}

/**
 * `presence-b2b watch <record> --as <subscriber>`: an embedded B2BUA
 * subscribes and prints every status message. Resolves with the exit status:
 * 0 after `count` messages (or on SIGINT/SIGTERM), 1 on timeout or failure.
 */
export async function runWatch(record: string, options: WatchCommandOptions): Promise<number> {
  const proxy = options.proxy === false ? undefined : normalizeProxy(options.proxy);
  const credentials = cliCredentials(options.user, options.password);
  const stack = await startEmbeddedStack({
    ...(options.listen !== undefined ? { listen: options.listen } : {}),
    ...(proxy !== undefined ? { proxy } : {}),
    ...(credentials !== undefined ? { credentials } : {}),
    subscriptions: true,
  });
  const queue = stack.qsa.createQueue();
  const abort = new AbortController();
  let why: 'timeout' | 'signal' | undefined;
  const cancelDeadline =
    options.timeout !== undefined
      ? systemClock.setTimer(() => {
          why = 'timeout';
          abort.abort();
        }, options.timeout * 1000)
      : undefined;
  const onSignal = (): void => {
    why = 'signal';
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let seen = 0;
  try {
    stack.qsa.subscribe({ record, subscriber: options.as, queue });
    for (;;) {
      const message = await queue.take(abort.signal);
      if (message === undefined) break;
      seen++;
      process.stdout.write(`${options.json === true ? JSON.stringify(statusView(message)) : formatStatusLine(message)}\n`);
      if (isFailure(message)) {
        process.stderr.write(`watch: subscription ${message.state}${message.reason !== undefined ? ` (${message.reason})` : ''}\n`);
        return 1;
      }
      if (options.count !== undefined && seen >= options.count) return 0;
    }
    if (why === 'timeout') {
      process.stderr.write(`watch: timed out after ${options.timeout} s with ${seen} message(s)${options.count !== undefined ? ` of ${options.count}` : ''}\n`);
      return 1;
    }
    return 0;
  } finally {
    cancelDeadline?.();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Unsubscribe (Expires: 0) before leaving, bounded.
    await stack.close(2000);
  }
}
