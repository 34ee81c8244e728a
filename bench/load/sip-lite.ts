/**
 * A deliberately small SIP reader/writer for the load generator. It is not the
 * product's codec (bench must measure the product, not lean on it) and only
 * understands what a presence server needs to answer SUBSCRIBE and to match
 * responses to its NOTIFYs: the start line, Via/From/To/Call-ID/CSeq (echoed in
 * responses, RFC 3261 §8.2.6.2), Contact, Expires, Event, Content-Length.
 */

/** The fields of a received message the simulator looks at. Strings are copies, not views of the packet. */
export interface LiteMessage {
  isRequest: boolean;
  /** Request method, or the CSeq method of a response. */
  method: string;
  /** Request-URI (requests only). */
  uri: string;
  /** Status code (responses only). */
  status: number;
  /** Raw `Via: …` header lines in order, echoed verbatim in responses. */
  viaLines: string[];
  fromLine: string;
  toLine: string;
  callIdLine: string;
  cseqLine: string;
  /** Header values. */
  from: string;
  to: string;
  callId: string;
  cseq: number;
  contact: string;
  expires: number | undefined;
  event: string;
  /** `branch` parameter of the top Via. */
  topBranch: string;
}

/** Compact header forms (RFC 3261 §7.3.3, RFC 6665 §8.2.1 for `o`). */
const COMPACT: Record<string, string> = {
  v: 'via',
  f: 'from',
  t: 'to',
  i: 'call-id',
  m: 'contact',
  l: 'content-length',
  o: 'event',
  c: 'content-type',
};

function canonicalName(raw: string): string {
  const lower = raw.trim().toLowerCase();
  return lower.length === 1 ? (COMPACT[lower] ?? lower) : lower;
}

/** The value of `name=` in a header value's parameters, or '' (case-insensitive name). */
export function headerParam(value: string, name: string): string {
  const lower = value.toLowerCase();
  const key = `;${name}=`;
  let at = lower.indexOf(key);
  // Skip matches inside <…> (URI parameters, not header parameters).
  while (at >= 0) {
    const open = value.lastIndexOf('<', at);
    const close = value.lastIndexOf('>', at);
    if (open < 0 || close > open) break;
    at = lower.indexOf(key, at + 1);
  }
  if (at < 0) return '';
  const start = at + key.length;
  let end = start;
  while (end < value.length) {
    const c = value.charCodeAt(end);
    if (c === 59 /* ; */ || c === 44 /* , */ || c === 32 || c === 62 /* > */ || c === 13 || c === 10) break;
    end++;
  }
  return value.slice(start, end);
}

/** The URI of a name-addr or addr-spec (`"A" <sip:a@h>;tag=x` → `sip:a@h`). */
export function uriOf(value: string): string {
  const open = value.indexOf('<');
  if (open >= 0) {
    const close = value.indexOf('>', open);
    return value.slice(open + 1, close < 0 ? value.length : close).trim();
  }
  const semi = value.indexOf(';');
  return (semi < 0 ? value : value.slice(0, semi)).trim();
}

/** host, port and transport parameter of a `sip:` URI (IPv4 or names only; bench is loopback). */
export function hostPortOf(uri: string): { host: string; port: number; transport: string } {
  let rest = uri.replace(/^sips?:/i, '');
  const at = rest.indexOf('@');
  if (at >= 0) rest = rest.slice(at + 1);
  const semi = rest.indexOf(';');
  const hostPort = semi < 0 ? rest : rest.slice(0, semi);
  const params = semi < 0 ? '' : rest.slice(semi).toLowerCase();
  const colon = hostPort.lastIndexOf(':');
  const host = colon < 0 ? hostPort : hostPort.slice(0, colon);
  const port = colon < 0 ? 5060 : Number(hostPort.slice(colon + 1));
  const tp = /;transport=([a-z]+)/.exec(params);
  return { host, port, transport: tp?.[1] ?? '' };
}

/**
 * Parses one complete SIP message (head + body) from a latin1 string.
 * Returns undefined for anything it cannot read (the simulator just drops it).
 */
