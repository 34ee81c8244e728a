import { PresenceB2BError } from '../util/errors.js';

/**
 * Stable codes of MultipartError:
 * - `MULTIPART_ERR_CONTENT_TYPE` the Content-Type is not a parsable `multipart/*` media type
 * - `MULTIPART_ERR_BOUNDARY`     no usable `boundary` parameter, no delimiter line in the body, or no close
 *                                delimiter (a truncated body) (RFC 2046 §5.1.1)
 * - `MULTIPART_ERR_EMPTY`        a multipart body without any body part
 * - `MULTIPART_ERR_HEADER`       a malformed header line in a body part, or a part Content-Type that cannot be parsed
 * - `MULTIPART_ERR_ENCODING`     a Content-Transfer-Encoding other than 7bit, 8bit or binary (RFC 2045 §6;
 *                                SIP bodies are binary, RFC 3261 §7.4)
 * - `MULTIPART_ERR_CONTENT_ID`   two parts with the same Content-ID (RFC 2387 §3.2 wants them unique)
 * - `MULTIPART_ERR_START`        the `start` parameter of multipart/related names no part (RFC 2387 §3.2)
 * - `MULTIPART_ERR_LIMIT`        body size, part count, nesting depth or header section size over its limit
 * - `MULTIPART_ERR_ARGUMENT`     buildMultipartRelated was given an unusable value
 */
export type MultipartErrorCode =
  | 'MULTIPART_ERR_CONTENT_TYPE'
  | 'MULTIPART_ERR_BOUNDARY'
  | 'MULTIPART_ERR_EMPTY'
  | 'MULTIPART_ERR_HEADER'
  | 'MULTIPART_ERR_ENCODING'
  | 'MULTIPART_ERR_CONTENT_ID'
  | 'MULTIPART_ERR_START'
  | 'MULTIPART_ERR_LIMIT'
  | 'MULTIPART_ERR_ARGUMENT';

export class MultipartError extends PresenceB2BError {
  declare readonly code: MultipartErrorCode;

  constructor(code: MultipartErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
