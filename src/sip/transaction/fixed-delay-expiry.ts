import type { Timer, TimerScheduler } from '../../util/timer-scheduler.js';

/** Most items ended per wake-up, so that a backlog of expiries cannot starve I/O. */
const BATCH = 4096;

/**
 * Tickets count added items modulo 2^30, so that they stay small integers (no
 * number box in the field that keeps one) however long the process runs; the
 * queue never holds anywhere near 2^30 items, so a ticket names one slot.
 */
const TICKET_MASK = 0x3fffffff;

/**
 * Items that each expire the same fixed delay after they were added, such as
 * completed server transactions waiting out Timer J (64·T1, RFC 3261 §17.2.2).
 * Added in time order, they fall due in the same order, so a FIFO is already
 * sorted: one scheduler timer for the oldest item serves them all, with no
 * heap entry and no closure per item (at 10,000 NOTIFYs/s over UDP, 320,000
 * transactions wait for Timer J at any moment).
 *
 * An item can also be taken out before it is due (`cancel` with the ticket
 * `add` returned): its slot is emptied, so that the queue no longer keeps it
 * alive, and skipped when its time comes. Timers F and K and the first Timer
 * E of the client transactions go this way, and the engine's Timer N (issue
 * 11): most are cancelled within milliseconds, and an entry each on the
 * scheduler's heap (which holds one entry per held subscription) cost an
 * insertion each per establishment, and 64-byte entries that lingered until
 * the heap was compacted.
 */
export class FixedDelayExpiry<T> {
  private items: (T | undefined)[] = [];
  private deadlines: number[] = [];
  private head = 0;
  /** The ticket of items[0] (modulo 2^30). */
  private base = 0;
  /** Items added and neither expired nor cancelled: at 0 the queue lets its timer go. */
  private live = 0;
  private timer: Timer | undefined;

  constructor(
    private readonly scheduler: TimerScheduler,
    private readonly delayMs: number,
    /** Called with the item and the ticket `add` returned for it. */
    private readonly onExpire: (item: T, ticket: number) => void,
  ) {}

  /** Items waiting (including any already ended by other means and not yet due). */
  get size(): number {
    return this.items.length - this.head;
  }

  /** `item` expires `delayMs` from now; the ticket lets `cancel` take it out before. */
  add(item: T): number {
    const ticket = (this.base + this.items.length) & TICKET_MASK;
    this.items.push(item);
    this.deadlines.push(this.scheduler.clock.now() + this.delayMs);
    this.live++;
    if (this.timer === undefined) this.arm();
    return ticket;
  }

  /**
   * Takes `item` (added with `ticket`) out: it will not expire, and the queue
   * lets go of it now. Nothing happens if it already expired or was cancelled.
   * The last item waiting takes the queue's timer with it: an idle queue holds
   * no scheduler timer (otherwise the timer waits for the next item still
   * waiting, and skips the cancelled ones then: no timer is re-armed per cancel).
   */
  cancel(ticket: number, item: T): void {
    const index = (ticket - this.base) & TICKET_MASK;
    if (index < this.head || index >= this.items.length || this.items[index] !== item) return;
    this.items[index] = undefined;
    if (--this.live === 0) this.clear();
  }

  /** Forgets every item without expiring any (shutdown). */
  clear(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.base = (this.base + this.items.length) & TICKET_MASK;
    this.items = [];
    this.deadlines = [];
    this.head = 0;
    this.live = 0;
  }

  /** Wakes up for the oldest item still waiting: cancelled ones ahead of it are dropped, not waited for. */
  private arm(): void {
    const items = this.items;
    while (this.head < items.length && items[this.head] === undefined) this.head++;
    this.trim();
    const at = this.deadlines[this.head];
    if (at === undefined) return;
    this.timer = this.scheduler.after(Math.max(0, at - this.scheduler.clock.now()), this.fire);
  }

  /** Drops the consumed prefix once it is most of the arrays (amortised O(1) per item). */
  private trim(): void {
    const items = this.items;
    if (this.head === items.length) {
      this.base = (this.base + items.length) & TICKET_MASK;
      this.items = [];
      this.deadlines = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > items.length) {
      this.base = (this.base + this.head) & TICKET_MASK;
      this.items = items.slice(this.head);
      this.deadlines = this.deadlines.slice(this.head);
      this.head = 0;
    }
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = this.scheduler.clock.now();
    const items = this.items;
    const deadlines = this.deadlines;
    let budget = BATCH;
    try {
      while (this.head < items.length && deadlines[this.head]! <= now && budget-- > 0) {
        const item = items[this.head];
        items[this.head] = undefined;
        this.head++;
        if (item === undefined) continue; // cancelled
        this.live--;
        this.onExpire(item, (this.base + this.head - 1) & TICKET_MASK);
        if (this.items !== items) return; // cleared by onExpire (shutdown)
      }
    } finally {
      // Also when onExpire threw (the scheduler reports it): the items after it still expire.
      if (this.items === items && this.timer === undefined) this.arm();
    }
  };
}
