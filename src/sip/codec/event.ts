/** Event (RFC 6665 §8.2.1, compact form o). */
import { cacheOf } from './cache.js';
import type { SipMessage } from './message.js';
import { SipParseError } from './parse-error.js';
import { isTokenChar, knownLowerToken, paramsMapFor, parseParams, skipWs, unquote } from './syntax.js';

export interface SipEvent {
  /** event-type (package and templates, e.g. 'presence', 'presence.winfo'), lower-cased. */
  package: string;
  /** The `id` parameter (compared case-sensitively, RFC 6665 §8.2.1). */
  id?: string;
  params: Map<string, string | null>;
}

/** Event packages common enough to share one string for (RFC 3856, 4235, 3680, 3842, 3857, 3515). */
const KNOWN_PACKAGES = ['presence', 'dialog', 'reg', 'message-summary', 'presence.winfo', 'refer'];

/** Parses an Event value. Throws SipParseError(SIP_ERR_PARSE_EVENT). */
export function parseEvent(value: string): SipEvent {
  let i = skipWs(value, 0);
  const s = i;
  while (i < value.length && isTokenChar(value.charCodeAt(i))) i++;
  if (i === s) throw new SipParseError('SIP_ERR_PARSE_EVENT', 'Bad Event: missing event type', { header: 'event' });
  const pkg = knownLowerToken(value, s, i, KNOWN_PACKAGES);
  const params = paramsMapFor(value, i);
  i = parseParams(value, i, params, 'SIP_ERR_PARSE_EVENT', 'Event');
  if (i < value.length) throw new SipParseError('SIP_ERR_PARSE_EVENT', 'Bad Event: unexpected character', { header: 'event' });
  const id = params.get('id');
  return { package: pkg, id: id ? unquote(id) : undefined, params };
}

/** The Event header, or undefined when absent. Throws SipParseError when malformed. */
export function eventOf(message: SipMessage): SipEvent | undefined {
  const raw = message.headers.getByKey('event');
  if (raw === undefined) return undefined;
  const cache = cacheOf(message);
  if (cache.eventRaw === raw && cache.event !== undefined) return cache.event;
  const value = parseEvent(raw);
  cache.eventRaw = raw;
  cache.event = value;
  return value;
}
