/**
 * A per-message memo of parsed header values, so that the parser's validation
 * and later accessor calls do not parse the same header twice. Each entry
 * remembers the raw string it came from and is used only while the header
 * still holds that exact string (headers are mutable).
 */
import type { SipMessage } from './message.js';

export const ACCESSOR_CACHE: unique symbol = Symbol('sip.codec.accessorCache');

export interface CacheEntry<T> {
  raw: string;
  value: T;
}

export class AccessorCache {
  topVia: CacheEntry<unknown> | undefined = undefined;
  cseq: CacheEntry<unknown> | undefined = undefined;
  from: CacheEntry<unknown> | undefined = undefined;
  to: CacheEntry<unknown> | undefined = undefined;
  callId: CacheEntry<string> | undefined = undefined;
  event: CacheEntry<unknown> | undefined = undefined;
  subscriptionState: CacheEntry<unknown> | undefined = undefined;
  contentType: CacheEntry<unknown> | undefined = undefined;
}

export type CacheSlot = Exclude<keyof AccessorCache, 'callId'>;

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
 * The parsed form of `raw` for `slot`, computed by `parse` once per raw
 * string. The caller knows the slot's type (each slot is owned by one
 * accessor file), hence the generic.
 */
export function cached<T>(message: SipMessage, slot: CacheSlot, raw: string, parse: (raw: string) => T): T {
  const cache = cacheOf(message);
  const entry = cache[slot];
  if (entry !== undefined && entry.raw === raw) return entry.value as T;
  const value = parse(raw);
  cache[slot] = { raw, value };
  return value;
}
