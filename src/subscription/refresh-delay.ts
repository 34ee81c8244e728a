import type { Random } from '../util/random.js';
import { delayToTick } from '../util/tick-grid.js';

/**
 * When to send the refresh, in seconds after the 2xx (or after the NOTIFY
 * that lowered the expiry). SER refreshed at max(granted − resubscribe_delta,
 * min_resubscribe_time) (docs/ser-presence-b2b.md §2.6): a grant shorter than min_resubscribe_time
 * was refreshed after it had expired, and with min_resubscribe_time 0 a grant
 * under resubscribe_delta was refreshed at once, again and again. Here:
 * - granted − resubscribe_delta when the grant is at least twice
 *   resubscribe_delta;
 * - half the grant otherwise (the grant is too short for resubscribe_delta):
 *   always before the expiry, never a zero-delay loop;
 * moved by a random jitter spanning up to refresh_jitter s so that
 * subscriptions created together do not refresh together (pjsip takes 1..10 s
 * off, docs/behaviour.md §3.2). The jitter is taken earlier, but never below
 * min_resubscribe_time nor below half the grant. When those leave less room
 * than refresh_jitter (a 60 s grant with the defaults leaves none), the rest
 * is taken later, by at most a quarter of the time left before the expiry, so
 * that three quarters of that margin stay for retransmissions: without it,
 * subscriptions established in one burst refreshed in the same burst on every
 * cycle (docs/establishment.md §19).
 */
export function refreshDelaySeconds(
  granted: number,
  settings: { resubscribeDelta: number; minResubscribeTime: number; refreshJitter: number },
  random: Random,
): number {
  const half = granted / 2;
  const base = granted >= 2 * settings.resubscribeDelta ? granted - settings.resubscribeDelta : half;
  const floor = Math.min(base, Math.max(settings.minResubscribeTime, half));
  const roomEarlier = base - floor;
  const roomLater = (granted - base) / 4;
  const span = Math.min(settings.refreshJitter, roomEarlier + roomLater);
  // With room enough earlier this is base − span·r, as before the later room existed.
  const later = Math.max(0, span - roomEarlier);
  return base + later - span * random.next();
}

/**
 * Refreshes fall due on a grid of this many ms of the clock (docs/establishment.md §19.3). Due
 * together, they leave in one wake-up of the timer scheduler, and their answers and NOTIFYs arrive
 * close together, several per turn of the event loop: spread one by one over the jitter, each
 * refresh paid a turn of its own three times over, and W3's refreshes cost about 1.3× the CPU.
 * 100 ms late is nothing against the seconds of margin a refresh has.
 */
export const REFRESH_TICK_MS = 100;

/** `delayMs` from `now`, lengthened (by less than REFRESH_TICK_MS) to end on the refresh grid. */
export function delayToRefreshTick(now: number, delayMs: number): number {
  return delayToTick(now, delayMs, REFRESH_TICK_MS);
}
