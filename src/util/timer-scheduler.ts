import type { Clock } from './clock.js';
import { ClosedError } from './closed-error.js';

/** A pending timer. `cancel()` is idempotent and O(1). */
export interface Timer {
  /** The clock time (whole ms) it fires at. */
  readonly at: number;
  cancel(): void;
  /** True until the timer has fired or been cancelled. */
  readonly pending: boolean;
}

/**
 * A timer in the heap: one per held subscription (its refresh), so its size
 * counts (issue 11). `at` is a whole millisecond, kept in the field itself
 * (a fraction is a 16-byte number box per entry); pending is "`fn` still
 * set", not a field of its own.
 */
class HeapEntry implements Timer {
  constructor(
    readonly at: number,
    readonly seq: number,
    /** Undefined once the timer fired or was cancelled. */
    public fn: ((arg: never) => void) | undefined,
    private readonly owner: TimerScheduler,
    /** What `fn` is called with (afterCall); a closure ignores it. */
    public arg: unknown = undefined,
  ) {}

  get pending(): boolean {
    return this.fn !== undefined;
  }

  cancel(): void {
    if (this.fn === undefined) return;
    this.fn = undefined; // drop the closure now: a cancelled timer may wait in the heap a while
    this.arg = undefined;
    this.owner.noteCancelled();
  }
}

/** The deadline `delayMs` from `now`, rounded up to a whole millisecond: never earlier than asked. */
function deadline(now: number, delayMs: number): number {
  return Math.ceil(now + Math.max(0, delayMs));
}

/**
 * All of presence-b2b's timers (transaction timers E/F/K/J, Timer N, refresh,
 * retry, wait-for-terminate) in one binary min-heap, driven by a single
 * clock wake-up for the earliest deadline. A million pending timers cost a
 * million small heap entries and no libuv timers; cancellation is lazy, and
 * the heap is compacted when cancelled entries outnumber live ones.
 */
export class TimerScheduler {
  private heap: HeapEntry[] = [];
  private seq = 0;
  private cancelledCount = 0;
  private wakeAt = Number.POSITIVE_INFINITY;
  private cancelWake: (() => void) | undefined;
  private closed = false;
  private readonly onError: ((error: unknown) => void) | undefined;

  /**
   * `onError` is told about an exception thrown by a timer callback (a bug in
   * the code that armed it). Without it the exception is rethrown on a fresh
   * microtask, where it reaches process 'uncaughtException' as any bug would;
   * the daemon passes one that logs and counts it.
   */
  constructor(
    readonly clock: Clock,
    options: { onError?: (error: unknown) => void } = {},
  ) {
    this.onError = options.onError;
  }

  /** Live timers (not fired, not cancelled). */
  get size(): number {
    return this.heap.length - this.cancelledCount;
  }

  /** Timers armed since this scheduler was made (benches: heap insertions per operation). */
  get armedCount(): number {
    return this.seq;
  }

  /** Entries in the heap, cancelled ones not yet removed included (benches: what the heap holds). */
  get heapEntries(): number {
    return this.heap.length;
  }

  /** Runs `fn` after `delayMs` milliseconds of the scheduler's clock. */
  after(delayMs: number, fn: () => void): Timer {
    if (this.closed) throw new ClosedError('TimerScheduler');
    const entry = new HeapEntry(deadline(this.clock.now(), delayMs), this.seq++, fn, this);
    this.push(entry);
    if (entry.at < this.wakeAt) this.armWake(entry.at);
    return entry;
  }

  /**
   * Runs `fn(arg)` after `delayMs`: for a timer held per subscription, `fn`
   * one function for all of them and `arg` the subscription, so that a
   * pending timer costs one heap entry and no closure (issue 11).
   */
  afterCall<T>(delayMs: number, fn: (arg: T) => void, arg: T): Timer {
    if (this.closed) throw new ClosedError('TimerScheduler');
    const entry = new HeapEntry(deadline(this.clock.now(), delayMs), this.seq++, fn, this, arg);
    this.push(entry);
    if (entry.at < this.wakeAt) this.armWake(entry.at);
    return entry;
  }

  /** Cancels every timer and releases the clock wake-up. */
  close(): void {
    this.closed = true;
    this.cancelWake?.();
    this.cancelWake = undefined;
    for (const e of this.heap) {
      e.fn = undefined;
      e.arg = undefined;
    }
    this.heap = [];
    this.cancelledCount = 0;
  }

  /** @internal called by a cancelled entry */
  noteCancelled(): void {
    this.cancelledCount++;
    if (this.cancelledCount > 1024 && this.cancelledCount * 2 > this.heap.length) this.compact();
  }

  private armWake(at: number): void {
    this.cancelWake?.();
    this.wakeAt = at;
    this.cancelWake = this.clock.setTimer(() => this.fire(), at - this.clock.now());
  }

  private fire(): void {
    this.cancelWake = undefined;
    this.wakeAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    // Bounded batch per wake-up, so a storm of due timers cannot starve I/O.
    let budget = 10_000;
    while (this.heap.length > 0 && budget-- > 0) {
      const top = this.heap[0]!;
      if (top.pending && top.at > now) break;
      this.pop();
      if (!top.pending) {
        this.cancelledCount--;
        continue;
      }
      const fn = top.fn! as (arg: unknown) => void;
      const arg = top.arg;
      top.fn = undefined;
      top.arg = undefined;
      try {
        fn(arg);
      } catch (error) {
        // A timer callback must never take the scheduler down with it (nor the other timers due now).
        this.report(error);
      }
    }
    if (this.closed) return;
    const next = this.peekLive();
    if (next !== undefined) this.armWake(budget <= 0 ? now : next.at);
  }

  private report(error: unknown): void {
    const onError = this.onError;
    if (onError !== undefined) {
      try {
        onError(error);
        return;
      } catch {
        // The reporter failed too: fall through and rethrow the original, which is the one that matters.
      }
    }
    queueMicrotask(() => {
      throw error;
    });
  }

  private peekLive(): HeapEntry | undefined {
    while (this.heap.length > 0 && !this.heap[0]!.pending) {
      this.pop();
      this.cancelledCount--;
    }
    return this.heap[0];
  }

  private compact(): void {
    this.heap = this.heap.filter((e) => e.pending);
    this.cancelledCount = 0;
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private less(a: HeapEntry, b: HeapEntry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(entry: HeapEntry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.siftDown(0);
    }
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const n = heap.length;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < n && this.less(heap[l]!, heap[smallest]!)) smallest = l;
      if (r < n && this.less(heap[r]!, heap[smallest]!)) smallest = r;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}
