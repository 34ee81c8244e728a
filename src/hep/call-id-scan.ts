import { Buffer } from 'node:buffer';

/**
 * The Call-ID of a serialized SIP message, read from its octets without
 * parsing it (the transport hands HEP capture the bytes it sent): the value
 * of the first `Call-ID` or compact `i` header (RFC 3261 §7.3.3, §20.8) in the
 * header block, trimmed. `undefined` when there is none. Reads at most the
 * first `limit` octets.
 */
export function scanCallId(bytes: Uint8Array, limit = 16 * 1024): string | undefined {
  const end = Math.min(bytes.length, limit);
  let lineStart = 0;
  // Skip the start line.
  while (lineStart < end && bytes[lineStart] !== 0x0a) lineStart++;
  lineStart++;
  while (lineStart < end) {
    let lineEnd = lineStart;
    while (lineEnd < end && bytes[lineEnd] !== 0x0a) lineEnd++;
    let contentEnd = lineEnd;
    if (contentEnd > lineStart && bytes[contentEnd - 1] === 0x0d) contentEnd--;
    if (contentEnd === lineStart) return undefined; // the empty line: end of the headers
    const value = callIdValue(bytes, lineStart, contentEnd);
    if (value !== undefined) return value;
    lineStart = lineEnd + 1;
  }
  return undefined;
}

function callIdValue(bytes: Uint8Array, start: number, end: number): string | undefined {
  let colon = start;
  while (colon < end && bytes[colon] !== 0x3a) colon++;
  if (colon === end) return undefined;
  const name = latin1(bytes, start, colon).trim().toLowerCase();
  if (name !== 'call-id' && name !== 'i') return undefined;
  const value = latin1(bytes, colon + 1, end).trim();
  return value === '' ? undefined : value;
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}
