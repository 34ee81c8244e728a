import { checkCount, checkText } from './record-checks.js';

/**
 * One subscription made through the daemon's HTTP API: the desired state
 * that a restart re-creates, with the same id, into the same named queue.
 */
export interface StoredApiSubscription {
  /** The QSA subscription id the API handed out. */
  readonly id: string;
  readonly record: string;
  readonly subscriber: string;
  /** Event package, e.g. `presence`. */
  readonly package: string;
  /** Name of the queue its status messages go to. */
  readonly queue: string;
  /** Wall-clock milliseconds of the POST. */
  readonly createdAt: number;
}

/** A validated plain copy (nothing the caller keeps can change what is stored). */
export function copyApiSubscription(sub: StoredApiSubscription): StoredApiSubscription {
  return {
    id: checkText(sub.id, 'id'),
    record: checkText(sub.record, 'record'),
    subscriber: checkText(sub.subscriber, 'subscriber'),
    package: checkText(sub.package, 'package'),
    queue: checkText(sub.queue, 'queue'),
    createdAt: checkCount(sub.createdAt, 'createdAt'),
  };
}

/** Load order of every store: creation time, then id. */
export function compareApiSubscriptions(a: StoredApiSubscription, b: StoredApiSubscription): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
