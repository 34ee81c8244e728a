import type { SipRequest } from '../sip/codec/message.js';
import { expiresOf } from '../sip/codec/expires.js';
import { DEFAULT_REQUESTED_EXPIRES } from './agent-options.js';

export const PIDF_CONTENT_TYPE = 'application/pidf+xml';

/** The one event package served (RFC 3856). */
export const PRESENCE_PACKAGE = 'presence';

/** Expires as requested: a number, undefined when absent, 'invalid' when present but not delta-seconds. */
export function requestedExpires(request: SipRequest): number | undefined | 'invalid' {
  const value = expiresOf(request);
  if (value !== undefined) return value;
  return request.headers.has('expires') ? 'invalid' : undefined;
}

/** What the agent grants for a requested Expires (RFC 3903 §6 step 4, RFC 6665 §4.2.1.1). */
export type GrantedExpires = { granted: number } | { status: 400 | 423 };

/**
 * No Expires means 3600 (RFC 3856 §6.4, RFC 3903 §6); a value below
 * `min` (other than 0) is refused with 423; a value above `max` is lowered.
 */
export function grantExpires(request: SipRequest, min: number, max: number): GrantedExpires {
  const requested = requestedExpires(request);
  if (requested === 'invalid') return { status: 400 };
  const value = requested ?? DEFAULT_REQUESTED_EXPIRES;
  if (value !== 0 && value < min) return { status: 423 };
  return { granted: Math.min(value, max) };
}

/** RFC 3856 §6.7: the watcher must accept PIDF; no Accept header means it does. */
export function acceptsPidf(request: SipRequest): boolean {
  const accepted = request.headers.values('accept');
  if (accepted.length === 0) return true;
  for (const item of accepted) {
    const semicolon = item.indexOf(';');
    const media = (semicolon < 0 ? item : item.slice(0, semicolon)).trim().toLowerCase();
    if (media === PIDF_CONTENT_TYPE || media === 'application/*' || media === '*/*') return true;
  }
  return false;
}
