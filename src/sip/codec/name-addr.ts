/**
 * name-addr / addr-spec with header parameters, as in From, To, Contact,
 * Route, Record-Route, Refer-To (RFC 3261 §20.10, §25.1).
 */
import { ownString } from '../../util/copy-string.js';
import { SipParseError } from './parse-error.js';
import { schemeLength } from './uri.js';
import { DQUOTE, LAQUOT, isTokenChar, paramsMapFor, parseParams, quote, scanQuoted, skipWs, unescapeQuoted } from './syntax.js';

export interface NameAddr {
  /** Display name, unquoted, escapes resolved; undefined when absent or empty. */
  displayName?: string;
  /** The URI text: what is inside `<…>`, or the bare addr-spec. Parse it with parseUri(). */
  uri: string;
  /**
   * Header parameters (after `>` or, for a bare addr-spec, after the first ';',
   * RFC 3261 §20.10), names lower-cased, values as written (quotes kept);
   * `null` = no value. URI parameters such as `lr` stay inside `uri`.
   */
  params: Map<string, string | null>;
}

function nameAddrError(why: string, header: string): SipParseError {
  return new SipParseError('SIP_ERR_PARSE_NAME_ADDR', `Bad ${header}: ${why}`, { header });
}

/** True for characters that may not appear unescaped inside a URI. */
function badUriChar(c: number): boolean {
  return c <= 0x20 || c === 0x3c || c === 0x3e || c === 0x22 || c === 0x7f;
}

function checkUri(uri: string, header: string): void {
  const colon = schemeLength(uri);
  if (colon < 0) throw nameAddrError('URI without scheme', header);
  for (let i = colon + 1; i < uri.length; i++) if (badUriChar(uri.charCodeAt(i))) throw nameAddrError('bad character in URI', header);
}

/**
 * Parses one name-addr or addr-spec followed by header parameters. `header`
 * only names the header in error messages. Throws SipParseError
 * (SIP_ERR_PARSE_NAME_ADDR).
 */
export function parseNameAddr(text: string, header = 'name-addr'): NameAddr {
  return parseNameAddrWithTag(text, header, false);
}

/**
 * parseNameAddr for From and To: the result also carries `tag` (given its own
 * storage, since tags key dialog state). Objects are built with all their
 * properties at once (absent ones undefined) so that they share one shape.
 */
export function parseTaggedNameAddr(text: string, header: string): NameAddr & { tag?: string } {
  return parseNameAddrWithTag(text, header, true);
}

function parseNameAddrWithTag(text: string, header: string, withTag: boolean): NameAddr & { tag?: string } {
  const n = text.length;
  let i = skipWs(text, 0);
  if (i >= n) throw nameAddrError('empty value', header);
  let displayName: string | undefined;
  let uri: string;
  let lt = -1;
  if (text.charCodeAt(i) === DQUOTE) {
    const end = scanQuoted(text, i);
    if (end < 0) throw nameAddrError('unterminated quoted string', header);
    displayName = unescapeQuoted(text, i + 1, end - 1);
    lt = skipWs(text, end);
    if (lt >= n || text.charCodeAt(lt) !== LAQUOT) throw nameAddrError('expected < after display name', header);
  } else {
    // A display name made of tokens and LWS may precede '<' (RFC 3261 §25.1);
    // it cannot hold ':' or ';', which tells it apart from an addr-spec.
    for (let k = i; k < n; k++) {
      const c = text.charCodeAt(k);
      if (c === LAQUOT) {
        lt = k;
        break;
      }
      if (c === 0x3a || c === 0x3b || c === DQUOTE) break;
    }
    if (lt >= 0) {
      let e = lt;
      while (e > i && (text.charCodeAt(e - 1) === 0x20 || text.charCodeAt(e - 1) === 0x09)) e--;
      if (e > i) displayName = text.slice(i, e);
    }
  }
  if (lt >= 0) {
    const gt = text.indexOf('>', lt + 1);
    if (gt < 0) throw nameAddrError('missing >', header);
    let s = skipWs(text, lt + 1);
    let e = gt;
    while (e > s && (text.charCodeAt(e - 1) === 0x20 || text.charCodeAt(e - 1) === 0x09)) e--;
    uri = text.slice(s, e);
    i = gt + 1;
    s = 0;
  } else {
    // addr-spec: parameters after the first ';' belong to the header (RFC 3261 §20.10).
    const start = i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x3b || c === 0x20 || c === 0x09 || c === 0x2c) break;
      i++;
    }
    uri = text.slice(start, i);
  }
  checkUri(uri, header);
  const params = paramsMapFor(text, i);
  i = parseParams(text, i, params, 'SIP_ERR_PARSE_NAME_ADDR', header);
  if (i < n) throw nameAddrError(`unexpected character ${JSON.stringify(text[i])}`, header);
  if (displayName !== undefined && displayName.length === 0) displayName = undefined;
  if (withTag) {
    const tag = params.get('tag');
    return { displayName, uri, params, tag: tag ? ownString(tag) : undefined };
  }
  return { displayName, uri, params };
}

function isTokenRun(text: string): boolean {
  // display-name = *(token LWS): tokens separated by single spaces
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!isTokenChar(c) && c !== 0x20) return false;
  }
  return text.charCodeAt(0) !== 0x20 && text.charCodeAt(text.length - 1) !== 0x20;
}

/** `"Display" <uri>;param=value` — always with angle brackets (RFC 3261 §20.10). */
export function formatNameAddr(nameAddr: NameAddr): string {
  let out = '';
  const dn = nameAddr.displayName;
  if (dn !== undefined && dn.length > 0) out += `${isTokenRun(dn) ? dn : quote(dn)} `;
  out += `<${nameAddr.uri}>`;
  for (const [name, value] of nameAddr.params) out += value === null ? `;${name}` : `;${name}=${value}`;
  return out;
}
