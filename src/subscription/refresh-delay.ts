import type { Random } from '../util/random.js';

/**
 * When to send the refresh, in seconds after the 2xx: SER's
 * max(granted − resubscribe_delta, min_resubscribe_time) (docs/ser-presence-b2b.md §2.6), less a
 * random jitter so that subscriptions created together do not refresh together
 * (pjsip takes 1..10 s off, docs/behaviour.md §3.2). The jitter never brings the delay
 * below min_resubscribe_time, which is a floor between SUBSCRIBEs.
 */
export function refreshDelaySeconds(
  granted: number,
  settings: { resubscribeDelta: number; minResubscribeTime: number; refreshJitter: number },
  random: Random,
): number {
  const base = Math.max(granted - settings.resubscribeDelta, settings.minResubscribeTime);
  const jitter = Math.min(settings.refreshJitter, Math.max(0, base - settings.minResubscribeTime)) * random.next();
  return base - jitter;
}
