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

/** Each parsed value sits beside the raw string it was parsed from (no per-entry object). */
export class AccessorCache {
  topViaRaw: string | undefined = undefined;
  topVia: Via | undefined = undefined;
  cseqRaw: string | undefined = undefined;
  cseq: CSeq | undefined = undefined;
  fromRaw: string | undefined = undefined;
  from: TaggedNameAddr | undefined = undefined;
  toRaw: string | undefined = undefined;
  to: TaggedNameAddr | undefined = undefined;
  callIdRaw: string | undefined = undefined;
  callId: string | undefined = undefined;
  eventRaw: string | undefined = undefined;
  event: SipEvent | undefined = undefined;
  subscriptionStateRaw: string | undefined = undefined;
  subscriptionState: SubscriptionState | undefined = undefined;
  contentTypeRaw: string | undefined = undefined;
  contentType: ContentType | undefined = undefined;
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

/**
 * Memoises `via` as the parse of the top Via `raw` of `message`, for a caller that
 * has just written that text from a Via it already holds (e.g. our own Via on a
 * request we send, or received/rport stamped in): topVia() then returns `via`
 * while the first Via line is still `raw`, instead of parsing it again. `via`
 * must be exactly what parseTopVia(raw) returns.
 */
export function rememberTopVia(message: SipMessage, raw: string, via: Via): void {
  const cache = cacheOf(message);
  cache.topViaRaw = raw;
  cache.topVia = via;
}

/**
 * The Via remembered (rememberTopVia, or a parse by topVia) for the top Via `raw` of `message`, without
 * parsing or memoising anything: undefined when none is held for that text.
 */
export function rememberedTopVia(message: SipMessage, raw: string): Via | undefined {
  const cache = (message as SipMessage & WithCache)[ACCESSOR_CACHE];
  return cache !== undefined && cache.topViaRaw === raw ? cache.topVia : undefined;
}
