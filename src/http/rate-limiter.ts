import type { Clock } from '../util/clock.js';

/** Requests per second allowed to one client of the HTTP API, with a burst above it. */
export interface RateLimit {
  /** Sustained requests per second; 0 turns the limit off. */
  requestsPerSecond: number;
  /** Requests allowed at once after a quiet period (the bucket's size), ≥ 1. */
  burst: number;
}

/** Clients remembered at most; past it the least recently seen is forgotten (it starts with a full bucket again). */
const MAX_CLIENTS = 10_000;

/**
 * A token bucket per client key (the bearer token presented, else the remote
 * address), on the injected clock. `take()` answers 0 when the request may go
 * on, else the whole seconds after which one more would be allowed (for
 * `Retry-After`, RFC 9110 §10.2.3; RFC 6585 §4 for the 429 it goes with).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limit: RateLimit,
    private readonly clock: Clock,
  ) {}

  get enabled(): boolean {
    return this.limit.requestsPerSecond > 0;
  }

  take(key: string): number {
    if (!this.enabled) return 0;
    const now = this.clock.now();
    const { requestsPerSecond: rate, burst } = this.limit;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: burst, at: now };
      if (this.buckets.size >= MAX_CLIENTS) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
    } else {
      // Map order = least recently seen first: move this one to the end.
      this.buckets.delete(key);
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) * rate) / 1000);
      bucket.at = now;
    }
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / rate));
  }
}
