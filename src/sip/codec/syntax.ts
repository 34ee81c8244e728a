/**
 * Low-level lexical helpers shared by the codec (RFC 3261 §25.1): character
 * classes as lookup tables, LWS skipping, quoted strings, generic parameters.
 * All scanners are single-pass over a string with no regular expressions.
 */
import { SipParseError, type SipParseErrorCode } from './parse-error.js';

export const SP = 0x20;
export const HTAB = 0x09;
export const CR = 0x0d;
export const LF = 0x0a;
export const DQUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const SEMI = 0x3b;
export const EQUAL = 0x3d;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const SLASH = 0x2f;
export const LAQUOT = 0x3c;
export const RAQUOT = 0x3e;

/** RFC 3261 §25.1 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" */
const TOKEN = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;
for (const ch of "-.!%*_+`'~") TOKEN[ch.charCodeAt(0)] = 1;

export function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

/** True when `text` is a non-empty token. */
export function isToken(text: string): boolean {
  const n = text.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) if (!isTokenChar(text.charCodeAt(i))) return false;
  return true;
}

/**
 * Characters ending an unquoted generic-param value (gen-value = token / host /
 * quoted-string, RFC 3261 §25.1). We accept anything else, so hosts (`[::1]`,
 * `a.b:5060`) and odd but harmless octets pass.
 */
const VALUE_STOP = new Uint8Array(128);
for (let c = 0; c <= 0x20; c++) VALUE_STOP[c] = 1;
for (const ch of ';,"<>=') VALUE_STOP[ch.charCodeAt(0)] = 1;
VALUE_STOP[0x7f] = 1;

function isValueChar(c: number): boolean {
  return c >= 128 || VALUE_STOP[c] === 0;
}

export function isWs(c: number): boolean {
  return c === SP || c === HTAB || c === CR || c === LF;
}

/** Index of the first non-LWS character at or after `i`. */
export function skipWs(text: string, i: number): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c !== SP && c !== HTAB && c !== CR && c !== LF) break;
    i++;
  }
  return i;
}

/** `text` without leading and trailing LWS (cheaper than trim() when nothing to cut). */
export function trimWs(text: string): string {
  let s = 0;
  let e = text.length;
  while (s < e && isWs(text.charCodeAt(s))) s++;
  while (e > s && isWs(text.charCodeAt(e - 1))) e--;
  return s === 0 && e === text.length ? text : text.slice(s, e);
}

/**
 * Given `text[start] === '"'`, the index just after the closing quote, or -1
 * when unterminated. A backslash escapes the next character (quoted-pair,
 * RFC 3261 §25.1).
 */
export function scanQuoted(text: string, start: number): number {
  const n = text.length;
  for (let i = start + 1; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === DQUOTE) return i + 1;
  }
  return -1;
}

/** The content of a quoted string between `start` and `end` (exclusive), escapes resolved. */
export function unescapeQuoted(text: string, start: number, end: number): string {
  const bs = text.indexOf('\\', start);
  if (bs < 0 || bs >= end) return text.slice(start, end);
  let out = '';
  let from = start;
  for (let i = bs; i < end; i++) {
    if (text.charCodeAt(i) === BACKSLASH && i + 1 < end) {
      out += text.slice(from, i);
      from = i + 1;
      i++;
    }
  }
  return out + text.slice(from, end);
}

/** Quotes `value` as a quoted-string, escaping `"` and `\` (RFC 3261 §25.1). */
export function quote(value: string): string {
  let out = '"';
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === DQUOTE || c === BACKSLASH) {
      out += value.slice(from, i) + '\\';
      from = i;
    }
  }
  return out + value.slice(from) + '"';
}

/** If `value` is a quoted string, its content with escapes resolved; otherwise `value`. */
export function unquote(value: string): string {
  const n = value.length;
  if (n >= 2 && value.charCodeAt(0) === DQUOTE && value.charCodeAt(n - 1) === DQUOTE) {
    return unescapeQuoted(value, 1, n - 1);
  }
  return value;
}

/**
 * Parses `*( SEMI generic-param )` starting at `i` into `out` (names
 * lower-cased, RFC 3261 §7.3.1; values as written, quotes kept unless
 * `unquoteValues`). Returns the index of the first character that is not part
 * of the parameters (after LWS): the end of text, a comma, or something the
 * caller must judge. A repeated name keeps its first value.
 */
