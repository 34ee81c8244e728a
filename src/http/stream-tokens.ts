import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../util/clock.js';

/** How long a stream token opens event streams (seconds). */
export const STREAM_TOKEN_TTL_SECONDS = 60;

/** The query parameter that carries a stream token (the name RFC 6750 §2.3 gives a bearer token in a URI). */
export const STREAM_TOKEN_PARAMETER = 'access_token';

export type StreamTokenCheck = 'valid' | 'expired' | 'invalid';

/**
 * Short-lived tokens for Server-Sent Events from a browser. `EventSource`
 * cannot send an Authorization header, so a page that holds the bearer token
 * asks `POST /v1/stream-tokens` for one of these and opens
 * `/v1/queues/<name>/events?access_token=<token>`. A token opens any number
 * of event streams (EventSource reconnects reuse the same URL) until it
 * expires, and nothing else: it is no bearer token.
 *
 * A token is its expiry (on the monotonic clock) and an HMAC-SHA256 of it
 * under a key drawn at start: nothing is kept per token, and a restart
 * invalidates every token (the page asks for a new one).
 */
export class StreamTokens {
  private readonly key: Buffer;
  readonly ttlMs: number;

  constructor(
    private readonly clock: Clock,
    options: { ttlSeconds?: number; key?: Buffer } = {},
  ) {
    this.ttlMs = (options.ttlSeconds ?? STREAM_TOKEN_TTL_SECONDS) * 1000;
    this.key = options.key ?? randomBytes(32);
  }

  /** A new token, valid for `ttlMs` from now. */
  issue(): { token: string; expiresIn: number } {
    const expiresAt = Math.ceil(this.clock.now() + this.ttlMs);
    return { token: `${expiresAt.toString(36)}.${this.mac(expiresAt).toString('base64url')}`, expiresIn: this.ttlMs / 1000 };
  }

  /** Whether `token` was issued here and has not expired yet. */
  check(token: string): StreamTokenCheck {
    const match = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (match === null) return 'invalid';
    const expiresAt = Number.parseInt(match[1]!, 36);
    // Compared as text, not as decoded bytes: the 43rd base64url character carries
    // two padding bits that a decoder ignores, so four spellings would decode to the
    // same MAC and an altered token could still pass.
    const presented = Buffer.from(match[2]!, 'latin1');
    const expected = Buffer.from(this.mac(expiresAt).toString('base64url'), 'latin1');
    // Constant time: a forger learns nothing from how long the comparison took.
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return 'invalid';
    return this.clock.now() < expiresAt ? 'valid' : 'expired';
  }

  private mac(expiresAt: number): Buffer {
    return createHmac('sha256', this.key).update(`presence-b2b stream token ${expiresAt}`).digest();
  }
}
