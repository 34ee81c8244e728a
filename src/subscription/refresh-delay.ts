import type { Random } from '../util/random.js';

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
 * less a random jitter of up to refresh_jitter s so that subscriptions created
 * together do not refresh together (pjsip takes 1..10 s off, docs/behaviour.md §3.2). The
 * jitter never brings the delay below min_resubscribe_time, nor below half
 * the grant.
 */
export function refreshDelaySeconds(
  granted: number,
  settings: { resubscribeDelta: number; minResubscribeTime: number; refreshJitter: number },
  random: Random,
): number {
  const half = granted / 2;
  const base = granted >= 2 * settings.resubscribeDelta ? granted - settings.resubscribeDelta : half;
  const floor = Math.min(base, Math.max(settings.minResubscribeTime, half));
  const jitter = Math.min(settings.refreshJitter, base - floor) * random.next();
  return base - jitter;
}
