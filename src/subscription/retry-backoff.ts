import type { Random } from '../util/random.js';

/** ±20 %: subscriptions that failed together do not come back together. */
export const BACKOFF_JITTER = 0.2;

export interface BackoffSettings {
  /** The first retry's delay, seconds (seed: on_error_retry_time). */
  onErrorRetryTime: number;
  /** No computed delay and no server Retry-After is longer than this, seconds. */
  maxErrorRetryTime: number;
}

/**
 * The wait before retrying after the n-th consecutive failure (n ≥ 1), in ms:
 * on_error_retry_time × 2^(n−1), capped by max_error_retry_time, then ±20 %
 * jitter. SER waited on_error_retry_time after every failure, forever
 * (docs/ser-presence-b2b.md §2.3): a server that is down for long was polled at a fixed rate by
 * every subscription at once; doubling spreads and thins the attempts.
 */
export function backoffDelayMs(failures: number, settings: BackoffSettings, random: Random): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 40);
  const base = Math.min(settings.onErrorRetryTime * 2 ** exponent, settings.maxErrorRetryTime);
  return base * 1000 * (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * random.next());
}

/**
 * A delay the server asked for (Retry-After on the response, RFC 3261
 * §20.33, or retry-after on Subscription-State, RFC 6665 §4.1.3), in ms:
 * honoured as given, but never beyond max_error_retry_time.
 */
export function serverRetryDelayMs(retryAfterSeconds: number, settings: BackoffSettings): number {
  return Math.min(retryAfterSeconds, settings.maxErrorRetryTime) * 1000;
}
