/** Expires, Min-Expires, Retry-After (RFC 3261 §20.19, §20.23, §20.33). */
import type { SipMessage } from './message.js';
import { SipParseError } from './parse-error.js';
import { parseDeltaSeconds, parseParams, readDigits, skipWs, trimWs } from './syntax.js';

/** Expires as delta-seconds; absent or not a delta-seconds value → undefined (never NaN). */
export function expiresOf(message: SipMessage): number | undefined {
  const raw = message.headers.get('expires');
  return raw === undefined ? undefined : parseDeltaSeconds(trimWs(raw));
}

/** Min-Expires as delta-seconds (RFC 3261 §20.23); invalid → undefined. */
export function minExpiresOf(message: SipMessage): number | undefined {
  const raw = message.headers.get('min-expires');
  return raw === undefined ? undefined : parseDeltaSeconds(trimWs(raw));
}

export interface RetryAfter {
  seconds: number;
  /** The `duration` parameter (RFC 3261 §20.33). */
  duration?: number;
  /** The comment, without its parentheses. */
  comment?: string;
  params: Map<string, string | null>;
}

/** Parses `delta-seconds [ comment ] *( SEMI retry-param )`. Throws SipParseError(SIP_ERR_PARSE_HEADER). */
export function parseRetryAfter(value: string): RetryAfter {
  const bad = (why: string) => new SipParseError('SIP_ERR_PARSE_HEADER', `Bad Retry-After: ${why}`, { header: 'retry-after' });
  let i = skipWs(value, 0);
  const digits = readDigits(value, i);
  if (digits === undefined) throw bad('not delta-seconds');
  const seconds = Math.min(digits[0], 0xffffffff);
  i = skipWs(value, digits[1]);
  let comment: string | undefined;
  if (value.charCodeAt(i) === 0x28 /* ( */) {
    // comment = LPAREN *(ctext / quoted-pair / comment) RPAREN: nesting allowed.
    let depth = 0;
    const start = i;
    for (; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c === 0x5c) i++;
      else if (c === 0x28) depth++;
      else if (c === 0x29 && --depth === 0) break;
    }
    if (depth !== 0) throw bad('unterminated comment');
    comment = value.slice(start + 1, i).trim();
    i++;
  }
  const params = new Map<string, string | null>();
  i = parseParams(value, i, params, 'SIP_ERR_PARSE_HEADER', 'Retry-After');
  if (i < value.length) throw bad('unexpected character');
  const result: RetryAfter = { seconds, params };
  if (comment !== undefined) result.comment = comment;
  const duration = params.get('duration');
  if (duration) {
    const d = parseDeltaSeconds(duration);
    if (d !== undefined) result.duration = d;
  }
  return result;
}

/** Retry-After, or undefined when absent or malformed. */
export function retryAfterOf(message: SipMessage): RetryAfter | undefined {
  const raw = message.headers.get('retry-after');
  if (raw === undefined) return undefined;
  try {
    return parseRetryAfter(raw);
  } catch (error) {
    if (error instanceof SipParseError) return undefined;
    throw error;
  }
}
