import type { Timer, TimerScheduler } from '../../util/timer-scheduler.js';

/** Most items ended per wake-up, so that a backlog of expiries cannot starve I/O. */
const BATCH = 4096;

/**
 * Items that each expire the same fixed delay after they were added, such as
 * completed server transactions waiting out Timer J (64·T1, RFC 3261 §17.2.2).
 * Added in time order, they fall due in the same order, so a FIFO is already
 * sorted: one scheduler timer for the oldest item serves them all, with no
 * heap entry and no closure per item (at 10,000 NOTIFYs/s over UDP, 320,000
 * transactions wait for Timer J at any moment).
 */
export class FixedDelayExpiry<T> {
  private items: (T | undefined)[] = [];
  private deadlines: number[] = [];
  private head = 0;
  private timer: Timer | undefined;

  constructor(
    private readonly scheduler: TimerScheduler,
    private readonly delayMs: number,
    private readonly onExpire: (item: T) => void,
  ) {}

  /** Items waiting (including any already ended by other means and not yet due). */
  get size(): number {
    return this.items.length - this.head;
  }

  /** `item` expires `delayMs` from now. */
  add(item: T): void {
    this.items.push(item);
    this.deadlines.push(this.scheduler.clock.now() + this.delayMs);
    if (this.timer === undefined) this.arm();
  }

  /** Forgets every item without expiring any (shutdown). */
  clear(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.items = [];
    this.deadlines = [];
    this.head = 0;
  }

  private arm(): void {
    const at = this.deadlines[this.head];
    if (at === undefined) return;
    this.timer = this.scheduler.after(Math.max(0, at - this.scheduler.clock.now()), this.fire);
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = this.scheduler.clock.now();
    const items = this.items;
    const deadlines = this.deadlines;
    let budget = BATCH;
    while (this.head < items.length && deadlines[this.head]! <= now && budget-- > 0) {
      const item = items[this.head]!;
      items[this.head] = undefined;
      this.head++;
      this.onExpire(item);
      if (this.items !== items) return; // cleared by onExpire (shutdown)
    }
    // Drop the consumed prefix once it is most of the arrays (amortised O(1) per item).
    if (this.head === items.length) {
      this.items = [];
      this.deadlines = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > items.length) {
      this.items = items.slice(this.head);
      this.deadlines = deadlines.slice(this.head);
      this.head = 0;
    }
    this.arm();
  };
}
