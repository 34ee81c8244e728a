/**
 * parseSipMessage: bytes → SipRequest | SipResponse (RFC 3261 §7).
 *
 * One pass: find the end of the header block on bytes, decode the header block
 * once, walk its lines (unfolding continuation lines, RFC 3261 §7.3.1), then
 * validate what a server needs before it can answer or route (start line, top
 * Via, CSeq, From, To, Call-ID, Content-Length — RFC 3261 §8.1.1, §8.2.2,
 * §18.3). Everything else is parsed lazily by the accessors (via.ts, …), which
 * reuse what validation already parsed.
 */
import { Buffer } from 'node:buffer';
import { ACCESSOR_CACHE, AccessorCache } from './cache.js';
import { parseCSeq } from './cseq.js';
import { parseFrom, parseTo } from './from-to.js';
import { headerKey } from './header-names.js';
import {
  HEADER_ID_CALL_ID,
  HEADER_ID_CONTENT_LENGTH,
  HEADER_ID_CSEQ,
  HEADER_ID_FROM,
  HEADER_ID_OTHER,
  HEADER_ID_TO,
  HEADER_ID_VIA,
  headerIdOf,
  knownHeader,
} from './known-headers.js';
import { SipHeaders } from './headers.js';
import type { SipMessage, SipRequest, SipResponse } from './message.js';
import { SipParseError } from './parse-error.js';
import { isTokenChar } from './syntax.js';
import { schemeLength } from './uri.js';
import { parseTopVia } from './via.js';

export interface ParseLimits {
  /** Largest message accepted, in octets (the input length for a datagram). */
  maxMessageBytes: number;
  /** Most header lines accepted (continuation lines do not count). */
  maxHeaders: number;
  /** Longest line, and longest unfolded header value, in characters. */
  maxLineLength: number;
}

export const DEFAULT_PARSE_LIMITS: Readonly<ParseLimits> = Object.freeze({
  maxMessageBytes: 65535,
  maxHeaders: 128,
  maxLineLength: 16384,
});

export interface ParseOptions {
  limits?: Partial<ParseLimits>;
  /**
   * 'datagram' (default, UDP): the body is the rest of the input, cut at
   * Content-Length; trailing octets are ignored; no Content-Length means "to
   * the end". 'stream' (TCP/TLS): Content-Length is mandatory (RFC 3261 §18.3).
   */
  framing?: 'datagram' | 'stream';
}

export function resolveLimits(limits: Partial<ParseLimits> | undefined): ParseLimits {
  if (limits === undefined) return DEFAULT_PARSE_LIMITS;
  return {
    maxMessageBytes: limits.maxMessageBytes ?? DEFAULT_PARSE_LIMITS.maxMessageBytes,
    maxHeaders: limits.maxHeaders ?? DEFAULT_PARSE_LIMITS.maxHeaders,
    maxLineLength: limits.maxLineLength ?? DEFAULT_PARSE_LIMITS.maxLineLength,
  };
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const LFLF = Buffer.from('\n\n', 'latin1');

function toBuffer(data: Uint8Array | string): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Buffer.isBuffer(data)) return data;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Where the header block ends: `blockEnd` is just after the LF of the last
 * header line, `bodyStart` just after the empty line. Accepts CRLF (RFC 3261
 * §7) and, leniently, bare LF line ends. Returns undefined if there is no
 * empty line yet.
 */
export function findHeaderEnd(buf: Buffer, start: number): { blockEnd: number; bodyStart: number } | undefined {
  const bodyStart = findBodyStart(buf, start);
  return bodyStart < 0 ? undefined : { blockEnd: blockEndOf(buf, bodyStart), bodyStart };
}

/** Like findHeaderEnd, allocation-free: the body start, or -1. */
export function findBodyStart(buf: Buffer, start: number): number {
  // The first line end tells CRLF messages (the norm) from bare-LF ones.
  const firstLf = buf.indexOf(0x0a, start);
  if (firstLf < 0) return -1;
  if (firstLf > start && buf[firstLf - 1] === 0x0d) {
    const crlf = buf.indexOf(CRLFCRLF, firstLf - 1);
    return crlf < 0 ? -1 : crlf + 4;
  }
  const lf = buf.indexOf(LFLF, firstLf);
  return lf < 0 ? -1 : lf + 2;
}

/** The end of the header block (just after the last header line's LF) given the body start. */
export function blockEndOf(buf: Uint8Array, bodyStart: number): number {
  // "…\r\n\r\n" → bodyStart - 2; "…\n\n" → bodyStart - 1
  return buf[bodyStart - 2] === 0x0d ? bodyStart - 2 : bodyStart - 1;
}

