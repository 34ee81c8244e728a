import type { Random } from '../util/random.js';
import { delayToTick } from '../util/tick-grid.js';
import type { Timer, TimerScheduler } from '../util/timer-scheduler.js';
import { PACE_TICK_MS } from './subscribe-pacer.js';

/** How far a late wake-up may catch up at once (ms worth of sends), so that a stalled loop makes no burst. */
const MAX_CATCH_UP_MS = 50;
/** Above this rate the sliding-window check is left out (it keeps one number per send of the last second). */
const MAX_WINDOW_TRACKED = 100_000;

/**
 * Paces the SUBSCRIBEs a restart owes (issue 10): the in-dialog refreshes that
 * resume stored dialogs, the new dialogs that replace expired or refused ones,
 * and the unSUBSCRIBEs of snapshots nobody claimed. After a restart with
 * 20,000 stored dialogs all of them are owed at once; the subscribe pacer
 * (SubscribePacer) would let one second's worth leave in a burst, so this
 * one is stricter:
 * - turns leave `1000 / max_subscribe_rate` ms apart, never in a burst; the
 *   wake-ups are on the PACE_TICK_MS grid, each sending the turns whose slots
 *   have come (10 at 1,000/s); a late wake-up catches up at most
 *   MAX_CATCH_UP_MS worth;
 * - never more than `max_subscribe_rate` in any sliding second (checked on
 *   the send times themselves);
 * - jitter: each turn queued takes a random place among those waiting, so
 *   that the dialogs of one server (stored together, restored in creation
 *   order) do not reach it back to back.
 * A rate of 0 (unlimited) runs every turn at once, as the subscribe pacer does.
 */
export class RestartPacer {
  private readonly queue: Array<() => boolean> = [];
  private head = 0;
  private readonly intervalMs: number;
  /** Send times of the last `ratePerSecond` turns (a ring), oldest at `ringHead` once full. */
  private readonly ring: Float64Array | undefined;
  private ringHead = 0;
  private ringCount = 0;
  /** Earliest time the next turn may leave. */
  private nextAt = Number.NEGATIVE_INFINITY;
  private timer: Timer | undefined;
  private closed = false;
  /** Turns that sent something. */
  sent = 0;

  constructor(
    private readonly ratePerSecond: number,
    private readonly scheduler: TimerScheduler,
    private readonly random: Random,
  ) {
    this.intervalMs = ratePerSecond > 0 ? 1000 / ratePerSecond : 0;
    this.ring = ratePerSecond > 0 && ratePerSecond <= MAX_WINDOW_TRACKED ? new Float64Array(ratePerSecond) : undefined;
  }

  /** Turns waiting. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  /**
   * Queues `turn` at a random place among the turns waiting. It runs when its
   * slot comes and returns whether it sent a request; one that had nothing to
   * send (its dialog moved on meanwhile) gives its slot to the next turn.
   */
  push(turn: () => boolean): void {
    if (this.closed) return;
    if (this.ratePerSecond <= 0) {
      turn();
      return;
    }
    // After a pause the schedule starts again from now: idle time earns no burst.
    if (this.waiting === 0 && this.timer === undefined) this.nextAt = Math.max(this.nextAt, this.scheduler.clock.now());
    this.queue.push(turn);
    const waiting = this.waiting;
    if (waiting > 1) {
      const j = this.head + Math.floor(this.random.next() * waiting);
      const last = this.queue.length - 1;
      const swap = this.queue[j]!;
      this.queue[j] = this.queue[last]!;
      this.queue[last] = swap;
    }
    // A timer even for the first turn: the claims of one event-loop turn (a restart restores them
    // all at once) are shuffled together before any leaves.
    if (this.timer === undefined) this.arm(Math.max(0, this.nextAt - this.scheduler.clock.now()));
  }

  /** Drops every turn waiting and the timer. */
  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.queue.length = 0;
    this.head = 0;
  }

  private arm(delayMs: number): void {
    this.timer?.cancel();
    this.timer = this.scheduler.after(delayMs, () => {
      this.timer = undefined;
      this.run();
    });
  }

  private run(): void {
    const now = this.scheduler.clock.now();
    // A late wake-up catches up, but only so far: no burst after a stalled event loop.
    if (this.nextAt < now - MAX_CATCH_UP_MS) this.nextAt = now - MAX_CATCH_UP_MS;
    while (this.head < this.queue.length && this.nextAt <= now && this.windowAllows(now)) {
      const turn = this.queue[this.head]!;
      this.queue[this.head++] = noTurn;
      if (!turn()) continue;
      this.sent++;
      // The time the request really left, not the start of this run: a send of this run stamped with
      // `now` would let the one a second later leave a little under a second after it.
      this.record(this.scheduler.clock.now());
      this.nextAt = Math.max(this.nextAt, now - MAX_CATCH_UP_MS) + this.intervalMs;
    }
    if (this.head >= this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      // A turn may have queued another and armed the timer meanwhile: nothing left, nothing to wait for.
      this.timer?.cancel();
      this.timer = undefined;
      return;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.closed) return;
    const windowFree = this.ring !== undefined && this.ringCount === this.ring.length ? this.ring[this.ringHead]! + 1000 : now;
    // On the pace grid: the turns of one tick leave in one wake-up (PACE_TICK_MS), each still within its own slot's catch-up.
    this.arm(delayToTick(now, Math.max(this.nextAt, windowFree, now) - now, PACE_TICK_MS));
  }

  /** Fewer than `ratePerSecond` turns left in the second before `now`. */
  private windowAllows(now: number): boolean {
    const ring = this.ring;
    if (ring === undefined || this.ringCount < ring.length) return true;
    return ring[this.ringHead]! + 1000 <= now;
  }

  private record(now: number): void {
    const ring = this.ring;
    if (ring === undefined) return;
    if (this.ringCount < ring.length) {
      ring[(this.ringHead + this.ringCount) % ring.length] = now;
      this.ringCount++;
    } else {
      ring[this.ringHead] = now;
      this.ringHead = (this.ringHead + 1) % ring.length;
    }
  }
}

function noTurn(): boolean {
  return false;
}
