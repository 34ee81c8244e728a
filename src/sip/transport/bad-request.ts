/**
 * Stateless answers to requests the parser rejected (RFC 3261 §8.2.2, §21.4.1:
 * "400 Bad Request … the reason phrase SHOULD identify the syntax problem").
 * The parser gave up on the message, so the few header fields a response
 * needs are read here from the raw octets, best effort, without trusting
 * anything else in them.
 */

/** How far into a malformed message we look for its start line and headers. */
const MAX_HEAD_OCTETS = 16_384;
const MAX_HEADER_LINES = 256;
const MAX_REASON_LENGTH = 100;

export type MalformedKind = 'request' | 'response' | 'garbage';

/** The header fields copied into a 400, as found in the malformed request (raw values). */
export interface MalformedRequestHead {
  /** Every Via header line, in order (RFC 3261 §8.2.6.2 copies them all). */
  vias: string[];
  from?: string;
  to?: string;
  callId?: string;
  cseq?: string;
}

/** Offset of the start line: RFC 3261 §7.5 lets CRLFs precede it. */
function startOfMessage(data: Uint8Array): number {
  let i = 0;
  while (i < data.length && (data[i] === 0x0d || data[i] === 0x0a)) i++;
  return i;
}

/**
 * A request if its first line ends in `SIP/2.0` and does not start with `SIP/`;
 * a response if it starts with `SIP/`; anything else is garbage.
 */
export function classifyMalformed(data: Uint8Array): MalformedKind {
  const start = startOfMessage(data);
  const limit = Math.min(data.length, start + MAX_HEAD_OCTETS);
  let end = start;
  while (end < limit && data[end] !== 0x0a) end++;
  if (end > start && data[end - 1] === 0x0d) end--;
  if (startsWithAscii(data, start, end, 'SIP/')) return 'response';
  if (end - start > 8 && data[end - 8] === 0x20 && startsWithAscii(data, end - 7, end, 'SIP/2.0')) return 'request';
  return 'garbage';
}

function startsWithAscii(data: Uint8Array, from: number, to: number, text: string): boolean {
  if (to - from < text.length) return false;
  for (let i = 0; i < text.length; i++) if (data[from + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Header fields the 400 needs, by lower-case name (long and compact forms, RFC 3261 §7.3.3). */
const WANTED: Record<string, keyof MalformedRequestHead> = {
  via: 'vias',
  v: 'vias',
  from: 'from',
  f: 'from',
  to: 'to',
  t: 'to',
  'call-id': 'callId',
  i: 'callId',
  cseq: 'cseq',
};

/** Reads Via/From/To/Call-ID/CSeq from the raw head of a malformed request (unfolding continuation lines). */
export function readMalformedRequestHead(data: Uint8Array): MalformedRequestHead {
  const start = startOfMessage(data);
  // latin1 maps each octet to one char, so copied values go back out unchanged.
  const text = Buffer.from(data.buffer, data.byteOffset + start, Math.min(data.length - start, MAX_HEAD_OCTETS)).toString('latin1');
  const lines = unfoldedHeaderLines(text);
  const head: MalformedRequestHead = { vias: [] };
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const field = WANTED[line.slice(0, colon).trim().toLowerCase()];
    if (field === undefined) continue;
    const value = line.slice(colon + 1).trim();
    if (value === '' || !isPrintable(value)) continue;
    if (field === 'vias') head.vias.push(value);
    else if (head[field] === undefined) head[field] = value;
  }
  return head;
}

function unfoldedHeaderLines(text: string): string[] {
  const out: string[] = [];
  let pos = text.indexOf('\n');
  if (pos < 0) return out; // only a start line
  pos++;
  while (pos < text.length && out.length < MAX_HEADER_LINES) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const line = text.slice(pos, end > pos && text.charCodeAt(end - 1) === 0x0d ? end - 1 : end);
    pos = end + 1;
    if (line === '') break; // end of the header section
    const first = line.charCodeAt(0);
    // RFC 3261 §7.3.1: a line starting with whitespace continues the previous one.
    if ((first === 0x20 || first === 0x09) && out.length > 0) out[out.length - 1] += ` ${line.trim()}`;
    else out.push(line);
  }
  return out;
}

function isPrintable(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 && c !== 0x09) return false;
    if (c === 0x7f) return false;
  }
  return true;
}

