import type { B2BErrorCode } from '../../util/error-codes.js';
import { PresenceB2BError } from '../../util/errors.js';

/**
 * A SIP message (or one of its header values) that cannot be parsed.
 *
 * `message` names the problem in a few words so that a server can use it as
 * the reason phrase of its 400 (RFC 3261 §8.2.2, §21.4.1).
 *
 * Stable codes (never change meaning):
 * - SIP_ERR_PARSE_START_LINE      bad Request-Line / Status-Line: element count, method token,
 *                                 Request-URI syntax, SIP-Version other than SIP/2.0,
 *                                 status code outside 100..699 (RFC 3261 §7.1, §7.2, §25.1)
 * - SIP_ERR_PARSE_HEADER          a header line without colon or with a bad name, no empty line
 *                                 after the headers, multiple values of a single-valued header,
 *                                 a bad Retry-After (RFC 3261 §7.3, §20)
 * - SIP_ERR_PARSE_MISSING_HEADER  Via, From, To, Call-ID or CSeq missing (RFC 3261 §8.1.1)
 * - SIP_ERR_PARSE_CONTENT_LENGTH  Content-Length not a number, repeated, larger than the octets
 *                                 available, or missing on a stream (RFC 3261 §18.3, §20.14)
 * - SIP_ERR_PARSE_LIMIT           message size, header count or line length over the configured limit
 * - SIP_ERR_PARSE_URI             bad URI (RFC 3261 §19.1, RFC 3966)
 * - SIP_ERR_PARSE_NAME_ADDR       bad name-addr / addr-spec or its parameters (From, To, Contact, Route)
 *                                 (RFC 3261 §20.10)
 * - SIP_ERR_PARSE_VIA             bad Via (RFC 3261 §20.42)
 * - SIP_ERR_PARSE_CSEQ            bad CSeq, number ≥ 2**31, or method differing from the Request-Line
 *                                 (RFC 3261 §8.1.1.5, §20.16)
 * - SIP_ERR_PARSE_EVENT           bad Event header (RFC 6665 §8.2.1)
 * - SIP_ERR_PARSE_SUBSCRIPTION_STATE  bad Subscription-State header (RFC 6665 §8.2.3)
 * - SIP_ERR_PARSE_CONTENT_TYPE    bad Content-Type (RFC 3261 §20.15)
 * - SIP_ERR_PARSE_AUTH            bad WWW-Authenticate / Proxy-Authenticate challenge (RFC 3261 §22, RFC 2617)
 * - SIP_ERR_PARSE_FRAMER_CLOSED   a SipStreamFramer was fed after a framing error (the connection must close)
 * - SIP_ERR_PARSE_SHARED_PARAMS   a change to the shared empty `params` of a parsed header value without parameters
 */
export class SipParseError extends PresenceB2BError {
  declare readonly code: SipParseErrorCode;
  /** The lower-case long name of the header at fault, when one is. */
  readonly header: string | undefined;

  constructor(code: SipParseErrorCode, message: string, options?: { header?: string; cause?: unknown }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.header = options?.header;
  }
}

/** Stable codes of SipParseError (`SIP_ERR_PARSE_*`, registered in src/util/error-codes.ts). */
export type SipParseErrorCode = Extract<B2BErrorCode, `SIP_ERR_PARSE_${string}`>;

export function isSipParseError(error: unknown): error is SipParseError {
  return error instanceof SipParseError;
}
