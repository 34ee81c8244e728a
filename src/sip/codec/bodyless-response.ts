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
  // The whole response as one string, encoded once: every Buffer#write or Buffer.byteLength is a
  // call into C++ (with its argument checks and a look at the buffer's backing store), and writing
  // it field by field took about 18 such calls per response: 12,000 of 194,000 instructions per
  // NOTIFY (bench/callgrind-notify.sh; issue 11). The string costs about 1 KB of short-lived heap
  // (the rope and its flattening), which the scavenger frees for far less. Octet for octet the
  // same: UTF-8 throughout, as each piece was written.
  let text = lastStartLine.text;
  // By index, from the packed fields of a parsed request: no iterator or field object per response (issue 11).
  const fields = request.headers;
  const count = fields.size;
  for (let f = 0; f < count; f++) {
    const name = copiedName(fields.keyAt(f)!);
    if (name === undefined) continue;
    const raw = fields.valueAt(f)!;
    text += `${name}: ${name === 'To' ? toWithTag(raw, toTag) : raw}\r\n`;
  }
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    if (headerKey(name) === 'content-length') continue;
    text += `${name}: ${value}\r\n`;
  }
  return Buffer.from(text + EMPTY_TAIL, 'utf8');
}

/** To as createResponse writes it: with `;tag=toTag` added when it has no tag (a new string only then; requests in a dialog have one). */
function toWithTag(to: string, toTag: string | undefined): string {
  return toTag !== undefined && !hasTag(to) ? `${to};tag=${toTag}` : to;
}
