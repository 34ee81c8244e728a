import { InvalidOptionError } from '../util/invalid-option-error.js';
import type { SubscriptionStore } from '../store/subscription-store.js';

/** Event ids reserved per queue at a time. */
export const EVENT_ID_LEASE = 100_000;

export interface EventIdLeasesOptions {
  store: SubscriptionStore;
  /** Ids reserved at a time (default EVENT_ID_LEASE); a new reservation is made when half is used. */
  leaseSize?: number;
  /** A reservation that could not be stored (retried at the next id). */
  onError?: (error: unknown) => void;
}

/**
 * Keeps every named queue's stored event-id high-water mark AHEAD of the ids
 * the queue hands out, so that ids keep increasing across a restart (even a
 * crash) without writing per message: the store holds a reservation, the
 * queue issues ids below it, and a new reservation (one small write) is made
 * when half of the current one is used. After a restart a queue starts above
 * the stored mark, hence above every id issued before: a Server-Sent Events
 * consumer that resumes with `Last-Event-ID` from before the restart gets
 * every message issued since. A restart skips at most one reservation of
 * ids, nothing else.
 *
 * The queue cannot wait for a write (ids are assigned synchronously in the
 * NOTIFY path), so in theory a queue could pass its reservation while the
 * next one is being written: it would take `leaseSize / 2` messages in one
 * queue during one write of a few milliseconds. `overruns` counts it.
 */
export class EventIdLeases {
  private readonly size: number;
  /** Durable reservation per queue: no id above it has been issued. */
  private readonly ceilings = new Map<string, number>();
  private readonly raising = new Set<string>();
  /** Ids issued above a durable reservation (see the class comment). */
  overruns = 0;

  constructor(private readonly options: EventIdLeasesOptions) {
    this.size = options.leaseSize ?? EVENT_ID_LEASE;
    if (!Number.isSafeInteger(this.size) || this.size < 2) {
      throw new InvalidOptionError({ option: 'leaseSize', message: `expected a whole number ≥ 2, got ${String(this.size)}` }, 'EventIdLeases');
    }
  }

  /**
   * Reserves the first ids of queues about to start, numbering from
   * `firstId` each, in one transaction; resolves once durable. Call it
   * before the queue issues any id.
   */
  async open(queues: ReadonlyArray<{ name: string; firstId: number }>): Promise<void> {
    if (queues.length === 0) return;
    const marks = queues.map((q) => ({ name: q.name, eventId: q.firstId - 1 + this.size }));
    await this.options.store.raiseQueueHighWater(marks);
    for (const m of marks) this.ceilings.set(m.name, Math.max(this.ceilings.get(m.name) ?? 0, m.eventId));
  }

  /** The queue `name` issued event id `id`: reserve more ahead when half the reservation is used. */
  issued(name: string, id: number): void {
    const ceiling = this.ceilings.get(name);
    if (ceiling === undefined) return;
    if (id > ceiling) this.overruns++;
    if (ceiling - id >= this.size / 2 || this.raising.has(name)) return;
    const next = id + this.size;
    this.raising.add(name);
    this.options.store.raiseQueueHighWater([{ name, eventId: next }]).then(
      () => {
        this.raising.delete(name);
        this.ceilings.set(name, Math.max(this.ceilings.get(name) ?? 0, next));
      },
      (error: unknown) => {
        this.raising.delete(name);
        this.options.onError?.(error);
      },
    );
  }

  /** The durable reservation of a queue (for tests and inspection). */
  ceiling(name: string): number | undefined {
    return this.ceilings.get(name);
  }
}
