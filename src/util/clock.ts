/**
 * Time, injected. Every timer in presence-b2b goes through a Clock so that
 * retransmission, refresh and expiry behaviour can be tested without sleeping
 * (ManualClock) and run for real on the event loop (systemClock).
 */
export interface Clock {
  /** Monotonic milliseconds; only differences are meaningful. */
  now(): number;
  /** Wall-clock milliseconds since the epoch, for timestamps shown to people. */
  wallTime(): number;
  /**
   * Calls `fn` once, no earlier than `delayMs` from now. Returns a function
   * that cancels the call if it has not happened yet.
   * presence-b2b code normally uses a TimerScheduler on top of this, which asks
   * the clock for one wake-up at a time, however many timers are pending.
   */
  setTimer(fn: () => void, delayMs: number): () => void;
}

/**
 * The longest delay node:timers honours (2^31 − 1 ms, about 24.8 days): a
 * longer one is taken as 1 ms, with a TimeoutOverflowWarning.
 */
const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * The real clock: performance.now() and one node:timers timeout per call.
 * A delay beyond MAX_TIMEOUT_MS (an Expires of 30 days is legal, RFC 3261
 * §20.19) waits in steps rather than firing at once.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallTime: () => Date.now(),
  setTimer(fn, delayMs) {
    const due = performance.now() + Math.max(0, delayMs);
    let handle: ReturnType<typeof setTimeout>;
    const arm = (ms: number): void => {
      handle = setTimeout(ms > MAX_TIMEOUT_MS ? step : fn, Math.min(ms, MAX_TIMEOUT_MS));
    };
    const step = (): void => arm(Math.max(0, due - performance.now()));
    arm(Math.max(0, delayMs));
    return () => clearTimeout(handle);
  },
};

interface ManualTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when a test says so. `advance(ms)` runs every timer
 * that falls due, in deadline order (ties in creation order), with `now()`
 * set to each timer's deadline while it runs; timers created by a running
 * timer are honoured within the same advance.
 */
export class ManualClock implements Clock {
  private current: number;
  private readonly wallOffset: number;
  private timers: ManualTimer[] = [];
  private seq = 0;

  constructor(start = 0, wallStart = Date.UTC(2026, 0, 1)) {
    this.current = start;
    this.wallOffset = wallStart - start;
  }

  now(): number {
    return this.current;
  }

  wallTime(): number {
    return this.current + this.wallOffset;
  }

  setTimer(fn: () => void, delayMs: number): () => void {
    const timer: ManualTimer = { at: this.current + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Number of clock-level timers still pending (normally 0 or 1 per scheduler). */
  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, running what falls due. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      let next: ManualTimer | undefined;
      for (const t of this.timers) {
        if (t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (next === undefined) break;
      next.cancelled = true;
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = target;
  }
}
