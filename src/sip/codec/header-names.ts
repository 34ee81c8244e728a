import { internalize } from '../../util/copy-string.js';

/**
 * RFC 3261 §7.3.3 compact forms (and those of later RFCs: Event o, Allow-Events u,
 * Refer-To r, Session-Expires x, Identity y, Referred-By b, Reject-Contact j,
 * Request-Disposition d, Accept-Contact a), mapped to the lower-case long name
 * that SipHeaders uses as its lookup key. Header names are case-insensitive
 * (RFC 3261 §7.3.1).
 */
const COMPACT: Record<string, string> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  f: 'from',
  t: 'to',
  v: 'via',
  k: 'supported',
  s: 'subject',
  c: 'content-type',
  o: 'event',
  u: 'allow-events',
  r: 'refer-to',
  x: 'session-expires',
  y: 'identity',
  b: 'referred-by',
  j: 'reject-contact',
  d: 'request-disposition',
  a: 'accept-contact',
};

const cache = new Map<string, string>();


/**
 * The lookup key of a header name: lower case, compact forms expanded; one
 * shared, internalized string per key, so that comparing keys (`field.key === key`)
 * is usually a pointer comparison.
 */
export function headerKey(name: string): string {
  let key = cache.get(name);
  if (key === undefined) {
    const lower = name.toLowerCase();
    key = internalize(lower.length === 1 ? (COMPACT[lower] ?? lower) : lower);
    if (cache.size < 4096) cache.set(name, key);
  }
  return key;
}

/**
 * Headers whose value may be a comma-separated list (RFC 3261 §7.3.1: those
 * whose grammar is `#element`). Others (WWW-Authenticate, Date, Subject, …)
 * may contain commas that do not separate values.
 */
export const LIST_HEADERS: ReadonlySet<string> = new Set([
  'via',
  'route',
  'record-route',
  'contact',
  'allow',
  'supported',
  'require',
  'proxy-require',
  'unsupported',
  'accept',
  'accept-encoding',
  'accept-language',
  'allow-events',
  'content-encoding',
  'content-language',
  'in-reply-to',
  'alert-info',
  'call-info',
  'error-info',
  'warning',
  'path',
  'service-route',
]);

/** Canonical spelling used when we serialize a header we created by key. */
export const CANONICAL_NAMES: Record<string, string> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'sip-etag': 'SIP-ETag',
  'sip-if-match': 'SIP-If-Match',
  'mime-version': 'MIME-Version',
};