/**
 * `Bad Request - <problem>`: one line of printable ASCII, at most 100 characters,
 * so that a garbled error text cannot break the status line.
 */
export function badRequestReason(problem: string): string {
  let detail = '';
  let lastWasSpace = true;
  for (let i = 0; i < problem.length; i++) {
    const c = problem.charCodeAt(i);
    const printable = c > 0x20 && c < 0x7f;
    if (printable) {
      detail += problem[i];
      lastWasSpace = false;
    } else if (!lastWasSpace) {
      detail += ' ';
      lastWasSpace = true;
    }
  }
  detail = detail.trim();
  const reason = detail === '' ? 'Bad Request' : `Bad Request - ${detail}`;
  return reason.length <= MAX_REASON_LENGTH ? reason : reason.slice(0, MAX_REASON_LENGTH).trimEnd();
}

/** True when a From/To value carries a `tag` header parameter (after the `>` of a name-addr). */
export function hasTagParam(value: string): boolean {
  const close = value.lastIndexOf('>');
  const params = close >= 0 ? value.slice(close + 1) : value;
  let i = params.indexOf(';');
  while (i >= 0) {
    let j = i + 1;
    while (j < params.length && (params.charCodeAt(j) === 0x20 || params.charCodeAt(j) === 0x09)) j++;
    if (params.slice(j, j + 3).toLowerCase() === 'tag') {
      let k = j + 3;
      while (k < params.length && (params.charCodeAt(k) === 0x20 || params.charCodeAt(k) === 0x09)) k++;
      if (k === params.length || params[k] === '=' || params[k] === ';') return true;
    }
    i = params.indexOf(';', i + 1);
  }
  return false;
}

/**
 * The octets of a stateless `400 Bad Request - <problem>` (RFC 3261 §8.2.6):
 * all Via lines (the top one as given, already stamped with received/rport),
 * From, To (with a To-tag added when missing), Call-ID, CSeq, Content-Length: 0.
 */
export function buildBadRequestResponse(head: MalformedRequestHead, topVia: string, problem: string, toTag: string): Buffer {
  return buildStatelessResponse(head, topVia, 400, badRequestReason(problem), toTag);
}

/**
 * The octets of a stateless response (RFC 3261 §8.2.6) built from the raw
 * head of a request that is not parsed further: a 400 for a malformed one, a
 * 513 for one over the size limit, a 503 for one shed under overload.
 * `extra` lines (e.g. `Retry-After: 5`) come before Content-Length.
 */
export function buildStatelessResponse(head: MalformedRequestHead, topVia: string, status: number, reason: string, toTag: string, extra: readonly string[] = []): Buffer {
  let text = `SIP/2.0 ${status} ${reason}\r\n`;
  for (let i = 0; i < head.vias.length; i++) text += `Via: ${i === 0 ? topVia : head.vias[i]}\r\n`;
  if (head.from !== undefined) text += `From: ${head.from}\r\n`;
  if (head.to !== undefined) text += `To: ${hasTagParam(head.to) ? head.to : `${head.to};tag=${toTag}`}\r\n`;
  if (head.callId !== undefined) text += `Call-ID: ${head.callId}\r\n`;
  if (head.cseq !== undefined) text += `CSeq: ${head.cseq}\r\n`;
  for (const line of extra) text += `${line}\r\n`;
  text += 'Content-Length: 0\r\n\r\n';
  return Buffer.from(text, 'latin1');
}

/** The method of a request's start line (`NOTIFY sip:… SIP/2.0` → `NOTIFY`), or undefined. */
export function requestMethodOf(data: Uint8Array): string | undefined {
  const start = startOfMessage(data);
  let end = start;
  const limit = Math.min(data.length, start + 32);
  while (end < limit && data[end] !== 0x20) end++;
  if (end === start || end === limit) return undefined;
  return Buffer.from(data.buffer, data.byteOffset + start, end - start).toString('latin1');
}
