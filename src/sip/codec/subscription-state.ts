/** Subscription-State (RFC 6665 §8.2.3, §4.1.3). */
import { cacheOf } from './cache.js';
import type { SipMessage } from './message.js';
import { SipParseError } from './parse-error.js';
import { isTokenChar, knownLowerToken, lowerAscii, parseDeltaSeconds, paramsMapFor, parseParams, skipWs, unquote } from './syntax.js';

export interface SubscriptionState {
  /** Lower-cased: 'active', 'pending', 'terminated' or an extension value. */
  state: string;
  /** Lower-cased reason (deactivated, probation, rejected, timeout, giveup, noresource, invariant, …). */
  reason?: string;
  expires?: number;
  retryAfter?: number;
  params: Map<string, string | null>;
}

function bad(why: string): SipParseError {
  return new SipParseError('SIP_ERR_PARSE_SUBSCRIPTION_STATE', `Bad Subscription-State: ${why}`, {
    header: 'subscription-state',
  });
}

/** The substates of RFC 6665 §4.1.3: one shared string each. */
const KNOWN_STATES = ['active', 'pending', 'terminated'];

/** Parses a Subscription-State value. Throws SipParseError(SIP_ERR_PARSE_SUBSCRIPTION_STATE). */
export function parseSubscriptionState(value: string): SubscriptionState {
  let i = skipWs(value, 0);
  const s = i;
  while (i < value.length && isTokenChar(value.charCodeAt(i))) i++;
  if (i === s) throw bad('missing state');
  const state = knownLowerToken(value, s, i, KNOWN_STATES);
  const params = paramsMapFor(value, i);
  i = parseParams(value, i, params, 'SIP_ERR_PARSE_SUBSCRIPTION_STATE', 'Subscription-State');
  if (i < value.length) throw bad('unexpected character');
  const reason = params.get('reason');
  const expires = params.get('expires');
  const retryAfter = params.get('retry-after');
  // All properties at once (absent ones undefined): one object shape.
  return {
    state,
    reason: reason ? lowerAscii(unquote(reason)) : undefined,
    expires: expires ? parseDeltaSeconds(expires) : undefined,
    retryAfter: retryAfter ? parseDeltaSeconds(retryAfter) : undefined,
    params,
  };
}

/** The Subscription-State header, or undefined when absent. Throws SipParseError when malformed. */
export function subscriptionStateOf(message: SipMessage): SubscriptionState | undefined {
  const raw = message.headers.getByKey('subscription-state');
  if (raw === undefined) return undefined;
  const cache = cacheOf(message);
  if (cache.subscriptionStateRaw === raw && cache.subscriptionState !== undefined) return cache.subscriptionState;
  const value = parseSubscriptionState(raw);
  cache.subscriptionStateRaw = raw;
  cache.subscriptionState = value;
  return value;
}
