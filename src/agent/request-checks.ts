import type { SipRequest } from '../sip/codec/message.js';

export const PIDF_CONTENT_TYPE = 'application/pidf+xml';

/** The one event package served (RFC 3856). */
export const PRESENCE_PACKAGE = 'presence';

// The Expires rules are shared with every notifier (src/sip/notifier).
export { type GrantedExpires, grantExpires, requestedExpires } from '../sip/notifier/expires-grant.js';

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
