import type { B2BErrorCode } from '../util/error-codes.js';
import { PresenceB2BError } from '../util/errors.js';

/**
 * Stable codes of PidfError (`PIDF_ERR_*`, registered in src/util/error-codes.ts):
 * - `PIDF_ERR_EMPTY`     the body holds nothing but whitespace
 * - `PIDF_ERR_ENCODING`  the bytes are not UTF-8 (the only encoding read; XML 1.0 §4.3.3 makes it the default)
 * - `PIDF_ERR_XML`       not well-formed XML (or not namespace-well-formed)
 * - `PIDF_ERR_DOCTYPE`   a DOCTYPE was present: refused (XXE, entity expansion)
 * - `PIDF_ERR_NOT_PIDF`  the root element is not `{urn:ietf:params:xml:ns:pidf}presence`
 * - `PIDF_ERR_LIMIT`     size, depth or element-count limit exceeded
 * - `PIDF_ERR_INVALID`   (statusFromBody only) well-formed PIDF with invalid values; see warnings
 * - `PIDF_ERR_CONTENT_TYPE` (statusFromBody only) a body whose Content-Type is not PIDF
 * - `PIDF_ERR_ARGUMENT`  buildPidf was given an unusable value
 */
export type PidfErrorCode = Extract<B2BErrorCode, `PIDF_ERR_${string}`>;

export class PidfError extends PresenceB2BError {
  declare readonly code: PidfErrorCode;

  constructor(code: PidfErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
