/**
 * WWW-Authenticate / Proxy-Authenticate challenges and Authorization /
 * Proxy-Authorization credentials (RFC 3261 §20.44, §20.27, §22.4; RFC 2617 §3.2).
 */
import type { SipMessage } from './message.js';
import { SipParseError } from './parse-error.js';
import { COMMA, DQUOTE, EQUAL, isTokenChar, quote, scanQuoted, skipWs, unescapeQuoted } from './syntax.js';

export interface Challenge {
  /** As written, e.g. 'Digest' (compare case-insensitively). */
  scheme: string;
  /** All auth-params; names lower-cased, values unquoted. */
  params: Map<string, string>;
  realm?: string;
  nonce?: string;
  opaque?: string;
  algorithm?: string;
  /** qop-options split at commas, lower-cased (e.g. ['auth', 'auth-int']). */
  qop?: string[];
  stale?: boolean;
}

function bad(why: string): SipParseError {
  return new SipParseError('SIP_ERR_PARSE_AUTH', `Bad challenge: ${why}`, { header: 'www-authenticate' });
}

/** `scheme LWS auth-param *(COMMA auth-param)` → scheme and params (names lower-cased, values unquoted). */
function parseSchemeAndParams(value: string): { scheme: string; params: Map<string, string> } {
  const n = value.length;
  let i = skipWs(value, 0);
  let s = i;
  while (i < n && isTokenChar(value.charCodeAt(i))) i++;
  if (i === s) throw bad('missing scheme');
  const scheme = value.slice(s, i);
  const params = new Map<string, string>();
  i = skipWs(value, i);
  while (i < n) {
    s = i;
    while (i < n && isTokenChar(value.charCodeAt(i))) i++;
    if (i === s) throw bad('missing parameter name');
    const name = value.slice(s, i).toLowerCase();
    i = skipWs(value, i);
    if (value.charCodeAt(i) !== EQUAL) throw bad(`parameter ${name} without value`);
    i = skipWs(value, i + 1);
    let v: string;
    if (value.charCodeAt(i) === DQUOTE) {
      const end = scanQuoted(value, i);
      if (end < 0) throw bad('unterminated quoted string');
      v = unescapeQuoted(value, i + 1, end - 1);
      i = end;
    } else {
      s = i;
      while (i < n) {
        const c = value.charCodeAt(i);
        if (c === COMMA || c === 0x20 || c === 0x09) break;
        i++;
      }
      if (i === s) throw bad(`parameter ${name} without value`);
      v = value.slice(s, i);
    }
    if (!params.has(name)) params.set(name, v);
    i = skipWs(value, i);
    if (i < n) {
      if (value.charCodeAt(i) !== COMMA) throw bad('expected comma');
      i = skipWs(value, i + 1);
    }
  }
  return { scheme, params };
}

/** Parses one challenge. Throws SipParseError(SIP_ERR_PARSE_AUTH). */
export function parseChallenge(value: string): Challenge {
  const { scheme, params } = parseSchemeAndParams(value);
  const challenge: Challenge = { scheme, params };
  const realm = params.get('realm');
  if (realm !== undefined) challenge.realm = realm;
  const nonce = params.get('nonce');
  if (nonce !== undefined) challenge.nonce = nonce;
  const opaque = params.get('opaque');
  if (opaque !== undefined) challenge.opaque = opaque;
  const algorithm = params.get('algorithm');
  if (algorithm !== undefined) challenge.algorithm = algorithm;
  const qop = params.get('qop');
  if (qop !== undefined) {
    challenge.qop = qop
      .split(',')
      .map((q) => q.trim().toLowerCase())
      .filter((q) => q.length > 0);
  }
  const stale = params.get('stale');
  if (stale !== undefined) challenge.stale = stale.toLowerCase() === 'true';
  return challenge;
}

/** Every challenge of the header (one per line), in order. Throws SipParseError on a bad one. */
export function challengesOf(message: SipMessage, name: 'www-authenticate' | 'proxy-authenticate'): Challenge[] {
  return message.headers.getAll(name).map(parseChallenge);
}

export interface Credentials {
  scheme: string;
  params: Map<string, string>;
}

/** Parses an Authorization / Proxy-Authorization value. Throws SipParseError(SIP_ERR_PARSE_AUTH). */
export function parseCredentials(value: string): Credentials {
  return parseSchemeAndParams(value);
}

export interface CredentialsInit {
  scheme: string;
  /** [name, value, quoted]: RFC 2617 quotes username, realm, nonce, uri, response, cnonce, opaque, not algorithm, qop, nc. */
  params: Array<readonly [string, string, boolean]>;
}

/** `Digest username="…", realm="…", …` for an Authorization / Proxy-Authorization header. */
export function formatCredentials(credentials: CredentialsInit): string {
  let out = credentials.scheme;
  let sep = ' ';
  for (const [name, value, quoted] of credentials.params) {
    out += `${sep}${name}=${quoted ? quote(value) : value}`;
    sep = ', ';
  }
  return out;
}