/** Index of the first octet that is not CR or LF (RFC 3261 §7.5: ignore CRLFs before a start line). */
export function skipLeadingCrlf(buf: Uint8Array, start: number, end: number): number {
  while (start < end && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  return start;
}

type SliceDecoder = (this: Buffer, start: number, end: number) => string;
const fastUtf8Slice = (Buffer.prototype as unknown as { utf8Slice?: SliceDecoder }).utf8Slice;

/**
 * The header block as text. Header values may carry UTF-8 (display names,
 * reason phrases, RFC 3261 §25.1 TEXT-UTF8); Node's internal utf8Slice skips
 * the argument checks of toString() on this hot path when it exists.
 */
function decodeHeaderBlock(buf: Buffer, start: number, end: number): string {
  return fastUtf8Slice !== undefined ? fastUtf8Slice.call(buf, start, end) : buf.toString('utf8', start, end);
}

function limitError(what: string): SipParseError {
  return new SipParseError('SIP_ERR_PARSE_LIMIT', `Message too large: ${what}`);
}

function startLineError(why: string): SipParseError {
  return new SipParseError('SIP_ERR_PARSE_START_LINE', `Bad start line: ${why}`);
}

function isSipVersion(text: string): boolean {
  return text === 'SIP/2.0' || text.toUpperCase() === 'SIP/2.0';
}

/** Characters that cannot appear in a Request-URI (RFC 3261 §25.1; RFC 4475 §3.1.2.7). */
function checkRequestUri(text: string, start: number, end: number): void {
  if (end === start) throw startLineError('empty Request-URI');
  // Read in the header block's own text, a flat string: the URI sliced out of it is a view whose
  // every charCodeAt goes through its parent (issue 11).
  const colon = schemeLength(text, start, end);
  if (colon < 0) throw startLineError('Request-URI without scheme');
  for (let i = colon + 1; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c === 0x3c || c === 0x3e || c === 0x22 || c === 0x7f) throw startLineError('bad character in Request-URI');
  }
}

/**
 * Where parseSipMessage collects name, key and value of each header line before copying
 * them into the message's own exact-size array (a parse is synchronous: one is enough).
 * Emptied after each message; its length stays, so that it is not reallocated.
 */
const PARSED_FIELDS: string[] = [];
/**
 * How many entries of PARSED_FIELDS may hold a string since they were last emptied: a message
 * that fails to parse leaves its strings there until the next one that parses empties them.
 */
let parsedFieldsUsed = 0;

/** The methods presence-b2b sends and receives (RFC 3261 §7.1, RFC 6665, RFC 3903, RFC 3428, RFC 3515, RFC 3311). */
const KNOWN_METHODS = ['NOTIFY', 'SUBSCRIBE', 'OPTIONS', 'ACK', 'BYE', 'CANCEL', 'INVITE', 'PUBLISH', 'MESSAGE', 'REGISTER', 'INFO', 'UPDATE', 'REFER', 'PRACK'];

/** The shared constant for the method written in `text` before `end` (case-sensitive, §7.1), or undefined. */
function knownMethod(text: string, end: number): string | undefined {
  for (let m = 0; m < KNOWN_METHODS.length; m++) {
    const known = KNOWN_METHODS[m]!;
    if (known.length === end && text.startsWith(known)) return known;
  }
  return undefined;
}

