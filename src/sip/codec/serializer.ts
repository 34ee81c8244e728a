/** Building and serializing SIP messages (RFC 3261 §7, §8.1.1, §8.2.6). */
import { Buffer } from 'node:buffer';
import { ACCESSOR_CACHE, AccessorCache } from './cache.js';
import { SipHeaders } from './headers.js';
import type { SipMessage, SipRequest, SipResponse } from './message.js';
import { hasTag } from './has-tag.js';

const EMPTY_BODY = new Uint8Array(0);

function toBody(body: Uint8Array | string | undefined): Uint8Array {
  if (body === undefined) return EMPTY_BODY;
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/**
 * The wire form of a message: start line, the header fields in order with
 * their names as stored, then exactly one Content-Length computed from the
 * body (any stored Content-Length is dropped; RFC 3261 §20.14, §18.3), then
 * the body.
 */
export function serializeSipMessage(message: SipMessage): Buffer {
  const body = message.body;
  const tail = `Content-Length: ${body.length}\r\n\r\n`;
  // The UA core measured this very head a moment ago (serializedLength, to choose the
  // transport): the scratch buffer still holds it when nothing was written since and the
  // message reads the same (issue 11; checked field by field, not by identity).
  const headLength = headWritten(message, tail) ? writtenLength : writeHead(message, tail);
  if (headLength < 0) return serializeByParts(message, tail);
  // The head was written once into the scratch buffer: one exact-size copy out of it.
  const out = Buffer.allocUnsafe(headLength + body.length);
  HEAD_SCRATCH.copy(out, 0, 0, headLength);
  if (body.length > 0) out.set(body, headLength);
  return out;
}

/**
 * The head of `message` (start line, header lines without any Content-Length,
 * `tail`) written into HEAD_SCRATCH as UTF-8; its length in octets, or -1 when
 * it does not fit. ASCII text, nearly all of a SIP head, is copied a character
 * at a time here: a call into Buffer#write per name and per value (and one into
 * Buffer.byteLength each beforehand, to size the buffer) cost more than the
 * copying for strings this short (issue 11). Other text goes through Buffer#write,
 * so the octets are those of UTF-8 either way.
 */
function writeHead(message: SipMessage, tail: string): number {
  const texts = writtenTexts;
  let count = 0;
  writtenLength = -1;
  let at: number;
  if (message.kind === 'request') {
    texts[count++] = message.method;
    texts[count++] = message.uri;
    at = writeText(message.method, 0);
    at = writeText(' ', at);
    at = writeText(message.uri, at);
    at = writeText(' SIP/2.0\r\n', at);
  } else {
    writtenStatus = message.status;
    texts[count++] = message.reason;
    at = writeText('SIP/2.0 ', 0);
    at = writeText(String(message.status), at);
    at = writeText(' ', at);
    at = writeText(message.reason, at);
    at = writeText('\r\n', at);
  }
  for (const field of message.headers) {
    if (field.key === 'content-length') continue;
    texts[count++] = field.name;
    texts[count++] = field.value;
    at = writeText(field.name, at);
    at = writeText(': ', at);
    at = writeText(field.value, at);
    at = writeText('\r\n', at);
  }
  texts[count++] = tail;
  at = writeText(tail, at);
  writtenKind = message.kind;
  writtenCount = count;
  writtenLength = at;
  return at;
}

/*
 * What HEAD_SCRATCH holds: the head written last, as the texts it was made of (method and
 * Request-URI, or a response's reason with its status kept apart; each field's name and
 * value; the Content-Length line) and its length (-1: nothing usable). The texts are kept rather than the message, so that a header
 * changed in place, added or removed since is noticed: the head is reused only when every
 * text reads the same (RFC 3261 §18.1.1's size check and the send write one head, issue 11).
 */
let writtenKind: SipMessage['kind'] = 'request';
let writtenStatus = 0;
let writtenCount = 0;
let writtenLength = -1;
const writtenTexts: string[] = [];

/** True when HEAD_SCRATCH holds the head `message` would be written as now (with `tail`). */
function headWritten(message: SipMessage, tail: string): boolean {
  if (writtenLength < 0 || message.kind !== writtenKind) return false;
  const texts = writtenTexts;
  let count = 0;
  if (message.kind === 'request') {
    if (texts[count++] !== message.method || texts[count++] !== message.uri) return false;
  } else if (message.status !== writtenStatus || texts[count++] !== message.reason) return false;
  const last = writtenCount - 1;
  for (const field of message.headers) {
    if (field.key === 'content-length') continue;
    if (count >= last || texts[count++] !== field.name || texts[count++] !== field.value) return false;
  }
  return count === last && texts[last] === tail;
}

/** Writes `text` as UTF-8 into HEAD_SCRATCH at `at` (-1: nothing, a previous write did not fit); the end, or -1 if it does not fit. */
function writeText(text: string, at: number): number {
  if (at < 0) return -1;
  const length = text.length;
  if (at + length > HEAD_SCRATCH_BYTES) return -1;
  const scratch = HEAD_SCRATCH;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) {
      // Not ASCII: the whole string as UTF-8 (up to 3 octets per UTF-16 unit), if it surely fits.
      if (at + 3 * length > HEAD_SCRATCH_BYTES) return -1;
      return at + scratch.write(text, at, 'utf8');
    }
    scratch[at + i] = code;
  }
  return at + length;
}

