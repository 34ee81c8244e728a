/** Via (RFC 3261 §20.42, §18.2.1 received, RFC 3581 rport). */
import { SipParseError } from './parse-error.js';
import { cacheOf } from './cache.js';
import type { SipMessage } from './message.js';
import { COLON, SLASH, isTokenChar, paramsMapFor, parseParams, skipWs } from './syntax.js';

export interface Via {
  /** 'SIP/2.0' (protocol-name/version, upper-cased, LWS removed). */
  protocol: string;
  /** Upper-cased: 'UDP', 'TCP', 'TLS', 'SCTP', … */
  transport: string;
  /** sent-by host, lower-cased; an IPv6 reference keeps its brackets. */
  host: string;
  port?: number;
  /** All via-params in order; names lower-cased, values as written. */
  params: Map<string, string | null>;
  branch?: string;
  received?: string;
  /** RFC 3581: a number once filled in by the server; `true` when present without value. */
  rport?: number | true;
}

function viaError(why: string): SipParseError {
  return new SipParseError('SIP_ERR_PARSE_VIA', `Bad Via: ${why}`, { header: 'via' });
}

function readToken(text: string, i: number): number {
  const n = text.length;
  while (i < n && isTokenChar(text.charCodeAt(i))) i++;
  return i;
}

/** Parses one via-parm (one element of a Via header). Throws SipParseError(SIP_ERR_PARSE_VIA). */
export function parseVia(value: string): Via {
  return parseViaElement(value, false);
}

/** With `inList`, parsing stops without error at a comma that ends the first element. */
function parseViaElement(value: string, inList: boolean): Via {
  const n = value.length;
  let i = skipWs(value, 0);
  // Fast path for the usual spelling: 'SIP/2.0/UDP ' and friends.
  if (value.startsWith('SIP/2.0/', i)) {
    const t = i + 8;
    const end = t + 3;
    if (end < n && (value.charCodeAt(end) === 0x20 || value.charCodeAt(end) === 0x09)) {
      const known = knownTransport(value.charCodeAt(t), value.charCodeAt(t + 1), value.charCodeAt(t + 2));
      if (known !== undefined) return parseSentBy(value, end, 'SIP/2.0', known, inList);
    }
  }
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport, SLASH = SWS "/" SWS
  let s = i;
  i = readToken(value, i);
  if (i === s) throw viaError('missing protocol');
  const name = value.slice(s, i);
  i = skipWs(value, i);
  if (value.charCodeAt(i) !== SLASH) throw viaError('missing /');
  i = skipWs(value, i + 1);
  s = i;
  i = readToken(value, i);
  if (i === s) throw viaError('missing version');
  const version = value.slice(s, i);
  i = skipWs(value, i);
  if (value.charCodeAt(i) !== SLASH) throw viaError('missing /');
  i = skipWs(value, i + 1);
  s = i;
  i = readToken(value, i);
  if (i === s) throw viaError('missing transport');
  const transport = value.slice(s, i).toUpperCase();
  const protocol = `${name}/${version}`.toUpperCase();
  return parseSentBy(value, i, protocol, transport, inList);
}

/** 'UDP', 'TCP' or 'TLS' (any case) from three character codes, else undefined. */
function knownTransport(a: number, b: number, c: number): string | undefined {
  a |= 0x20;
  b |= 0x20;
  c |= 0x20;
  if (a === 0x75 && b === 0x64 && c === 0x70) return 'UDP';
  if (a === 0x74 && b === 0x63 && c === 0x70) return 'TCP';
  if (a === 0x74 && b === 0x6c && c === 0x73) return 'TLS';
  return undefined;
}