function isWsCode(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Parses a whole SIP message. Throws SipParseError (see parse-error.ts for codes). */
export function parseSipMessage(data: Uint8Array | string, options?: ParseOptions): SipMessage {
  const limits = resolveLimits(options?.limits);
  const stream = options?.framing === 'stream';
  const buf = toBuffer(data);
  if (buf.length > limits.maxMessageBytes) throw limitError(`${buf.length} octets`);
  const start = skipLeadingCrlf(buf, 0, buf.length);
  if (start >= buf.length) throw startLineError('empty message');
  const bodyStart = findBodyStart(buf, start);
  if (bodyStart < 0) {
    throw new SipParseError('SIP_ERR_PARSE_HEADER', 'Bad header: no empty line after the headers');
  }
  const blockEnd = blockEndOf(buf, bodyStart);
  const text = decodeHeaderBlock(buf, start, blockEnd);
  const maxLine = limits.maxLineLength;
  const n = text.length;

  // ---- start line (RFC 3261 §7.1, §7.2) --------------------------------
  // Read in place in `text` up to `le`: no string for the line itself, and a
  // common method is its shared constant (issue 11: two strings less per message).
  let nl = text.indexOf('\n');
  let le = nl > 0 && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
  if (le > maxLine) throw limitError('start line');
  let sp1 = text.indexOf(' ');
  if (sp1 >= le) sp1 = -1;
  if (sp1 <= 0) throw startLineError('no space');
  let method = '';
  let uri = '';
  let status = 0;
  let reason = '';
  let isResponse = false;
  if (text.startsWith('SIP/')) {
    isResponse = true;
    if (!(sp1 === 7 && (text.startsWith('SIP/2.0') || isSipVersion(text.slice(0, sp1))))) {
      throw startLineError('unsupported SIP version');
    }
    const codeEnd = sp1 + 4;
    if (le < codeEnd || (le > codeEnd && text.charCodeAt(codeEnd) !== 0x20)) {
      throw startLineError('status code is not 3 digits');
    }
    for (let i = sp1 + 1; i < codeEnd; i++) {
      const d = text.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) throw startLineError('status code is not 3 digits');
      status = status * 10 + d;
    }
    if (status < 100 || status > 699) throw startLineError('status code out of range');
    reason = le > codeEnd ? text.slice(codeEnd + 1, le) : '';
    for (let i = 0; i < reason.length; i++) {
      const c = reason.charCodeAt(i);
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) throw startLineError('control character in reason phrase');
    }
  } else {
    const sp2 = text.indexOf(' ', sp1 + 1);
    if (sp2 < 0 || sp2 >= le) throw startLineError('expected Method SP Request-URI SP SIP-Version');
    const sp3 = text.indexOf(' ', sp2 + 1);
    if (sp3 >= 0 && sp3 < le) throw startLineError('extra space');
    method = knownMethod(text, sp1) ?? text.slice(0, sp1);
    for (let i = 0; i < sp1; i++) if (!isTokenChar(method.charCodeAt(i))) throw startLineError('bad method');
    checkRequestUri(text, sp1 + 1, sp2);
    uri = text.slice(sp1 + 1, sp2);
    if (!(le === sp2 + 8 && (text.startsWith('SIP/2.0', sp2 + 1) || isSipVersion(text.slice(sp2 + 1, le))))) {
      throw startLineError('unsupported SIP version');
    }
  }

  // ---- header lines ----------------------------------------------------
  // The fields go to a scratch array first, then into one exact-size array (SipHeaders.fromParsed).
  const fields = PARSED_FIELDS;
  let count = 0;
  let name: string | undefined;
  let key = '';
  let id = HEADER_ID_OTHER;
  let value = '';
  let via: string | undefined;
  let cseq: string | undefined;
  let cseqCount = 0;
  let from: string | undefined;
  let fromCount = 0;
  let to: string | undefined;
  let toCount = 0;
  let callId: string | undefined;
  let callIdCount = 0;
  let contentLength: string | undefined;
  let contentLengthCount = 0;

  let pos = nl + 1;
  for (;;) {
    // Commit the pending header when the next line is not a continuation (or at the end).
    const c0 = pos < n ? text.charCodeAt(pos) : 0;
    if (name !== undefined && c0 !== 0x20 && c0 !== 0x09) {
      if (++count > limits.maxHeaders) throw limitError(`more than ${limits.maxHeaders} headers`);
      const at = count * 3 - 3;
      if (at + 3 > parsedFieldsUsed) parsedFieldsUsed = at + 3;
      fields[at] = name;
      fields[at + 1] = key;
      fields[at + 2] = value;
      switch (id) {
        case HEADER_ID_OTHER:
          break;
        case HEADER_ID_VIA:
          if (via === undefined) via = value;
          break;
        case HEADER_ID_CSEQ:
          cseq = value;
          cseqCount++;
          break;
        case HEADER_ID_FROM:
          from = value;
          fromCount++;
          break;
        case HEADER_ID_TO:
          to = value;
          toCount++;
          break;
        case HEADER_ID_CALL_ID:
          callId = value;
          callIdCount++;
          break;
        case HEADER_ID_CONTENT_LENGTH:
          contentLength = value;
          contentLengthCount++;
          break;
      }
      name = undefined;
    }
    if (pos >= n) break;
    nl = text.indexOf('\n', pos);
    if (nl < 0) nl = n;
    le = nl > pos && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
    if (le - pos > maxLine) throw limitError('header line');
    let s: number;
    let e = le;
    if (c0 === 0x20 || c0 === 0x09) {
      // Continuation line: joined with one SP (RFC 3261 §7.3.1).
      if (name === undefined) throw new SipParseError('SIP_ERR_PARSE_HEADER', 'Bad header: continuation line before any header');
      s = pos + 1;
      while (s < e && isWsCode(text.charCodeAt(s))) s++;
      while (e > s && isWsCode(text.charCodeAt(e - 1))) e--;
      if (e > s) {
        value = value.length === 0 ? text.slice(s, e) : `${value} ${text.slice(s, e)}`;
        if (value.length > maxLine) throw limitError('header value');
      }
    } else {
      const colon = text.indexOf(':', pos);
      if (colon < 0 || colon > le) throw new SipParseError('SIP_ERR_PARSE_HEADER', 'Bad header: line without colon');
      let ne = colon;
      while (ne > pos && isWsCode(text.charCodeAt(ne - 1))) ne--;
      if (ne === pos) throw new SipParseError('SIP_ERR_PARSE_HEADER', 'Bad header: empty name');
      const known = knownHeader(text, pos, ne);
      if (known !== undefined) {
        name = known.name;
        key = known.key;
        id = known.id;
      } else {
        for (let i = pos; i < ne; i++) {
          if (!isTokenChar(text.charCodeAt(i))) throw new SipParseError('SIP_ERR_PARSE_HEADER', 'Bad header: invalid name');
        }
        name = text.slice(pos, ne);
        key = headerKey(name);
        id = headerIdOf(key);
      }
      s = colon + 1;
      while (s < e && isWsCode(text.charCodeAt(s))) s++;
      while (e > s && isWsCode(text.charCodeAt(e - 1))) e--;
      value = s === e ? '' : text.slice(s, e);
    }
    pos = nl + 1;
  }

  const headers = SipHeaders.fromParsed(fields.slice(0, count * 3));
  // The scratch array lets go of this message's strings (its header text), and of those of any
  // longer message that failed to parse before it. A loop over the entries used, not fill():
  // Array#fill is a call into the runtime that cost more than the stores (issue 11).
  for (let i = 0; i < parsedFieldsUsed; i++) fields[i] = '';
  parsedFieldsUsed = 0;

  // ---- validation (RFC 3261 §8.1.1, §8.2.2, §20) ---------------------------
  const cache = new AccessorCache();
  if (via === undefined) throw missing('Via', 'via');
  cache.topVia = parseTopVia(via);
  cache.topViaRaw = via;
  if (cseqCount !== 1) throw cseqCount === 0 ? missing('CSeq', 'cseq') : multiple('CSeq', 'cseq');
  const cseqValue = parseCSeq(cseq as string);
  if (!isResponse && cseqValue.method !== method) {
    throw new SipParseError('SIP_ERR_PARSE_CSEQ', 'Bad CSeq: method does not match the Request-Line', { header: 'cseq' });
  }
  cache.cseq = cseqValue;
  cache.cseqRaw = cseq;
  if (fromCount !== 1) throw fromCount === 0 ? missing('From', 'from') : multiple('From', 'from');
  cache.from = parseFrom(from as string);
  cache.fromRaw = from;
  if (toCount !== 1) throw toCount === 0 ? missing('To', 'to') : multiple('To', 'to');
  cache.to = parseTo(to as string);
  cache.toRaw = to;
  if (callIdCount !== 1) throw callIdCount === 0 ? missing('Call-ID', 'call-id') : multiple('Call-ID', 'call-id');
  if ((callId as string).length === 0) throw missing('Call-ID', 'call-id');

  // ---- body (RFC 3261 §18.3, §20.14) -----------------------------------------
  const available = buf.length - bodyStart;
  let bodyLength = available;
  if (contentLengthCount > 1) throw contentLengthError('repeated');
  if (contentLength !== undefined) {
    const cl = contentLength.length;
    if (cl === 0 || cl > 10) throw contentLengthError('not a number');
    let v = 0;
    for (let i = 0; i < cl; i++) {
      const d = contentLength.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) throw contentLengthError('not a number');
      v = v * 10 + d;
    }
    if (v > available) {
      if (stream && bodyStart + v > limits.maxMessageBytes) throw limitError(`Content-Length ${v}`);
      throw contentLengthError('larger than the message body');
    }
    bodyLength = v;
  } else if (stream) {
    throw contentLengthError('missing on a stream transport');
  }
  const body = buf.subarray(bodyStart, bodyStart + bodyLength);

  if (isResponse) {
    const response: SipResponse & { [ACCESSOR_CACHE]: AccessorCache } = {
      kind: 'response',
      status,
      reason,
      headers,
      body,
      [ACCESSOR_CACHE]: cache,
    };
    return response;
  }
  const request: SipRequest & { [ACCESSOR_CACHE]: AccessorCache } = {
    kind: 'request',
    method,
    uri,
    headers,
    body,
    [ACCESSOR_CACHE]: cache,
  };
  return request;
}

function missing(name: string, header: string): SipParseError {
  return new SipParseError('SIP_ERR_PARSE_MISSING_HEADER', `Missing ${name}`, { header });
}

function multiple(name: string, header: string): SipParseError {
  return new SipParseError('SIP_ERR_PARSE_HEADER', `Bad header: more than one ${name}`, { header });
}

function contentLengthError(why: string): SipParseError {
  return new SipParseError('SIP_ERR_PARSE_CONTENT_LENGTH', `Bad Content-Length: ${why}`, { header: 'content-length' });
}
