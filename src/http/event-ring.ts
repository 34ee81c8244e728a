import { InvalidOptionError } from '../util/invalid-option-error.js';

/** One event kept for Server-Sent Events resume. */
export interface RingEvent<T> {
  /** Strictly increasing within the ring: the SSE `id:` field. */
  id: number;
  value: T;
}

export type RingListener<T> = (event: RingEvent<T>) => void;

/**
 * The most recent events of one named queue, for `Last-Event-ID` resume
 * (HTML Living Standard, Server-sent events §9.2.4), and the live listeners.
 * A fixed-size circular buffer: pushing never allocates beyond the event.
 */
export class EventRing<T> {
  private readonly slots: Array<RingEvent<T> | undefined>;
  private start = 0;
  private count = 0;
  /** Id of the newest event dropped for lack of room (ids need not be consecutive). */
  private droppedThrough: number | undefined;
  private readonly listeners = new Set<RingListener<T>>();

  /**
   * @param firstId the lowest id this ring may hold: the queue's first
   * sequence number. After a restart it is above every id issued before
   * (src/daemon/event-id-lease.ts), so a client's id below it is an old one
   * of ours, and an id at or above it that the ring has not seen is none of
   * ours (see `isAhead`).
   */
  constructor(
    readonly capacity: number,
    readonly firstId = 1,
  ) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) {
      throw new InvalidOptionError({ option: 'capacity', message: `expected a whole number ≥ 1, got ${String(capacity)}` }, 'EventRing');
    }
    if (!(Number.isSafeInteger(firstId) && firstId >= 1)) {
      throw new InvalidOptionError({ option: 'firstId', message: `expected a whole number ≥ 1, got ${String(firstId)}` }, 'EventRing');
    }
    this.slots = new Array<RingEvent<T> | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Id of the oldest event still kept, or undefined when empty. */
  get oldestId(): number | undefined {
    return this.count === 0 ? undefined : this.slots[this.start]?.id;
  }

  get newestId(): number | undefined {
    return this.count === 0 ? undefined : this.slots[(this.start + this.count - 1) % this.capacity]?.id;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Keeps the event (dropping the oldest when full) and hands it to every listener. */
  push(event: RingEvent<T>): void {
    const newest = this.newestId;
    if ((newest !== undefined && event.id <= newest) || event.id < this.firstId) {
      throw new InvalidOptionError({ option: 'event.id', message: `expected an id after ${newest ?? this.firstId - 1}, got ${event.id}` }, 'EventRing.push');
    }
    if (this.count < this.capacity) {
      this.slots[(this.start + this.count) % this.capacity] = event;
      this.count++;
    } else {
      this.droppedThrough = this.slots[this.start]?.id;
      this.slots[this.start] = event;
      this.start = (this.start + 1) % this.capacity;
    }
    for (const listener of this.listeners) listener(event);
  }

  /** Events with an id greater than `afterId`, oldest first (all of them when undefined). */
  since(afterId: number | undefined): Array<RingEvent<T>> {
    const out: Array<RingEvent<T>> = [];
    for (let i = 0; i < this.count; i++) {
      const e = this.slots[(this.start + i) % this.capacity];
      if (e !== undefined && (afterId === undefined || e.id > afterId)) out.push(e);
    }
    return out;
  }

  /**
   * Whether `lastId` is beyond every id issued so far: a client claiming it
   * has seen events that do not exist (another daemon's ids, a mistyped
   * `lastEventId`). Ids below `firstId` are not: they may be ours from
   * before a restart.
   */
  isAhead(lastId: number): boolean {
    return lastId > (this.newestId ?? this.firstId - 1);
  }

  /**
   * Events up to `id` were issued before this ring started (cluster mode: a
   * node that began following a queue with history): a client resuming
   * below `id` missed some, as if the ring had dropped them. Only before
   * the first push.
   */
  startsAfter(id: number): void {
    if (this.count === 0 && Number.isSafeInteger(id) && id > 0) this.droppedThrough = Math.max(this.droppedThrough ?? 0, id);
  }

  /** Whether events after `afterId` were already dropped (the client missed some). */
  missedAfter(afterId: number): boolean {
    return this.droppedThrough !== undefined && this.droppedThrough > afterId;
  }

  subscribe(listener: RingListener<T>): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
