/**
 * The header names seen in almost every message, spelled as most peers spell
 * them, so that the parser can recognise a name in the header block without
 * slicing and hashing a new string (and stores one shared string per name).
 */
import { headerKey } from './header-names.js';

/** Small integers for the headers the parser validates, so its dispatch is an integer switch. */
export const HEADER_ID_OTHER = 0;
export const HEADER_ID_VIA = 1;
export const HEADER_ID_CSEQ = 2;
export const HEADER_ID_FROM = 3;
export const HEADER_ID_TO = 4;
export const HEADER_ID_CALL_ID = 5;
export const HEADER_ID_CONTENT_LENGTH = 6;

const IDS: Record<string, number> = {
  via: HEADER_ID_VIA,
  cseq: HEADER_ID_CSEQ,
  from: HEADER_ID_FROM,
  to: HEADER_ID_TO,
  'call-id': HEADER_ID_CALL_ID,
  'content-length': HEADER_ID_CONTENT_LENGTH,
};

/** The id of a lookup key (see headerKey). */
export function headerIdOf(key: string): number {
  return IDS[key] ?? HEADER_ID_OTHER;
}

export interface KnownHeader {
  readonly name: string;
  readonly key: string;
  readonly id: number;
}

const COMMON = [
  'Via', 'From', 'To', 'Call-ID', 'Call-Id', 'CSeq', 'Contact', 'Max-Forwards', 'Event', 'Subscription-State',
  'Allow-Events', 'User-Agent', 'Server', 'Content-Type', 'Content-Length', 'Expires', 'Min-Expires', 'Record-Route',
  'Route', 'Allow', 'Supported', 'Require', 'Proxy-Require', 'Unsupported', 'WWW-Authenticate', 'Proxy-Authenticate',
  'Authorization', 'Proxy-Authorization', 'Accept', 'Accept-Encoding', 'Accept-Language', 'Date', 'Retry-After',
  'Warning', 'Subject', 'Timestamp', 'Organization', 'Content-Encoding', 'Content-Disposition', 'Content-Language',
  'MIME-Version', 'SIP-ETag', 'SIP-If-Match', 'Path', 'Service-Route', 'Reason', 'Session-Expires', 'Identity',
  'P-Asserted-Identity', 'Privacy', 'Refer-To', 'Referred-By', 'Replaces', 'In-Reply-To', 'Priority', 'Alert-Info',
  'Call-Info', 'Error-Info', 'Reply-To', 'Security-Client', 'Security-Server', 'Security-Verify',
  'v', 'f', 't', 'i', 'm', 'l', 'c', 'e', 'k', 's', 'o', 'u', 'r', 'x', 'y', 'b', 'j', 'd', 'a',
  'V', 'F', 'T', 'I', 'M', 'L', 'C', 'E', 'K', 'S', 'O', 'U', 'R', 'X', 'Y', 'B', 'J', 'D', 'A',
];

/** Candidates by (name length, first character): index length * 128 + charCode. */
/** The longest name in COMMON: the table is sized from the list, so no name can fall outside it. */
const MAX_LENGTH = COMMON.reduce((longest, name) => Math.max(longest, name.length), 0);
const TABLE: Array<KnownHeader[] | undefined> = new Array((MAX_LENGTH + 1) * 128).fill(undefined);
for (const name of COMMON) {
  const slot = name.length * 128 + name.charCodeAt(0);
  const key = headerKey(name);
  const list = TABLE[slot] ?? [];
  list.push({ name, key, id: headerIdOf(key) });
  TABLE[slot] = list;
}

/** The known header spelled exactly as `text[start, end)`, or undefined. */
export function knownHeader(text: string, start: number, end: number): KnownHeader | undefined {
  const length = end - start;
  if (length > MAX_LENGTH) return undefined;
  const first = text.charCodeAt(start);
  if (first >= 128) return undefined;
  const list = TABLE[length * 128 + first];
  if (list === undefined) return undefined;
  // Hand-rolled comparison: cheaper than startsWith(name, position) for names this short.
  for (let i = 0; i < list.length; i++) {
    const known = list[i]!;
    const name = known.name;
    let k = 1;
    while (k < length && text.charCodeAt(start + k) === name.charCodeAt(k)) k++;
    if (k === length) return known;
  }
  return undefined;
}
