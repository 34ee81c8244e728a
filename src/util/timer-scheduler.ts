import type { Clock } from './clock.js';
import { ClosedError } from './closed-error.js';

/** A pending timer. `cancel()` is idempotent and O(log n): it takes the timer out of the heap at once. */
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
  /** Its position in its scheduler's heap while pending; -1 once it fired or was cancelled. */
  index = -1;

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
    this.fn = undefined;
    this.arg = undefined;
    this.owner.remove(this);
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
 * million small heap entries and no libuv timers. Each entry knows its
 * place in the heap, so a cancelled timer leaves it at once (O(log n)):
 * cancelling lazily, and compacting only once cancelled entries outnumbered
 * live ones, left every held subscription with a second, dead entry (72 B)
 * behind its refresh timer, re-armed by the first NOTIFY after the 2xx
 * (issue 11, docs/establishment.md §17).
 */
export class TimerScheduler {
  private heap: HeapEntry[] = [];
  private seq = 0;
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
    return this.heap.length;
  }

  /** Timers armed since this scheduler was made (benches: heap insertions per operation). */
  get armedCount(): number {
    return this.seq;
  }

  /** Entries in the heap (benches: what the heap holds); the live timers, as cancelled ones leave at once. */
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
      e.index = -1;
    }
    this.heap = [];
  }

  /** @internal A cancelled entry leaves the heap (HeapEntry.cancel). */
  remove(entry: HeapEntry): void {
    const index = entry.index;
    if (index >= 0 && this.heap[index] === entry) this.removeAt(index);
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
    // this.heap each time: a callback may close() the scheduler, which replaces the heap.
    while (this.heap.length > 0 && budget-- > 0) {
      const top = this.heap[0]!;
      if (top.at > now) break;
      this.removeAt(0);
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
    const next = this.heap[0];
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

  private less(a: HeapEntry, b: HeapEntry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(entry: HeapEntry): void {
    const heap = this.heap;
    heap.push(entry);
    this.siftUp(entry, heap.length - 1);
  }

  /** Takes the entry at `index` out of the heap: the last one fills its place and moves up or down. */
  private removeAt(index: number): void {
    const heap = this.heap;
    const removed = heap[index]!;
    removed.index = -1;
    const last = heap.pop()!;
    if (last === removed) return;
    if (index > 0 && this.less(last, heap[(index - 1) >> 1]!)) this.siftUp(last, index);
    else this.siftDown(last, index);
  }

  /** Puts `entry` at `start` or above it, moving larger parents down (each moved entry's index follows). */
  private siftUp(entry: HeapEntry, start: number): void {
    const heap = this.heap;
    let i = start;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!this.less(entry, parent)) break;
      heap[i] = parent;
      parent.index = i;
      i = parentIndex;
    }
    heap[i] = entry;
    entry.index = i;
  }

  /** Puts `entry` at `start` or below it, moving smaller children up (each moved entry's index follows). */
  private siftDown(entry: HeapEntry, start: number): void {
    const heap = this.heap;
    const n = heap.length;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && this.less(heap[r]!, heap[l]!) ? r : l;
      const smaller = heap[child]!;
      if (!this.less(smaller, entry)) break;
      heap[i] = smaller;
      smaller.index = i;
      i = child;
    }
    heap[i] = entry;
    entry.index = i;
  }
}
