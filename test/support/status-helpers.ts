import { presenceOf } from '../../src/presence/index.js';
import type { StatusMessage, StatusQueue } from '../../src/qsa/index.js';

/** The next message of a queue, or a rejection naming what was awaited after `timeoutMs`. */
export async function nextStatus(queue: StatusQueue, timeoutMs: number, what = 'a status message'): Promise<StatusMessage> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const message = await queue.take(controller.signal);
    if (message === undefined) throw new Error(`queue closed while waiting for ${what}`);
    return message;
  } catch (error) {
    if (controller.signal.aborted) throw new Error(`no ${what} within ${timeoutMs} ms`);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Takes messages until one satisfies `predicate` (bounded by `timeoutMs` overall); returns it and the skipped ones. */
export async function statusUntil(
  queue: StatusQueue,
  predicate: (m: StatusMessage) => boolean,
  timeoutMs: number,
  what: string,
): Promise<{ match: StatusMessage; skipped: StatusMessage[] }> {
  const deadline = Date.now() + timeoutMs;
  const skipped: StatusMessage[] = [];
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms; saw ${skipped.map(describeStatus).join(' | ') || 'nothing'}`);
    const m = await nextStatus(queue, left, what).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; saw ${skipped.map(describeStatus).join(' | ') || 'nothing'}`);
    });
    if (predicate(m)) return { match: m, skipped };
    skipped.push(m);
  }
}

/** The first tuple's basic status of a message, if any. */
export function basicOf(m: StatusMessage): string | undefined {
  return presenceOf(m)?.tuples[0]?.basic;
}

export function describeStatus(m: StatusMessage): string {
  return `${m.state}${m.reason ? `(${m.reason})` : ''}${basicOf(m) ? ` basic=${basicOf(m)}` : ''}${m.error ? ` error=${m.error.code}` : ''}`;
}
