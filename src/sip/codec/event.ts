/** Event (RFC 6665 §8.2.1, compact form o). */
import { cacheOf } from './cache.js';
import type { SipMessage } from './message.js';
import { SipParseError } from './parse-error.js';
import { isTokenChar, parseParams, skipWs, unquote } from './syntax.js';

export interface SipEvent {
  /** event-type (package and templates, e.g. 'presence', 'presence.winfo'), lower-cased. */
  package: string;
  /** The `id` parameter (compared case-sensitively, RFC 6665 §8.2.1). */
  id?: string;
  params: Map<string, string | null>;
}

/** Parses an Event value. Throws SipParseError(SIP_ERR_PARSE_EVENT). */
export function parseEvent(value: string): SipEvent {
  let i = skipWs(value, 0);
  const s = i;
  while (i < value.length && isTokenChar(value.charCodeAt(i))) i++;
  if (i === s) throw new SipParseError('SIP_ERR_PARSE_EVENT', 'Bad Event: missing event type', { header: 'event' });
  const pkg = value.slice(s, i).toLowerCase();
  const params = new Map<string, string | null>();
  i = parseParams(value, i, params, 'SIP_ERR_PARSE_EVENT', 'Event');
  if (i < value.length) throw new SipParseError('SIP_ERR_PARSE_EVENT', 'Bad Event: unexpected character', { header: 'event' });
  const event: SipEvent = { package: pkg, params };
  const id = params.get('id');
  if (id) event.id = unquote(id);
  return event;
}

/** The Event header, or undefined when absent. Throws SipParseError when malformed. */
export function eventOf(message: SipMessage): SipEvent | undefined {
  const raw = message.headers.get('event');
  if (raw === undefined) return undefined;
  const cache = cacheOf(message);
  const entry = cache.event;
  if (entry !== undefined && entry.raw === raw) return entry.value;
  const value = parseEvent(raw);
  cache.event = { raw, value };
  return value;
}
