import type { SubscriptionState } from '../sip/codec/subscription-state.js';
import type { StatusUpdate } from '../qsa/index.js';
import { statusStateForTermination } from './failure-status.js';

/**
 * The subscription part of the status a NOTIFY becomes: the state from
 * Subscription-State (RFC 6665 §8.2.3; an extension value → pending), its
 * reason and expires. `retryAfter` is not copied: the engine sets it when it
 * schedules a new subscription (which may be later than the server's
 * retry-after, or never). The body part is the event package's (NotifyReader:
 * for presence the raw body and its PIDF, a body without Content-Type read as
 * PIDF as SER did).
 */
export function statusFromSubscriptionState(subState: SubscriptionState): StatusUpdate {
  const rawState = subState.state;
  let state: StatusUpdate['state'];
  if (rawState === 'active') state = 'active';
  else if (rawState === 'terminated') state = statusStateForTermination(subState.reason);
  else state = 'pending';
  const update: StatusUpdate = { state };
  if (subState.reason !== undefined) update.reason = subState.reason;
  if (subState.expires !== undefined) update.expires = subState.expires;
  return update;
}
