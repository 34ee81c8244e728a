/** Subscription-State (RFC 6665 §8.2.3, §4.1.3). */
import { cacheOf } from './cache.js';
import type { SipMessage } from './message.js';
import { SipParseError } from './parse-error.js';
import { isTokenChar, parseDeltaSeconds, parseParams, skipWs, unquote } from './syntax.js';

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

/** Parses a Subscription-State value. Throws SipParseError(SIP_ERR_PARSE_SUBSCRIPTION_STATE). */
export function parseSubscriptionState(value: string): SubscriptionState {
  let i = skipWs(value, 0);
  const s = i;
  while (i < value.length && isTokenChar(value.charCodeAt(i))) i++;
  if (i === s) throw bad('missing state');
  const state = value.slice(s, i).toLowerCase();
  const params = new Map<string, string | null>();
  i = parseParams(value, i, params, 'SIP_ERR_PARSE_SUBSCRIPTION_STATE', 'Subscription-State');
  if (i < value.length) throw bad('unexpected character');
  const result: SubscriptionState = { state, params };
  const reason = params.get('reason');
  if (reason) result.reason = unquote(reason).toLowerCase();
  const expires = params.get('expires');
  if (expires) {
    const v = parseDeltaSeconds(expires);
    if (v !== undefined) result.expires = v;
  }
  const retryAfter = params.get('retry-after');
  if (retryAfter) {
    const v = parseDeltaSeconds(retryAfter);
    if (v !== undefined) result.retryAfter = v;
  }
  return result;
}

/** The Subscription-State header, or undefined when absent. Throws SipParseError when malformed. */
export function subscriptionStateOf(message: SipMessage): SubscriptionState | undefined {
  const raw = message.headers.get('subscription-state');
  if (raw === undefined) return undefined;
  const cache = cacheOf(message);
  const entry = cache.subscriptionState;
  if (entry !== undefined && entry.raw === raw) return entry.value;
  const value = parseSubscriptionState(raw);
  cache.subscriptionState = { raw, value };
  return value;
}
