import { CryptoRandom, type Random } from '../util/random.js';
import { MultipartError } from './multipart-error.js';
import type { MimeHeader } from './multipart-types.js';

/** One part to write. */
export interface MultipartPartInput {
  /** The part's Content-Type field value, e.g. `application/pidf+xml`. */
  contentType: string;
  /** Content-ID without angle brackets; required for the root when `start` is written, and for every part RLMI names. */
  contentId?: string;
  body: Uint8Array | string;
  /** Content-Transfer-Encoding; default `binary` (RFC 3261 §7.4: SIP bodies are binary). */
  contentTransferEncoding?: '7bit' | '8bit' | 'binary';
  /** More header fields, written after the others. */
  headers?: readonly MimeHeader[];
}

export interface MultipartRelatedInput {
  /** The root's media type, written as the `type` parameter (RFC 2387 §3.1), e.g. `application/rlmi+xml`. */
  type: string;
  /** Parts, root first. */
  parts: readonly MultipartPartInput[];
  /**
   * Content-ID of the root (the `start` parameter, RFC 2387 §3.2), without
   * angle brackets. Default: the first part's Content-ID, when it has one;
   * it must be a part's.
   */
  start?: string;
  /** The boundary (RFC 2046 §5.1.1 bchars, 1..70, not ending in a space); default: 24 random characters. */
  boundary?: string;
  /** Source of the random boundary; default: a CryptoRandom. */
  random?: Random;
}

/** A multipart body ready to send: the Content-Type field value and the bytes. */
export interface BuiltMultipart {
  contentType: string;
  body: Uint8Array;
  boundary: string;
}

/** RFC 2046 §5.1.1 bchars. */
const BCHARS = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const BOUNDARY_LENGTH = 24;
const MAX_BOUNDARY_ATTEMPTS = 8;

let defaultRandom: Random | undefined;

function argument(message: string): MultipartError {
  return new MultipartError('MULTIPART_ERR_ARGUMENT', 'multipart: ' + message);
}

/** A header field value must not break the header section: no CR, LF or other control character. */
function checkFieldValue(value: string, what: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) throw argument(`${what} contains a character that cannot be written`);
  }
}

function checkFieldName(name: string): void {
  if (name.length === 0) throw argument('empty header name');
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x3a) throw argument(`header name ${JSON.stringify(name)} is not a field name`);
  }
}

/** A Content-ID (msg-id content) must survive `<…>` and a quoted `start` parameter. */
function checkContentId(contentId: string): void {
  if (contentId.length === 0) throw argument('empty Content-ID');
  for (let i = 0; i < contentId.length; i++) {
    const c = contentId.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x3c || c === 0x3e || c === 0x22 || c === 0x5c) {
      throw argument(`Content-ID ${JSON.stringify(contentId)} contains a character that cannot be written`);
    }
  }
}

/** A parameter value written as a quoted-string: no quote, backslash or control character. */
function checkQuotable(value: string, what: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c) throw argument(`${what} contains a character that cannot be written`);
  }
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle) !== -1;
}

/**
 * Writes a multipart/related body (RFC 2387) as an RLS sends it (RFC 4662
 * §5.1: the RLMI document first, each member document as a part named by its
 * Content-ID): CRLF line ends, `Content-Transfer-Encoding: binary` by
 * default, the boundary checked against every part's bytes. Throws
 * MultipartError `MULTIPART_ERR_ARGUMENT` for what cannot be written (no
 * part, a bad boundary or Content-ID, a duplicate Content-ID, a `start`
 * naming no part, a given boundary that occurs in a part).
 */
export function buildMultipartRelated(input: MultipartRelatedInput): BuiltMultipart {
  if (input.parts.length === 0) throw argument('no part');
  checkQuotable(input.type, 'type');
  if (input.type.length === 0) throw argument('empty type');
  const bodies = input.parts.map((part) => (typeof part.body === 'string' ? Buffer.from(part.body, 'utf8') : part.body));
  const contentIds = new Set<string>();
  for (const part of input.parts) {
    if (part.contentId === undefined) continue;
    checkContentId(part.contentId);
    if (contentIds.has(part.contentId)) throw argument(`Content-ID ${JSON.stringify(part.contentId)} used twice`);
    contentIds.add(part.contentId);
  }
  const start = input.start ?? input.parts[0]!.contentId;
  if (start !== undefined && !contentIds.has(start)) throw argument(`start ${JSON.stringify(start)} names no part`);

  let boundary = input.boundary;
  if (boundary !== undefined) {
    if (!BCHARS.test(boundary)) throw argument(`boundary ${JSON.stringify(boundary)} is not 1..70 RFC 2046 characters`);
    const delimiter = Buffer.from('--' + boundary, 'latin1');
    if (bodies.some((body) => contains(body, delimiter))) throw argument('the boundary occurs in a part');
  } else {
    defaultRandom ??= new CryptoRandom();
    const random = input.random ?? defaultRandom;
    for (let attempt = 0; boundary === undefined; attempt++) {
      if (attempt === MAX_BOUNDARY_ATTEMPTS) throw argument('no boundary found that occurs in no part');
      const candidate = random.token(BOUNDARY_LENGTH);
      const delimiter = Buffer.from('--' + candidate, 'latin1');
      if (!bodies.some((body) => contains(body, delimiter))) boundary = candidate;
    }
  }

  const chunks: Uint8Array[] = [];
  input.parts.forEach((part, index) => {
    checkFieldValue(part.contentType, 'Content-Type');
    let head = `--${boundary}\r\n`;
    head += `Content-Transfer-Encoding: ${part.contentTransferEncoding ?? 'binary'}\r\n`;
    if (part.contentId !== undefined) head += `Content-ID: <${part.contentId}>\r\n`;
    head += `Content-Type: ${part.contentType}\r\n`;
    for (const header of part.headers ?? []) {
      checkFieldName(header.name);
      checkFieldValue(header.value, `header ${header.name}`);
      head += `${header.name}: ${header.value}\r\n`;
    }
    chunks.push(Buffer.from(head + '\r\n', 'latin1'), bodies[index]!, Buffer.from('\r\n', 'latin1'));
  });
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));

  let contentType = `multipart/related;type="${input.type}"`;
  if (start !== undefined) contentType += `;start="<${start}>"`;
  contentType += `;boundary="${boundary}"`;
  return { contentType, body: Buffer.concat(chunks), boundary };
}
