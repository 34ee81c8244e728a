import { checkCount, checkText } from './record-checks.js';

/** A named queue of the HTTP API and the high-water mark of its event ids. */
export interface StoredQueue {
  readonly name: string;
  /**
   * No event id above this one has been handed out for the queue: after a
   * restart its ids start above it, so that a Server-Sent Events consumer
   * resuming with `Last-Event-ID` from before the restart misses nothing
   * issued since. The daemon stores a reservation ahead of the ids it
   * issues (see the daemon's EventIdLease), not every id.
   */
  readonly eventIdHighWater: number;
}

/** One queue's new high-water mark; stores only ever raise it. */
export interface QueueHighWater {
  readonly name: string;
  readonly eventId: number;
}

export function copyQueue(queue: StoredQueue): StoredQueue {
  return { name: checkText(queue.name, 'name'), eventIdHighWater: checkCount(queue.eventIdHighWater, 'eventIdHighWater') };
}

export function copyHighWater(mark: QueueHighWater): QueueHighWater {
  return { name: checkText(mark.name, 'name'), eventId: checkCount(mark.eventId, 'eventId') };
}
