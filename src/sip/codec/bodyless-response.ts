/**
 * The bytes of a response without a body, written straight from the request
 * (RFC 3261 §8.2.6). Kept out of the codec's index: an internal fast path of
 * the server transaction, not part of the public API.
 */
import { Buffer } from 'node:buffer';
import { headerKey } from './header-names.js';
import type { SipRequest } from './message.js';
import { hasTag } from './has-tag.js';
import { reasonPhrase } from './serializer.js';

/**
 * The name createResponse gives a field it copies from the request, by lookup key, else
 * undefined. A switch, not an object indexed by key: the keys of a message's fields vary,
 * and such a lookup went to V8's megamorphic keyed load for every field (issue 11).
 */
function copiedName(key: string): string | undefined {
  switch (key) {
    case 'via':
      return 'Via';
    case 'from':
      return 'From';
    case 'to':
      return 'To';
    case 'call-id':
      return 'Call-ID';
    case 'cseq':
      return 'CSeq';
    default:
      return undefined;
  }
}

const EMPTY_TAIL = 'Content-Length: 0\r\n\r\n';

/** The start line of the last response serialized by serializeBodylessResponse (almost always 200 OK), and its UTF-8 length. */
let lastStartLine = { status: 0, reason: '', text: '', bytes: 0 };

/**
 * `serializeSipMessage(createResponse(request, status, reason, { toTag, headers }))`,
 * octet for octet, for a response without a body, written straight from the
 * request's fields: no response object, no header list, no field object per
 * copied line. The 200 to every NOTIFY goes this way (RFC 3261 §8.2.6).
 *
 * Text that is all ASCII (nearly every header value) is measured by its length
 * and written a character at a time here; only other text goes through
 * Buffer.byteLength and a UTF-8 write. Each of those is a call out of
 * JavaScript that costs more than copying a header value's characters: with
 * three per copied field, they were 7 % of the instructions of a NOTIFY
 * (issue 11).
 */
export function serializeBodylessResponse(
  request: SipRequest,
  status: number,
  reason: string | undefined,
  toTag: string | undefined,
  headers: ReadonlyArray<readonly [string, string]>,
): Buffer {
  const phrase = reason ?? reasonPhrase(status);
  if (lastStartLine.status !== status || lastStartLine.reason !== phrase) {
    const text = `SIP/2.0 ${status} ${phrase}\r\n`;
    lastStartLine = { status, reason: phrase, text, bytes: Buffer.byteLength(text, 'utf8') };
  }
  const startLine = lastStartLine;
  let length = startLine.bytes + EMPTY_TAIL.length;
  // By index, from the packed fields of a parsed request: no iterator or field object per response (issue 11).
  const fields = request.headers;
  const count = fields.size;
  for (let f = 0; f < count; f++) {
    const name = copiedName(fields.keyAt(f)!);
    if (name === undefined) continue;
    const raw = fields.valueAt(f)!;
    const value = name === 'To' ? toWithTag(raw, toTag) : raw;
    length += name.length + utf8Length(value) + 4;
  }
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    if (headerKey(name) === 'content-length') continue;
    length += utf8Length(name) + utf8Length(value) + 4;
  }
  const out = Buffer.allocUnsafe(length);
  let at = writeText(out, 0, startLine.text);
  for (let f = 0; f < count; f++) {
    const name = copiedName(fields.keyAt(f)!);
    if (name === undefined) continue;
    const raw = fields.valueAt(f)!;
    const value = name === 'To' ? toWithTag(raw, toTag) : raw;
    at = writeText(out, at, name);
    at = writeValueLine(out, at, value);
  }
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    if (headerKey(name) === 'content-length') continue;
    at = writeText(out, at, name);
    at = writeValueLine(out, at, value);
  }
  writeText(out, at, EMPTY_TAIL);
  return out;
}

/** To as createResponse writes it: with `;tag=toTag` added when it has no tag (a new string only then; requests in a dialog have one). */
function toWithTag(to: string, toTag: string | undefined): string {
  return toTag !== undefined && !hasTag(to) ? `${to};tag=${toTag}` : to;
}

/** Octets of `text` in UTF-8, as Buffer.byteLength counts them; an ASCII text without calling it. */
function utf8Length(text: string): number {
  const n = text.length;
  for (let i = 0; i < n; i++) if (text.charCodeAt(i) >= 0x80) return Buffer.byteLength(text, 'utf8');
  return n;
}

/**
 * Writes `text` in UTF-8 at `at` (the room is there: utf8Length measured it); returns the
 * index after it. ASCII a character at a time; from the first other character on, the
 * whole text again by Buffer#write, which writes what it wrote before the same way.
 */
function writeText(out: Buffer, at: number, text: string): number {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return at - i + out.write(text, at - i, 'utf8');
    out[at++] = c;
  }
  return at;
}

/** Writes ": value CRLF" at `at`; returns the index after it. */
function writeValueLine(out: Buffer, at: number, value: string): number {
  out[at++] = 0x3a; // ':'
  out[at++] = 0x20;
  at = writeText(out, at, value);
  out[at++] = 0x0d;
  out[at++] = 0x0a;
  return at;
}