/** sent-by and via-params, from just after the transport token. */
function parseSentBy(value: string, i: number, protocol: string, transport: string, inList: boolean): Via {
  const n = value.length;
  let s: number;
  const afterTransport = i;
  i = skipWs(value, i);
  if (i === afterTransport) throw viaError('missing space before sent-by');
  // sent-by = host [ COLON port ]
  s = i;
  let upper = false;
  if (value.charCodeAt(i) === 0x5b /* [ */) {
    const close = value.indexOf(']', i);
    if (close < 0) throw viaError('unterminated IPv6 reference');
    i = close + 1;
    upper = true;
  } else {
    while (i < n) {
      const c = value.charCodeAt(i);
      if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x5f) i++;
      else if (c >= 0x41 && c <= 0x5a) {
        upper = true;
        i++;
      } else break;
    }
  }
  if (i === s) throw viaError('missing host');
  const host = upper ? value.slice(s, i).toLowerCase() : value.slice(s, i);
  let port: number | undefined;
  const afterHost = skipWs(value, i);
  if (afterHost < n && value.charCodeAt(afterHost) === COLON) {
    i = skipWs(value, afterHost + 1);
    s = i;
    let v = 0;
    while (i < n) {
      const d = value.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      i++;
    }
    if (i === s || i - s > 5 || v > 65535) throw viaError('bad port');
    port = v;
  }
  const params = paramsMapFor(value, i);
  i = parseParams(value, i, params, 'SIP_ERR_PARSE_VIA', 'Via');
  // A trailing comment is allowed by RFC 2543 only; anything else is an error.
  if (i < n && !(inList && value.charCodeAt(i) === 0x2c)) throw viaError(`unexpected character ${JSON.stringify(value[i])}`);
  const branch = params.get('branch');
  const received = params.get('received');
  let rport: number | true | undefined;
  if (params.has('rport')) {
    const r = params.get('rport');
    if (r === null || r === undefined) rport = true;
    else {
      const v = Number(r);
      rport = Number.isInteger(v) && v >= 0 && v <= 65535 && r.length <= 5 ? v : true;
    }
  }
  // One object shape for every Via (absent fields are undefined), which keeps property access monomorphic.
  const via: Via = {
    protocol,
    transport,
    host,
    port,
    params,
    branch: branch || undefined,
    received: received || undefined,
    rport,
  };
  return via;
}

/** Every Via element across all Via lines, top first. Throws SipParseError on a bad element. */
export function viaList(message: SipMessage): Via[] {
  return message.headers.values('via').map(parseVia);
}

/** The top Via (first element of the first Via line). Throws SipParseError if none or bad. */
export function topVia(message: SipMessage): Via {
  const raw = message.headers.getByKey('via');
  if (raw === undefined) {
    throw new SipParseError('SIP_ERR_PARSE_MISSING_HEADER', 'Missing Via', { header: 'via' });
  }
  const cache = cacheOf(message);
  if (cache.topViaRaw === raw && cache.topVia !== undefined) return cache.topVia;
  const value = parseTopVia(raw);
  cache.topViaRaw = raw;
  cache.topVia = value;
  return value;
}

/** The first element of a Via header value. */
export function parseTopVia(raw: string): Via {
  return parseViaElement(raw, true);
}

/** Text of one Via element. The branch/received/rport fields win over the same entries in `params`. */
export function formatVia(via: Via): string {
  let out = `${via.protocol}/${via.transport} ${via.host}`;
  if (via.port !== undefined) out += `:${via.port}`;
  const special: Record<string, string | null | undefined> = {
    branch: via.branch,
    received: via.received,
    rport: via.rport === undefined ? undefined : via.rport === true ? null : String(via.rport),
  };
  const written = new Set<string>();
  for (const [name, value] of via.params) {
    const override = special[name];
    const v = override !== undefined ? override : value;
    out += v === null ? `;${name}` : `;${name}=${v}`;
    written.add(name);
  }
  for (const name of ['branch', 'received', 'rport']) {
    if (written.has(name)) continue;
    const v = special[name];
    if (v === undefined) continue;
    out += v === null ? `;${name}` : `;${name}=${v}`;
  }
  return out;
}
