/**
 * SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966); other schemes are kept
 * opaque (RFC 3261 §19.1: a UA must accept any URI scheme it can pass on).
 */
import { SipParseError } from './parse-error.js';
import { lowerAscii } from './syntax.js';

export interface SipUri {
  scheme: 'sip' | 'sips';
  /** As written, %-escapes kept (user names are case-sensitive, RFC 3261 §19.1.4). */
  user?: string;
  password?: string;
  /** Lower-cased (RFC 3261 §19.1.4); an IPv6 reference keeps its brackets. */
  host: string;
  port?: number;
  /** uri-parameters in order; names lower-cased, values as written; `null` = no value (`;lr`). */
  params: Map<string, string | null>;
  /** headers (`?name=value&…`) as written. */
  headers: Map<string, string>;
}

export interface TelUri {
  scheme: 'tel';
  /** The global or local number as written (RFC 3966 §3). */
  number: string;
  params: Map<string, string | null>;
}

/** A URI of a scheme we do not interpret: `value` is everything after the colon. */
export interface OpaqueUri {
  scheme: string;
  value: string;
}

export type Uri = SipUri | TelUri | OpaqueUri;

export function isSipUri(uri: Uri): uri is SipUri {
  return uri.scheme === 'sip' || uri.scheme === 'sips';
}

export function isTelUri(uri: Uri): uri is TelUri {
  return uri.scheme === 'tel';
}

function uriError(text: string, why: string): SipParseError {
  const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return new SipParseError('SIP_ERR_PARSE_URI', `Bad URI (${why}): ${shown}`);
}

/**
 * The length of a valid scheme at the start of `text` followed by ':' —
 * scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3261 §25.1) — or -1.
 * With `start` and `end`, of the URI written there in `text`: the index of its ':' in `text`.
 */
export function schemeLength(text: string, start = 0, end = text.length): number {
  if (end <= start) return -1;
  const c0 = text.charCodeAt(start) | 0x20;
  if (c0 < 0x61 || c0 > 0x7a) return -1;
  for (let i = start + 1; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a) return i;
    const l = c | 0x20;
    if (!((l >= 0x61 && l <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)) return -1;
  }
  return -1;
}

/** Characters never allowed unescaped anywhere in a URI we accept: controls, space, <, >, ", DEL. */
function hasForbidden(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c === 0x3c || c === 0x3e || c === 0x22 || c === 0x7f) return true;
  }
  return false;
}

/** Parses any URI; throws SipParseError(SIP_ERR_PARSE_URI). */
export function parseUri(text: string): Uri {
  const colon = schemeLength(text);
  if (colon < 0) throw uriError(text, 'no scheme');
  const scheme = lowerAscii(text.slice(0, colon));
  if (scheme === 'sip' || scheme === 'sips') return parseSipRest(text, scheme, colon + 1);
  if (hasForbidden(text, colon + 1)) throw uriError(text, 'forbidden character');
  if (colon + 1 >= text.length) throw uriError(text, 'empty');
  if (scheme === 'tel') {
    const semi = text.indexOf(';', colon + 1);
    const number = semi < 0 ? text.slice(colon + 1) : text.slice(colon + 1, semi);
    if (number.length === 0) throw uriError(text, 'empty number');
    const params = new Map<string, string | null>();
    if (semi >= 0) parseUriParams(text, semi, text.length, params);
    return { scheme: 'tel', number, params };
  }
  return { scheme, value: text.slice(colon + 1) };
}

/** Parses a sip: or sips: URI; anything else throws SipParseError(SIP_ERR_PARSE_URI). */
export function parseSipUri(text: string): SipUri {
  const colon = schemeLength(text);
  if (colon < 0) throw uriError(text, 'no scheme');
  const scheme = lowerAscii(text.slice(0, colon));
  if (scheme !== 'sip' && scheme !== 'sips') throw uriError(text, 'not a sip or sips URI');
  return parseSipRest(text, scheme, colon + 1);
}

