import { expiresOf } from '../codec/expires.js';
import type { SipRequest } from '../codec/message.js';

/** RFC 3856 §6.4, RFC 3903 §6, RFC 4662 §5: 3600 s when the request has no Expires. */
export const DEFAULT_REQUESTED_EXPIRES = 3600;

/** Expires as requested: a number, undefined when absent, 'invalid' when present but not delta-seconds. */
export function requestedExpires(request: SipRequest): number | undefined | 'invalid' {
  const value = expiresOf(request);
  if (value !== undefined) return value;
  return request.headers.has('expires') ? 'invalid' : undefined;
}

/** What a notifier (or compositor) grants for a requested Expires (RFC 3903 §6 step 4, RFC 6665 §4.2.1.1). */
export type GrantedExpires = { granted: number } | { status: 400 | 423 };

/**
 * No Expires means `defaultExpires` (3600: RFC 3856 §6.4, RFC 3903 §6); a
 * value below `min` (other than 0) is refused with 423; a value above `max`
 * is lowered.
 */
export function grantExpires(request: SipRequest, min: number, max: number, defaultExpires = DEFAULT_REQUESTED_EXPIRES): GrantedExpires {
  const requested = requestedExpires(request);
  if (requested === 'invalid') return { status: 400 };
  const value = requested ?? defaultExpires;
  if (value !== 0 && value < min) return { status: 423 };
  return { granted: Math.min(value, max) };
}