export function parseLite(text: string): LiteMessage | undefined {
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const firstEnd = text.indexOf('\r\n');
  const first = text.slice(0, firstEnd);
  const msg: LiteMessage = {
    isRequest: true,
    method: '',
    uri: '',
    status: 0,
    viaLines: [],
    fromLine: '',
    toLine: '',
    callIdLine: '',
    cseqLine: '',
    from: '',
    to: '',
    callId: '',
    cseq: 0,
    contact: '',
    expires: undefined,
    event: '',
    topBranch: '',
  };
  if (first.startsWith('SIP/2.0 ')) {
    msg.isRequest = false;
    msg.status = Number(first.slice(8, 11));
    if (!(msg.status >= 100 && msg.status < 700)) return undefined;
  } else {
    const sp1 = first.indexOf(' ');
    const sp2 = first.indexOf(' ', sp1 + 1);
    if (sp1 <= 0 || sp2 <= sp1) return undefined;
    msg.method = first.slice(0, sp1);
    msg.uri = first.slice(sp1 + 1, sp2);
  }
  let pos = firstEnd + 2;
  while (pos < headEnd) {
    let lineEnd = text.indexOf('\r\n', pos);
    if (lineEnd < 0 || lineEnd > headEnd) lineEnd = headEnd;
    const line = text.slice(pos, lineEnd);
    pos = lineEnd + 2;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = canonicalName(line.slice(0, colon));
    const value = line.slice(colon + 1).trim();
    switch (name) {
      case 'via':
        msg.viaLines.push(line);
        if (msg.topBranch === '') msg.topBranch = headerParam(value, 'branch');
        break;
      case 'from':
        msg.fromLine = line;
        msg.from = value;
        break;
      case 'to':
        msg.toLine = line;
        msg.to = value;
        break;
      case 'call-id':
        msg.callIdLine = line;
        msg.callId = value;
        break;
      case 'cseq': {
        msg.cseqLine = line;
        const sp = value.indexOf(' ');
        msg.cseq = Number(value.slice(0, sp));
        if (!msg.isRequest) msg.method = value.slice(sp + 1).trim();
        break;
      }
      case 'contact':
        if (msg.contact === '') msg.contact = value;
        break;
      case 'expires':
        msg.expires = Number(value);
        break;
      case 'event':
        msg.event = value;
        break;
      default:
        break;
    }
  }
  if (msg.callId === '' || msg.viaLines.length === 0) return undefined;
  return msg;
}

/**
 * Splits a TCP byte stream into SIP messages by Content-Length
 * (RFC 3261 §18.3: mandatory on streams). Keep-alive CRLFs are skipped.
 */
export class StreamFramer {
  private pending = '';

  /** Feeds bytes; calls `onMessage` for every complete message. */
  push(chunk: Buffer, onMessage: (text: string) => void): void {
    this.pending += chunk.toString('latin1');
    for (;;) {
      let start = 0;
      while (start < this.pending.length && (this.pending.charCodeAt(start) === 13 || this.pending.charCodeAt(start) === 10)) start++;
      if (start > 0) this.pending = this.pending.slice(start);
      const headEnd = this.pending.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = this.pending.slice(0, headEnd);
      const m = /\r\n(?:content-length|l)[ \t]*:[ \t]*(\d+)/i.exec(head);
      const bodyLength = m === null ? 0 : Number(m[1]);
      const total = headEnd + 4 + bodyLength;
      if (this.pending.length < total) return;
      const text = this.pending.slice(0, total);
      this.pending = this.pending.slice(total);
      onMessage(text);
    }
  }
}

/** A response echoing Via/From/To/Call-ID/CSeq (RFC 3261 §8.2.6.2); `toTag` is added when To has none. */
export function buildResponse(
  req: LiteMessage,
  status: number,
  reason: string,
  toTag: string,
  extraHeaders: string,
): string {
  let toLine = req.toLine;
  if (toTag !== '' && headerParam(req.to, 'tag') === '') toLine += `;tag=${toTag}`;
  return (
    `SIP/2.0 ${status} ${reason}\r\n` +
    req.viaLines.join('\r\n') +
    '\r\n' +
    req.fromLine +
    '\r\n' +
    toLine +
    '\r\n' +
    req.callIdLine +
    '\r\n' +
    req.cseqLine +
    '\r\n' +
    extraHeaders +
    'Content-Length: 0\r\n\r\n'
  );
}
