import { parseContentType } from '../sip/codec/content-type.js';
import { MultipartError } from './multipart-error.js';
import type { MimeHeader, MimePart, MultipartBody } from './multipart-types.js';

/** Limits against hostile or broken bodies; every one of them ends in MultipartError `MULTIPART_ERR_LIMIT`. */
export interface MultipartParseOptions {
  /** Maximum body size in bytes. Default 1 MiB. */
  maxBytes?: number;
  /** Maximum number of body parts, nested ones included. Default 1000. */
  maxParts?: number;
  /** Maximum nesting of multiparts (1: no multipart inside). Default 4. */
  maxDepth?: number;
  /** Maximum size of one part's header section, in bytes. Default 8 KiB. */
  maxHeaderBytes?: number;
  /** Also parse parts that are `multipart/*` themselves (into `part.multipart`). Default false. */
  nested?: boolean;
}

export const MULTIPART_DEFAULT_MAX_BYTES = 1024 * 1024;
export const MULTIPART_DEFAULT_MAX_PARTS = 1000;
export const MULTIPART_DEFAULT_MAX_DEPTH = 4;
export const MULTIPART_DEFAULT_MAX_HEADER_BYTES = 8 * 1024;

/** Boundaries we accept: 1..200 printable ASCII characters, not ending in a space (RFC 2046 §5.1.1 says ≤ 70; some senders go beyond). */
const MAX_BOUNDARY_LENGTH = 200;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const DASH = 0x2d;
const COLON = 0x3a;

const ACCEPTED_ENCODINGS = new Set(['7bit', '8bit', 'binary']);

const latin1 = new TextDecoder('latin1');

interface Limits {
  maxBytes: number;
  maxParts: number;
  maxDepth: number;
  maxHeaderBytes: number;
  nested: boolean;
}

interface ParseState {
  limits: Limits;
  parts: number;
}

function paramsOf(raw: Map<string, string | null>): Map<string, string> {
  const params = new Map<string, string>();
  for (const [name, value] of raw) params.set(name, value ?? '');
  return params;
}

function checkBoundary(boundary: string | undefined): string {
  if (boundary === undefined || boundary.length === 0) {
    throw new MultipartError('MULTIPART_ERR_BOUNDARY', 'multipart: no boundary parameter');
  }
  if (boundary.length > MAX_BOUNDARY_LENGTH) {
    throw new MultipartError('MULTIPART_ERR_BOUNDARY', `multipart: boundary longer than ${MAX_BOUNDARY_LENGTH} characters`);
  }
  for (let i = 0; i < boundary.length; i++) {
    const c = boundary.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) throw new MultipartError('MULTIPART_ERR_BOUNDARY', 'multipart: boundary with a character outside printable ASCII');
  }
  if (boundary.charCodeAt(boundary.length - 1) === SP) {
    throw new MultipartError('MULTIPART_ERR_BOUNDARY', 'multipart: boundary ends with a space');
  }
  return boundary;
}

/**
 * If a delimiter line starts at `at` ("--" boundary already matched up to
 * `afterBoundary`), returns where the next line begins and whether it is the
 * close delimiter; undefined when the bytes that follow make it no delimiter
 * ("--boundaryX" is text that merely starts like one).
 */
function delimiterLine(body: Uint8Array, afterBoundary: number): { next: number; close: boolean } | undefined {
  let i = afterBoundary;
  let close = false;
  if (i + 1 < body.length && body[i] === DASH && body[i + 1] === DASH) {
    close = true;
    i += 2;
  }
  // transport-padding: linear white space before the line end (RFC 2046 §5.1.1).
  while (i < body.length && (body[i] === SP || body[i] === HTAB)) i++;
  if (i === body.length) return close ? { next: i, close } : undefined;
  if (body[i] === CR && i + 1 < body.length && body[i + 1] === LF) return { next: i + 2, close };
  if (body[i] === LF) return { next: i + 1, close };
  return undefined;
}

/** Index of `needle` in `haystack` at or after `from`, or -1. */
function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle, from);
}

function parseHeaders(section: Uint8Array, index: number, limits: Limits): MimeHeader[] {
  if (section.length > limits.maxHeaderBytes) {
    throw new MultipartError(
      'MULTIPART_ERR_LIMIT',
      `multipart: header section of part ${index} is over ${limits.maxHeaderBytes} bytes`,
    );
  }
  const text = latin1.decode(section);
  const headers: MimeHeader[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.length === 0) continue;
    const first = line.charCodeAt(0);
    if (first === SP || first === HTAB) {
      // A folded continuation line (RFC 5322 §2.2.3).
      const last = headers[headers.length - 1];
      if (last === undefined) {
        throw new MultipartError('MULTIPART_ERR_HEADER', `multipart: part ${index} starts with a continuation line`);
      }
      last.value = (last.value + ' ' + line.trim()).trim();
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (colon <= 0 || name.length === 0 || !isFieldName(name)) {
      throw new MultipartError('MULTIPART_ERR_HEADER', `multipart: part ${index} has a malformed header line`);
    }
    headers.push({ name, value: line.slice(colon + 1).trim() });
  }
  return headers;
}

