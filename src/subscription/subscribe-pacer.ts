import { delayToTick } from '../util/tick-grid.js';

/**
 * The grid (ms) paced SUBSCRIBEs leave on. One per wake-up, each paid a turn of the event loop
 * for itself and one for each of its answers: W4 and resume, paced at 1,000/s, cost 2.5–3.5× the
 * CPU per subscription of an unpaced burst (docs/establishment.md §20). 10 ms holds the rate to
 * within a tick: never more than the rate's count in any second of the grid.
 */
export const PACE_TICK_MS = 10;

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

  /** How long the next new SUBSCRIBE must wait (ms, 0 = now; else ending on the PACE_TICK_MS grid); reserves its slot. */
  reserve(now: number): number {
    if (this.ratePerSecond <= 0) return 0;
    const interval = 1000 / this.ratePerSecond;
    const burstMs = (this.ratePerSecond - 1) * interval;
    const tat = Math.max(this.tat, now);
    this.tat = tat + interval;
    const wait = tat - now - burstMs;
    // Past the burst, the waiting ones leave on a grid: those within one tick go in one wake-up.
    return wait > 0 ? delayToTick(now, wait, PACE_TICK_MS) : 0;
  }
}
