import { MultipartError } from './multipart-error.js';
import { parseMultipart, relatedRootPart } from './multipart-parser.js';

const latin1 = new TextDecoder('latin1');

/**
 * Fuzz entry: the first line of `data` (up to the first LF) is taken as the
 * Content-Type field value, the rest as the body; it is parsed with nested
 * multiparts and its multipart/related root looked up. Returns normally when
 * the input is accepted or refused with a MultipartError; anything else
 * escaping is a bug and propagates.
 */
export function fuzzMultipart(data: Uint8Array): void {
  const newline = data.indexOf(0x0a);
  const contentType = latin1.decode(newline === -1 ? data : data.subarray(0, newline));
  const body = newline === -1 ? new Uint8Array(0) : data.subarray(newline + 1);
  try {
    const multipart = parseMultipart(contentType, body, { nested: true, maxBytes: 64 * 1024 });
    relatedRootPart(multipart);
  } catch (error) {
    if (!(error instanceof MultipartError)) throw error;
  }
}
