import { parseSipUri } from '../sip/codec/uri.js';

/** What a request field (or a CLI argument) that must be a SIP URI says when it is not one. */
export const SIP_URI_EXPECTED = 'expected a SIP URI such as sip:alice@example.com';

/** A `sip:` or `sips:` URI that our parser reads (RFC 3261 §19.1), at most 1024 characters. */
export function isSipUriText(text: string): boolean {
  if (!/^sips?:/i.test(text) || text.length > 1024) return false;
  try {
    parseSipUri(text);
    return true;
  } catch {
    // Not a URI: the caller answers with SIP_URI_EXPECTED.
    return false;
  }
}