export function parseParams(
  text: string,
  i: number,
  out: Map<string, string | null>,
  code: SipParseErrorCode,
  header: string,
  unquoteValues = false,
): number {
  const n = text.length;
  for (;;) {
    i = skipWs(text, i);
    if (i >= n || text.charCodeAt(i) !== SEMI) return i;
    i = skipWs(text, i + 1);
    const nameStart = i;
    while (i < n && isTokenChar(text.charCodeAt(i))) i++;
    if (i === nameStart) throw new SipParseError(code, `Bad ${header}: empty parameter`, { header: header.toLowerCase() });
    const name = knownLowerToken(text, nameStart, i, COMMON_PARAMS);
    let value: string | null = null;
    const afterName = skipWs(text, i);
    if (afterName < n && text.charCodeAt(afterName) === EQUAL) {
      i = skipWs(text, afterName + 1);
      if (i < n && text.charCodeAt(i) === DQUOTE) {
        const end = scanQuoted(text, i);
        if (end < 0) throw new SipParseError(code, `Bad ${header}: unterminated quoted string`, { header: header.toLowerCase() });
        value = unquoteValues ? unescapeQuoted(text, i + 1, end - 1) : text.slice(i, end);
        i = end;
      } else {
        const valueStart = i;
        while (i < n && isValueChar(text.charCodeAt(i))) i++;
        if (i === valueStart) {
          throw new SipParseError(code, `Bad ${header}: parameter ${name} without value`, { header: header.toLowerCase() });
        }
        value = text.slice(valueStart, i);
      }
    }
    if (out.size === 0 || !out.has(name)) out.set(name, value);
  }
}

/**
 * The parameters of a header value that has none (most Event, Content-Type
 * and Contact values): one shared empty Map instead of a new one (≈190 bytes)
 * per parsed header. Parsed header values are read, not edited, so it is made
 * read-only: set, delete and clear throw SipParseError SIP_ERR_PARSE_SHARED_PARAMS.
 */
const NO_PARAMS: Map<string, string | null> = readOnlyEmptyMap();

function readOnlyEmptyMap(): Map<string, string | null> {
  const map = new Map<string, string | null>();
  const refuse = (): never => {
    throw new SipParseError('SIP_ERR_PARSE_SHARED_PARAMS', 'the parameters of a header value without parameters are shared and cannot be changed; copy them first (new Map(params))');
  };
  for (const name of ['set', 'delete', 'clear']) Object.defineProperty(map, name, { value: refuse, enumerable: false });
  return Object.freeze(map);
}

/** A Map for the parameters that start at `i` (after LWS), or NO_PARAMS when no ';' starts one there. */
export function paramsMapFor(text: string, i: number): Map<string, string | null> {
  i = skipWs(text, i);
  return i < text.length && text.charCodeAt(i) === SEMI ? new Map() : NO_PARAMS;
}

/** Parameter names common enough to be worth recognising without slicing a new string. */
const COMMON_PARAMS = ['tag', 'branch', 'rport', 'received', 'expires', 'lr', 'transport', 'q', 'id', 'reason', 'maddr'];

/**
 * delta-seconds (RFC 3261 §25.1) as a number; values above 2**32-1 are taken as
 * 2**32-1 (RFC 3261 §20.19 asks to tolerate large values). Anything else, even
 * an empty string, gives undefined.
 */
export function parseDeltaSeconds(text: string): number | undefined {
  const n = text.length;
  if (n === 0) return undefined;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  return Math.min(v, 0xffffffff);
}

/** Reads a run of digits at `i`; returns [value, end] or undefined if no digit there. Capped at 2**53. */
export function readDigits(text: string, i: number): [number, number] | undefined {
  const n = text.length;
  const start = i;
  let v = 0;
  while (i < n) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) break;
    if (v < 1e15) v = v * 10 + d;
    else v = Number.MAX_SAFE_INTEGER;
    i++;
  }
  return i === start ? undefined : [v, i];
}

/**
 * The lower-cased token at text[start, end): the entry of `known` (lower-case
 * constants) when it is spelled so, without slicing a new string, else a new
 * lower-cased string. For values that come in nearly every message (event
 * packages, media types, subscription states).
 */
export function knownLowerToken(text: string, start: number, end: number, known: ReadonlyArray<string>): string {
  const length = end - start;
  for (let k = 0; k < known.length; k++) {
    const candidate = known[k]!;
    if (candidate.length === length && text.startsWith(candidate, start)) return candidate;
  }
  return lowerAscii(text.slice(start, end));
}

/** Lower-cases ASCII only when needed (most protocol text already is). */
export function lowerAscii(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return text.toLowerCase();
  }
  return text;
}
