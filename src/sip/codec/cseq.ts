/** CSeq (RFC 3261 §20.16, §8.1.1.5). */
import { cacheOf } from './cache.js';
import type { SipMessage } from './message.js';
import { SipParseError } from './parse-error.js';
import { isTokenChar, skipWs } from './syntax.js';

export interface CSeq {
  /** 0 … 2**31-1 (RFC 3261 §8.1.1.5). */
  seq: number;
  /** The method token, case as written (methods are case-sensitive, RFC 3261 §7.1). */
  method: string;
}

function cseqError(why: string): SipParseError {
  return new SipParseError('SIP_ERR_PARSE_CSEQ', `Bad CSeq: ${why}`, { header: 'cseq' });
}

/** Parses `1*DIGIT LWS Method`. Throws SipParseError(SIP_ERR_PARSE_CSEQ). */
export function parseCSeq(value: string): CSeq {
  const n = value.length;
  let i = skipWs(value, 0);
  const s = i;
  let seq = 0;
  while (i < n) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) break;
    seq = seq * 10 + d;
    if (seq > 0x7fffffff) throw cseqError('sequence number not below 2**31');
    i++;
  }
  if (i === s) throw cseqError('missing sequence number');
  const afterNumber = i;
  i = skipWs(value, i);
  if (i === afterNumber) throw cseqError('missing method');
  const m = i;
  while (i < n && isTokenChar(value.charCodeAt(i))) i++;
  if (i === m) throw cseqError('missing method');
  const method = value.slice(m, i);
  if (skipWs(value, i) !== n) throw cseqError('trailing characters');
  return { seq, method };
}

/** The CSeq of a message. Throws SipParseError if missing or bad. */
export function cseqOf(message: SipMessage): CSeq {
  const raw = message.headers.getByKey('cseq');
  if (raw === undefined) throw new SipParseError('SIP_ERR_PARSE_MISSING_HEADER', 'Missing CSeq', { header: 'cseq' });
  const cache = cacheOf(message);
  if (cache.cseqRaw === raw && cache.cseq !== undefined) return cache.cseq;
  const value = parseCSeq(raw);
  cache.cseqRaw = raw;
  cache.cseq = value;
  return value;
}

export function formatCSeq(cseq: CSeq): string {
  return `${cseq.seq} ${cseq.method}`;
}