/** The head is built here (one thread: shared); a head larger than this is written by parts into its own buffer. */
const HEAD_SCRATCH_BYTES = 16 * 1024;
const HEAD_SCRATCH = Buffer.allocUnsafe(HEAD_SCRATCH_BYTES);

/** A head too large for the scratch buffer: measured, then written piece by piece into the one buffer. */
function serializeByParts(message: SipMessage, tail: string): Buffer {
  const body = message.body;
  const startLine = startLineOf(message);
  const headLength = headLengthOf(message, startLine, tail);
  const out = Buffer.allocUnsafe(headLength + body.length);
  let at = out.write(startLine, 0, 'utf8');
  for (const field of message.headers) {
    if (field.key === 'content-length') continue;
    at += out.write(field.name, at, 'utf8');
    out[at++] = 0x3a; // ':'
    out[at++] = 0x20;
    at += out.write(field.value, at, 'utf8');
    out[at++] = 0x0d;
    out[at++] = 0x0a;
  }
  at += out.write(tail, at, 'latin1');
  if (body.length > 0) out.set(body, at);
  return out;
}

/** Octets of the head: start line, header lines without any Content-Length, `tail` (ASCII). */
function headLengthOf(message: SipMessage, startLine: string, tail: string): number {
  let length = Buffer.byteLength(startLine, 'utf8') + tail.length;
  for (const field of message.headers) {
    if (field.key === 'content-length') continue;
    length += Buffer.byteLength(field.name, 'utf8') + Buffer.byteLength(field.value, 'utf8') + 4; // ": ", CRLF
  }
  return length;
}

function startLineOf(message: SipMessage): string {
  return message.kind === 'request' ? `${message.method} ${message.uri} SIP/2.0\r\n` : `SIP/2.0 ${message.status} ${message.reason}\r\n`;
}

/**
 * `serializeSipMessage(message).length` without building the buffer: what the
 * UA core needs to choose a transport (RFC 3261 §18.1.1) before the request
 * is serialized, once, by its transaction.
 */
export function serializedLength(message: SipMessage): number {
  const tail = `Content-Length: ${message.body.length}\r\n\r\n`;
  const headLength = writeHead(message, tail);
  return (headLength < 0 ? headLengthOf(message, startLineOf(message), tail) : headLength) + message.body.length;
}

export interface RequestInit {
  method: string;
  /** The Request-URI text. */
  uri: string;
  headers?: Iterable<readonly [string, string]>;
  body?: Uint8Array | string;
}

