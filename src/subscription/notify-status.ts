import { contentTypeOf } from '../sip/codec/content-type.js';
import type { SipRequest } from '../sip/codec/message.js';
import type { SubscriptionState } from '../sip/codec/subscription-state.js';
import type { StatusUpdate } from '../qsa/index.js';
import { statusFromBody } from '../presence/index.js';
import { statusStateForTermination } from './failure-status.js';

/**
 * The status message a NOTIFY becomes: the subscription state from
 * Subscription-State (RFC 6665 §8.2.3; an extension value → pending), its
 * reason and expires, and the body raw and parsed. A body without
 * Content-Type is read as PIDF, as SER did. `retryAfter` is not copied: the
 * engine sets it when it schedules a new subscription (which may be later
 * than the server's retry-after, or never).
 */
export function statusFromNotify(request: SipRequest, subState: SubscriptionState): StatusUpdate {
  const rawState = subState.state;
  let state: StatusUpdate['state'];
  if (rawState === 'active') state = 'active';
  else if (rawState === 'terminated') state = statusStateForTermination(subState.reason);
  else state = 'pending';
  const update: StatusUpdate = { state };
  if (subState.reason !== undefined) update.reason = subState.reason;
  if (subState.expires !== undefined) update.expires = subState.expires;
  if (request.body.length > 0) {
    let mediaType = 'application/pidf+xml';
    try {
      mediaType = contentTypeOf(request)?.mediaType ?? mediaType;
    } catch {
      // An unreadable Content-Type: read the body as PIDF; the parser says whether it is.
    }
    // One exact-size copy: the status (kept as the last one, and queued) must not keep
    // the received packet alive, and QSA keeps an exact-size body as it is.
    const body = new Uint8Array(request.body);
    update.contentType = mediaType;
    update.body = body;
    Object.assign(update, statusFromBody(mediaType, body));
  }
  return update;
}
