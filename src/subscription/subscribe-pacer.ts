/**
 * Paces new (out-of-dialog) SUBSCRIBEs: at most `ratePerSecond` on average,
 * with bursts of up to one second's worth (the generic cell rate algorithm, a
 * token bucket without a refill timer). After a presence server restarts,
 * every dialog it dropped comes back within a second (RFC 6665 §4.1.3
 * deactivated/timeout, or 481 on refresh); unpaced, 100k re-SUBSCRIBEs and
 * their NOTIFYs overload the server and us alike (docs/behaviour.md §3.6).
 */
export class SubscribePacer {
  /** Theoretical arrival time of the next request (clock ms). */
  private tat = Number.NEGATIVE_INFINITY;

  /** `ratePerSecond` 0 means unlimited. */
  constructor(private readonly ratePerSecond: number) {}

  /** How long the next new SUBSCRIBE must wait (ms, 0 = now); reserves its slot. */
  reserve(now: number): number {
    if (this.ratePerSecond <= 0) return 0;
    const interval = 1000 / this.ratePerSecond;
    const burstMs = (this.ratePerSecond - 1) * interval;
    const tat = Math.max(this.tat, now);
    this.tat = tat + interval;
    return Math.max(0, tat - now - burstMs);
  }
}