function parseSipRest(text: string, scheme: 'sip' | 'sips', start: number): SipUri {
  const n = text.length;
  if (hasForbidden(text, start)) throw uriError(text, 'forbidden character');
  // userinfo ends at the first '@': no unescaped '@' may appear in user,
  // password, uri-parameters or headers (RFC 3261 §25.1), while user may hold
  // ';', '?', '/', ',' (RFC 4475 §3.1.1.2, §3.1.1.9).
  const at = text.indexOf('@', start);
  let user: string | undefined;
  let password: string | undefined;
  let i = start;
  if (at >= 0) {
    const pw = text.indexOf(':', start);
    if (pw >= 0 && pw < at) {
      user = text.slice(start, pw);
      password = text.slice(pw + 1, at);
    } else {
      user = text.slice(start, at);
    }
    if (user.length === 0) throw uriError(text, 'empty user');
    i = at + 1;
  }
  // hostport
  let hostEnd: number;
  if (i < n && text.charCodeAt(i) === 0x5b /* [ */) {
    const close = text.indexOf(']', i);
    if (close < 0) throw uriError(text, 'unterminated IPv6 reference');
    hostEnd = close + 1;
    for (let k = i + 1; k < close; k++) {
      const c = text.charCodeAt(k) | 0x20;
      if (!((c >= 0x30 && c <= 0x3a) || (c >= 0x61 && c <= 0x66) || c === 0x2e)) throw uriError(text, 'bad IPv6 reference');
    }
  } else {
    hostEnd = i;
    while (hostEnd < n) {
      const c = text.charCodeAt(hostEnd);
      const l = c | 0x20;
      if ((l >= 0x61 && l <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f) hostEnd++;
      else break;
    }
  }
  if (hostEnd === i) throw uriError(text, 'empty host');
  const host = lowerAscii(text.slice(i, hostEnd));
  i = hostEnd;
  let port: number | undefined;
  if (i < n && text.charCodeAt(i) === 0x3a) {
    i++;
    const portStart = i;
    let v = 0;
    while (i < n) {
      const d = text.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      i++;
    }
    if (i === portStart || i - portStart > 5 || v > 65535) throw uriError(text, 'bad port');
    port = v;
  }
  const params = new Map<string, string | null>();
  const headers = new Map<string, string>();
  const q = text.indexOf('?', i);
  const paramsEnd = q < 0 ? n : q;
  if (i < paramsEnd) {
    if (text.charCodeAt(i) !== 0x3b) throw uriError(text, 'bad host');
    parseUriParams(text, i, paramsEnd, params);
  }
  if (q >= 0) parseUriHeaders(text, q + 1, n, headers);
  const uri: SipUri = { scheme, host, params, headers };
  if (user !== undefined) uri.user = user;
  if (password !== undefined) uri.password = password;
  if (port !== undefined) uri.port = port;
  return uri;
}

/** `;name[=value]` pairs from `i` (at a ';') to `end`. Names lower-cased (RFC 3261 §19.1.4). */
function parseUriParams(text: string, i: number, end: number, out: Map<string, string | null>): void {
  while (i < end) {
    // here text[i] === ';'
    let next = text.indexOf(';', i + 1);
    if (next < 0 || next > end) next = end;
    const eq = text.indexOf('=', i + 1);
    let name: string;
    let value: string | null = null;
    if (eq >= 0 && eq < next) {
      name = text.slice(i + 1, eq);
      value = text.slice(eq + 1, next);
    } else {
      name = text.slice(i + 1, next);
    }
    if (name.length === 0) throw uriError(text, 'empty parameter');
    name = lowerAscii(name);
    if (!out.has(name)) out.set(name, value);
    i = next;
  }
}

function parseUriHeaders(text: string, i: number, end: number, out: Map<string, string>): void {
  while (i < end) {
    let next = text.indexOf('&', i);
    if (next < 0 || next > end) next = end;
    const eq = text.indexOf('=', i);
    if (eq < 0 || eq >= next) throw uriError(text, 'header without value');
    const name = text.slice(i, eq);
    if (name.length === 0) throw uriError(text, 'empty header name');
    if (!out.has(name)) out.set(name, text.slice(eq + 1, next));
    i = next + 1;
  }
}

function formatParams(params: Map<string, string | null>): string {
  let out = '';
  for (const [name, value] of params) out += value === null ? `;${name}` : `;${name}=${value}`;
  return out;
}

/** The text form of a URI (inverse of parseUri). */
export function formatUri(uri: Uri): string {
  if (isSipUri(uri)) {
    let out = `${uri.scheme}:`;
    if (uri.user !== undefined) out += uri.password !== undefined ? `${uri.user}:${uri.password}@` : `${uri.user}@`;
    out += uri.host;
    if (uri.port !== undefined) out += `:${uri.port}`;
    out += formatParams(uri.params);
    let sep = '?';
    for (const [name, value] of uri.headers) {
      out += `${sep}${name}=${value}`;
      sep = '&';
    }
    return out;
  }
  if (isTelUri(uri)) return `tel:${uri.number}${formatParams(uri.params)}`;
  return `${uri.scheme}:${(uri as OpaqueUri).value}`;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** Resolves %HH escapes (RFC 3261 §19.1.4: escaped and unescaped forms are equivalent). */
export function unescapeUriPart(text: string): string {
  if (text.indexOf('%') < 0) return text;
  let out = '';
  let from = 0;
  for (let i = 0; i + 2 < text.length; i++) {
    if (text.charCodeAt(i) !== 0x25) continue;
    const hi = hexValue(text.charCodeAt(i + 1));
    const lo = hexValue(text.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) continue;
    out += text.slice(from, i) + String.fromCharCode(hi * 16 + lo);
    from = i + 3;
    i += 2;
  }
  return out + text.slice(from);
}

/** URI parameters that, when present in only one of two SIP URIs, make them differ (RFC 3261 §19.1.4). */
const MUST_MATCH_PARAMS = ['user', 'ttl', 'method', 'maddr', 'transport'] as const;

function paramValueEquals(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  return unescapeUriPart(a).toLowerCase() === unescapeUriPart(b).toLowerCase();
}

/** Equality of two URIs by the rules of RFC 3261 §19.1.4 (and RFC 3966 §4 for tel). */
export function uriEquals(a: Uri, b: Uri): boolean {
  if (a.scheme !== b.scheme) return false;
  if (isSipUri(a) && isSipUri(b)) {
    if ((a.user === undefined) !== (b.user === undefined)) return false;
    if (a.user !== undefined && unescapeUriPart(a.user) !== unescapeUriPart(b.user ?? '')) return false;
    if ((a.password === undefined) !== (b.password === undefined)) return false;
    if (a.password !== undefined && unescapeUriPart(a.password) !== unescapeUriPart(b.password ?? '')) return false;
    if (a.host !== b.host) return false;
    if (a.port !== b.port) return false;
    for (const name of MUST_MATCH_PARAMS) {
      const inA = a.params.has(name);
      if (inA !== b.params.has(name)) return false;
    }
    for (const [name, value] of a.params) {
      if (!b.params.has(name)) continue;
      if (!paramValueEquals(value, b.params.get(name) ?? null)) return false;
    }
    // Header components are never ignored (RFC 3261 §19.1.4); header names compare without case.
    const aHeaders = comparableHeaders(a.headers);
    const bHeaders = comparableHeaders(b.headers);
    if (aHeaders.size !== bHeaders.size) return false;
    for (const [name, value] of aHeaders) {
      if (bHeaders.get(name) !== value) return false;
    }
    return true;
  }
  if (isTelUri(a) && isTelUri(b)) {
    // RFC 3966 §4: visual separators are ignored, parameters compared case-insensitively.
    if (stripVisual(a.number) !== stripVisual(b.number)) return false;
    if (a.params.size !== b.params.size) return false;
    for (const [name, value] of a.params) {
      if (!b.params.has(name) || !paramValueEquals(value, b.params.get(name) ?? null)) return false;
    }
    return true;
  }
  return (a as OpaqueUri).value === (b as OpaqueUri).value;
}

/**
 * Header names lower-cased, values unescaped; of names differing only in case
 * the first counts, as the parser keeps the first of a repeated name. Both
 * sides folded alike, so that a URI always equals itself.
 */
function comparableHeaders(headers: Map<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    if (!out.has(key)) out.set(key, unescapeUriPart(value));
  }
  return out;
}

function stripVisual(number: string): string {
  let out = '';
  for (let i = 0; i < number.length; i++) {
    const c = number[i]!;
    if (c !== '-' && c !== '.' && c !== '(' && c !== ')') out += c;
  }
  return out.toLowerCase();
}