/** RFC 5322 §3.6.8 field-name: printable ASCII except colon. */
function isFieldName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === COLON) return false;
  }
  return true;
}

function headerValue(headers: MimeHeader[], lowerName: string): string | undefined {
  for (const header of headers) if (header.name.toLowerCase() === lowerName) return header.value;
  return undefined;
}

function readPart(content: Uint8Array, index: number, depth: number, state: ParseState): MimePart {
  // The header section ends at the first empty line; a part that starts with one has no header.
  let bodyStart = content.length;
  let headerEnd = content.length;
  let lineStart = 0;
  while (lineStart < content.length) {
    let lineEnd = content.indexOf(LF, lineStart);
    if (lineEnd === -1) lineEnd = content.length;
    const empty = lineEnd === lineStart || (lineEnd === lineStart + 1 && content[lineStart] === CR);
    if (empty) {
      headerEnd = lineStart;
      bodyStart = Math.min(lineEnd + 1, content.length);
      break;
    }
    lineStart = lineEnd + 1;
  }
  const headers = parseHeaders(content.subarray(0, headerEnd), index, state.limits);
  const part: MimePart = { headers, mediaType: 'text/plain', params: new Map(), body: content.subarray(bodyStart) };
  const contentType = headerValue(headers, 'content-type');
  if (contentType !== undefined) {
    part.contentType = contentType;
    try {
      const parsed = parseContentType(contentType);
      part.mediaType = parsed.mediaType;
      part.params = paramsOf(parsed.params);
    } catch (error) {
      throw new MultipartError('MULTIPART_ERR_HEADER', `multipart: part ${index} has a bad Content-Type`, { cause: error });
    }
  }
  const contentId = headerValue(headers, 'content-id');
  if (contentId !== undefined) part.contentId = stripAngles(contentId);
  const encoding = headerValue(headers, 'content-transfer-encoding');
  if (encoding !== undefined) {
    const lower = encoding.toLowerCase();
    if (!ACCEPTED_ENCODINGS.has(lower)) {
      throw new MultipartError(
        'MULTIPART_ERR_ENCODING',
        `multipart: part ${index} has Content-Transfer-Encoding ${JSON.stringify(encoding)}; only 7bit, 8bit and binary are read`,
      );
    }
    part.contentTransferEncoding = lower;
  }
  if (state.limits.nested && part.mediaType.startsWith('multipart/')) {
    part.multipart = parseLevel(part.mediaType, part.params, part.body, depth + 1, state);
  }
  return part;
}

/** `<id>` → `id`; a value without brackets is taken as it is. */
export function stripAngles(value: string): string {
  const trimmed = value.trim();
  return trimmed.length >= 2 && trimmed.startsWith('<') && trimmed.endsWith('>') ? trimmed.slice(1, -1).trim() : trimmed;
}

