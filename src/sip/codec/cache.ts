/**
 * A per-message memo of parsed header values, so that the parser's validation
 * and later accessor calls do not parse the same header twice. Each entry
 * remembers the raw string it came from and is used only while the header
 * still holds that exact string (headers are mutable).
 */
import type { ContentType } from './content-type.js';
import type { CSeq } from './cseq.js';
import type { SipEvent } from './event.js';
import type { TaggedNameAddr } from './from-to.js';
import type { SipMessage } from './message.js';
import type { SubscriptionState } from './subscription-state.js';
import type { Via } from './via.js';

export const ACCESSOR_CACHE: unique symbol = Symbol('sip.codec.accessorCache');

export interface CacheEntry<T> {
  raw: string;
  value: T;
}

export class AccessorCache {
  topVia: CacheEntry<Via> | undefined = undefined;
  cseq: CacheEntry<CSeq> | undefined = undefined;
  from: CacheEntry<TaggedNameAddr> | undefined = undefined;
  to: CacheEntry<TaggedNameAddr> | undefined = undefined;
  callId: CacheEntry<string> | undefined = undefined;
  event: CacheEntry<SipEvent> | undefined = undefined;
  subscriptionState: CacheEntry<SubscriptionState> | undefined = undefined;
  contentType: CacheEntry<ContentType> | undefined = undefined;
}

interface WithCache {
  [ACCESSOR_CACHE]?: AccessorCache;
}

export function cacheOf(message: SipMessage): AccessorCache {
  const carrier = message as SipMessage & WithCache;
  let cache = carrier[ACCESSOR_CACHE];
  if (cache === undefined) {
    cache = new AccessorCache();
    carrier[ACCESSOR_CACHE] = cache;
  }
  return cache;
}