/** A request object (nothing is validated or added: the caller supplies Via, From, To, …). */
export function createRequest(init: RequestInit): SipRequest {
  const request: SipRequest & { [ACCESSOR_CACHE]: AccessorCache } = {
    kind: 'request',
    method: init.method,
    uri: init.uri,
    headers: new SipHeaders(init.headers),
    body: toBody(init.body),
    [ACCESSOR_CACHE]: new AccessorCache(),
  };
  return request;
}

export interface ResponseOptions {
  /** Added to To as `;tag=` when To has no tag yet (RFC 3261 §8.2.6.2). */
  toTag?: string;
  /** Extra headers, appended after the copied ones. */
  headers?: Iterable<readonly [string, string]>;
  body?: Uint8Array | string;
  /** Written as Content-Type when given (with a body). */
  contentType?: string;
}

/**
 * A response to `request` (RFC 3261 §8.2.6.2): every Via in order, From, To
 * (with `toTag` added if To has no tag), Call-ID and CSeq copied; then the
 * extra headers, Content-Type and body.
 */
export function createResponse(request: SipRequest, status: number, reason?: string, options?: ResponseOptions): SipResponse {
  const headers = new SipHeaders();
  for (const field of request.headers) {
    switch (field.key) {
      case 'via':
        headers.append('Via', field.value);
        break;
      case 'from':
        headers.append('From', field.value);
        break;
      case 'to': {
        let to = field.value;
        if (options?.toTag !== undefined && !hasTag(to)) to = `${to};tag=${options.toTag}`;
        headers.append('To', to);
        break;
      }
      case 'call-id':
        headers.append('Call-ID', field.value);
        break;
      case 'cseq':
        headers.append('CSeq', field.value);
        break;
    }
  }
  if (options?.headers) for (const [name, value] of options.headers) headers.append(name, value);
  if (options?.contentType !== undefined) headers.set('Content-Type', options.contentType);
  const response: SipResponse & { [ACCESSOR_CACHE]: AccessorCache | undefined } = {
    kind: 'response',
    status,
    reason: reason ?? reasonPhrase(status),
    headers,
    body: toBody(options?.body),
    // Made on first use (cacheOf): a response we build is serialized, rarely read again.
    [ACCESSOR_CACHE]: undefined,
  };
  return response;
}

/** Standard reason phrases (RFC 3261 §21, RFC 3265/6665, RFC 3903, RFC 4412, RFC 5393, RFC 6086). */
const REASON_PHRASES: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  199: 'Early Dialog Terminated',
  200: 'OK',
  202: 'Accepted',
  204: 'No Notification',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  305: 'Use Proxy',
  380: 'Alternative Service',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  412: 'Conditional Request Failed',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  417: 'Unknown Resource-Priority',
  420: 'Bad Extension',
  421: 'Extension Required',
  422: 'Session Interval Too Small',
  423: 'Interval Too Brief',
  428: 'Use Identity Header',
  429: 'Provide Referrer Identity',
  430: 'Flow Failed',
  433: 'Anonymity Disallowed',
  436: 'Bad Identity-Info',
  437: 'Unsupported Certificate',
  438: 'Invalid Identity Header',
  439: 'First Hop Lacks Outbound Support',
  440: 'Max-Breadth Exceeded',
  469: 'Bad Info Package',
  470: 'Consent Needed',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  485: 'Ambiguous',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  489: 'Bad Event',
  491: 'Request Pending',
  493: 'Undecipherable',
  494: 'Security Agreement Required',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  580: 'Precondition Failure',
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
  607: 'Unwanted',
};

/** The standard reason phrase of a status code, or a generic one by class. */
export function reasonPhrase(status: number): string {
  const phrase = REASON_PHRASES[status];
  if (phrase !== undefined) return phrase;
  if (status >= 100 && status < 200) return 'Provisional';
  if (status < 300) return 'Success';
  if (status < 400) return 'Redirection';
  if (status < 500) return 'Client Error';
  if (status < 600) return 'Server Error';
  return 'Global Failure';
}