function parseLevel(
  mediaType: string,
  params: ReadonlyMap<string, string>,
  body: Uint8Array,
  depth: number,
  state: ParseState,
): MultipartBody {
  if (depth > state.limits.maxDepth) {
    throw new MultipartError('MULTIPART_ERR_LIMIT', `multipart: nested deeper than ${state.limits.maxDepth}`);
  }
  const boundary = checkBoundary(params.get('boundary'));
  const dashBoundary = Buffer.from('--' + boundary, 'latin1');
  const lfDashBoundary = Buffer.from('\n--' + boundary, 'latin1');

  // The first delimiter: at the very start of the body, or at the start of a line.
  let delimiterStart = -1;
  let line: { next: number; close: boolean } | undefined;
  if (indexOf(body, dashBoundary, 0) === 0) {
    line = delimiterLine(body, dashBoundary.length);
    if (line !== undefined) delimiterStart = 0;
  }
  let from = 0;
  while (delimiterStart === -1) {
    const found = indexOf(body, lfDashBoundary, from);
    if (found === -1) throw new MultipartError('MULTIPART_ERR_BOUNDARY', 'multipart: no delimiter line for the boundary');
    line = delimiterLine(body, found + lfDashBoundary.length);
    if (line !== undefined) delimiterStart = found > 0 && body[found - 1] === CR ? found - 1 : found;
    from = found + 1;
  }
  const preamble = body.subarray(0, delimiterStart);
  const parts: MimePart[] = [];
  const contentIds = new Set<string>();
  while (!line!.close) {
    const contentStart = line!.next;
    // The next delimiter; the line end just before "--" belongs to it (RFC 2046 §5.1.1).
    let next = -1;
    let search = Math.max(contentStart - 1, 0);
    let nextLine: { next: number; close: boolean } | undefined;
    while (next === -1) {
      const found = indexOf(body, lfDashBoundary, search);
      if (found === -1) {
        throw new MultipartError('MULTIPART_ERR_BOUNDARY', 'multipart: no close delimiter (truncated body?)');
      }
      nextLine = delimiterLine(body, found + lfDashBoundary.length);
      if (nextLine !== undefined) next = found > contentStart && body[found - 1] === CR ? found - 1 : found;
      search = found + 1;
    }
    if (++state.parts > state.limits.maxParts) {
      throw new MultipartError('MULTIPART_ERR_LIMIT', `multipart: more than ${state.limits.maxParts} parts`);
    }
    const part = readPart(body.subarray(contentStart, Math.max(next, contentStart)), parts.length, depth, state);
    if (part.contentId !== undefined) {
      if (contentIds.has(part.contentId)) {
        throw new MultipartError('MULTIPART_ERR_CONTENT_ID', `multipart: Content-ID <${part.contentId}> used twice`);
      }
      contentIds.add(part.contentId);
    }
    parts.push(part);
    line = nextLine;
  }
  const epilogue = body.subarray(line!.next);
  if (parts.length === 0) throw new MultipartError('MULTIPART_ERR_EMPTY', 'multipart: no body part');
  return { mediaType, params, boundary, preamble, epilogue, parts };
}

/**
 * Parses a `multipart/*` body (RFC 2046 §5.1) given its Content-Type header
 * value (which carries the boundary): parts with their header fields and
 * body bytes, the preamble and the epilogue. Lines may end in CRLF or in a
 * bare LF. Only the 7bit, 8bit and binary transfer encodings are accepted
 * (nothing is decoded). With `nested`, parts that are multiparts themselves
 * are parsed too, within the depth limit. Throws MultipartError (see
 * MultipartErrorCode) and nothing else.
 */
export function parseMultipart(contentType: string, body: Uint8Array | string, options?: MultipartParseOptions): MultipartBody {
  const limits: Limits = {
    maxBytes: options?.maxBytes ?? MULTIPART_DEFAULT_MAX_BYTES,
    maxParts: options?.maxParts ?? MULTIPART_DEFAULT_MAX_PARTS,
    maxDepth: options?.maxDepth ?? MULTIPART_DEFAULT_MAX_DEPTH,
    maxHeaderBytes: options?.maxHeaderBytes ?? MULTIPART_DEFAULT_MAX_HEADER_BYTES,
    nested: options?.nested ?? false,
  };
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (bytes.length > limits.maxBytes) {
    throw new MultipartError('MULTIPART_ERR_LIMIT', `multipart: body of ${bytes.length} bytes exceeds the limit of ${limits.maxBytes}`);
  }
  let mediaType: string;
  let params: Map<string, string>;
  try {
    const parsed = parseContentType(contentType);
    mediaType = parsed.mediaType;
    params = paramsOf(parsed.params);
  } catch (error) {
    throw new MultipartError('MULTIPART_ERR_CONTENT_TYPE', `multipart: bad Content-Type ${JSON.stringify(contentType)}`, {
      cause: error,
    });
  }
  if (!mediaType.startsWith('multipart/')) {
    throw new MultipartError('MULTIPART_ERR_CONTENT_TYPE', `multipart: ${mediaType} is not a multipart media type`);
  }
  return parseLevel(mediaType, params, bytes, 1, { limits, parts: 0 });
}

/** The part whose Content-ID is `contentId` (given with or without angle brackets), if any. */
export function findPartByContentId(multipart: MultipartBody, contentId: string): MimePart | undefined {
  const wanted = stripAngles(contentId);
  for (const part of multipart.parts) if (part.contentId === wanted) return part;
  return undefined;
}

/**
 * The root of a multipart/related body (RFC 2387 §3.2): the part named by the
 * `start` parameter, or the first part when there is none. Throws
 * MultipartError `MULTIPART_ERR_START` when `start` names no part.
 */
export function relatedRootPart(multipart: MultipartBody): MimePart {
  const start = multipart.params.get('start');
  if (start === undefined || stripAngles(start) === '') return multipart.parts[0]!;
  const root = findPartByContentId(multipart, start);
  if (root === undefined) {
    throw new MultipartError('MULTIPART_ERR_START', `multipart/related: start ${JSON.stringify(start)} names no part`);
  }
  return root;
}
