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
 * and such a lookup went to V8's megamorphic keyed load for every field, twice per
 * response (issue 11).
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

/** The start line of the last response serialized by serializeBodylessResponse (almost always 200 OK). */
let lastStartLine = { status: 0, reason: '', text: '' };

/**
 * `serializeSipMessage(createResponse(request, status, reason, { toTag, headers }))`,
 * octet for octet, for a response without a body, written straight from the
 * request's fields: no response object, no header list, no field object per
 * copied line. The 200 to every NOTIFY goes this way (RFC 3261 §8.2.6).
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
    lastStartLine = { status, reason: phrase, text: `SIP/2.0 ${status} ${phrase}\r\n` };
  }
  const startLine = lastStartLine.text;
  let length = Buffer.byteLength(startLine, 'utf8') + EMPTY_TAIL.length;
  // By index, from the packed fields of a parsed request: no iterator or field object per response (issue 11).
  const fields = request.headers;
  const count = fields.size;
  for (let f = 0; f < count; f++) {
    const name = copiedName(fields.keyAt(f)!);
    if (name === undefined) continue;
    const raw = fields.valueAt(f)!;
    const value = name === 'To' ? toWithTag(raw, toTag) : raw;
    length += name.length + Buffer.byteLength(value, 'utf8') + 4;
  }
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    if (headerKey(name) === 'content-length') continue;
    length += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8') + 4;
  }
  const out = Buffer.allocUnsafe(length);
  let at = out.write(startLine, 0, 'utf8');
  for (let f = 0; f < count; f++) {
    const name = copiedName(fields.keyAt(f)!);
    if (name === undefined) continue;
    const raw = fields.valueAt(f)!;
    const value = name === 'To' ? toWithTag(raw, toTag) : raw;
    at += out.write(name, at, 'latin1');
    at = writeValueLine(out, at, value);
  }
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    if (headerKey(name) === 'content-length') continue;
    at += out.write(name, at, 'utf8');
    at = writeValueLine(out, at, value);
  }
  out.write(EMPTY_TAIL, at, 'latin1');
  return out;
}

/** To as createResponse writes it: with `;tag=toTag` added when it has no tag (a new string only then; requests in a dialog have one). */
function toWithTag(to: string, toTag: string | undefined): string {
  return toTag !== undefined && !hasTag(to) ? `${to};tag=${toTag}` : to;
}

/** Writes ": value CRLF" at `at`; returns the index after it. */
function writeValueLine(out: Buffer, at: number, value: string): number {
  out[at++] = 0x3a; // ':'
  out[at++] = 0x20;
  at += out.write(value, at, 'utf8');
  out[at++] = 0x0d;
  out[at++] = 0x0a;
  return at;
}
