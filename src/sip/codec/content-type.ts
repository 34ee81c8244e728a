/** Content-Type (RFC 3261 §20.15, compact form c; media-type of RFC 2045). */
import { cacheOf } from './cache.js';
import type { SipMessage } from './message.js';
import { SipParseError } from './parse-error.js';
import { isTokenChar, knownLowerToken, paramsMapFor, parseParams, skipWs } from './syntax.js';

export interface ContentType {
  /** Lower-cased type, e.g. 'application'. */
  type: string;
  /** Lower-cased subtype, e.g. 'pidf+xml'. */
  subtype: string;
  /** 'type/subtype', lower-cased. */
  mediaType: string;
  /** Parameters; names lower-cased, values unquoted (e.g. boundary, charset). */
  params: Map<string, string | null>;
}

function bad(why: string): SipParseError {
  return new SipParseError('SIP_ERR_PARSE_CONTENT_TYPE', `Bad Content-Type: ${why}`, { header: 'content-type' });
}

// The media types of the event packages and resource lists (RFC 3863, 4662, 4235, 3680, 3842, 3858):
// their parts and 'type/subtype' are shared strings, not three new ones per message.
const KNOWN_TYPES = ['application', 'multipart', 'text'];
const KNOWN_SUBTYPES = [
  'pidf+xml',
  'rlmi+xml',
  'related',
  'dialog-info+xml',
  'reginfo+xml',
  'watcherinfo+xml',
  'simple-message-summary',
  'cpim-pidf+xml',
  'xpidf+xml',
  'plain',
  'sdp',
];
const KNOWN_MEDIA_TYPES = new Map<string, Map<string, string>>();
for (const type of KNOWN_TYPES) {
  const bySubtype = new Map<string, string>();
  for (const subtype of KNOWN_SUBTYPES) bySubtype.set(subtype, `${type}/${subtype}`);
  KNOWN_MEDIA_TYPES.set(type, bySubtype);
}

/** Parses `type SLASH subtype *( SEMI parameter )`. Throws SipParseError(SIP_ERR_PARSE_CONTENT_TYPE). */
export function parseContentType(value: string): ContentType {
  const n = value.length;
  let i = skipWs(value, 0);
  let s = i;
  while (i < n && isTokenChar(value.charCodeAt(i))) i++;
  if (i === s) throw bad('missing type');
  const type = knownLowerToken(value, s, i, KNOWN_TYPES);
  i = skipWs(value, i);
  if (value.charCodeAt(i) !== 0x2f) throw bad('missing /');
  i = skipWs(value, i + 1);
  s = i;
  while (i < n && isTokenChar(value.charCodeAt(i))) i++;
  if (i === s) throw bad('missing subtype');
  const subtype = knownLowerToken(value, s, i, KNOWN_SUBTYPES);
  const params = paramsMapFor(value, i);
  i = parseParams(value, i, params, 'SIP_ERR_PARSE_CONTENT_TYPE', 'Content-Type', true);
  if (i < n) throw bad('unexpected character');
  return { type, subtype, mediaType: KNOWN_MEDIA_TYPES.get(type)?.get(subtype) ?? `${type}/${subtype}`, params };
}

/** The Content-Type, or undefined when absent. Throws SipParseError when malformed. */
export function contentTypeOf(message: SipMessage): ContentType | undefined {
  const raw = message.headers.getByKey('content-type');
  if (raw === undefined) return undefined;
  const cache = cacheOf(message);
  if (cache.contentTypeRaw === raw && cache.contentType !== undefined) return cache.contentType;
  const value = parseContentType(raw);
  cache.contentTypeRaw = raw;
  cache.contentType = value;
  return value;
}

/** The declared Content-Length, or undefined when absent or not a number (serializing recomputes it anyway). */
export function contentLengthOf(message: SipMessage): number | undefined {
  const raw = message.headers.get('content-length');
  if (raw === undefined) return undefined;
  const v = raw.trim();
  if (v.length === 0 || v.length > 10) return undefined;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  return Number(v);
}
