import { PresenceB2BError } from '../util/errors.js';

/**
 * Stable codes of RegInfoError:
 * - `REGINFO_ERR_EMPTY`       the body holds nothing but white space
 * - `REGINFO_ERR_ENCODING`    the bytes are not UTF-8
 * - `REGINFO_ERR_XML`         not well-formed XML (or not namespace-well-formed)
 * - `REGINFO_ERR_DOCTYPE`     a DOCTYPE was present: refused (XXE, entity expansion)
 * - `REGINFO_ERR_NOT_REGINFO` the root element is not `{urn:ietf:params:xml:ns:reginfo}reginfo`
 * - `REGINFO_ERR_LIMIT`       size, depth or element-count limit exceeded
 * - `REGINFO_ERR_INVALID`     a value the document cannot be used without is missing or invalid
 *                             (version, state, a registration's aor/id/state, a contact's id/state/uri)
 * - `REGINFO_ERR_VERSION`     (RegInfoView) a document refused for its version: a partial document
 *                             after a gap, not newer, or before any full state (then `resync`), or a
 *                             full-state document older than the state held (discarded)
 */
export type RegInfoErrorCode =
  | 'REGINFO_ERR_EMPTY'
  | 'REGINFO_ERR_ENCODING'
  | 'REGINFO_ERR_XML'
  | 'REGINFO_ERR_DOCTYPE'
  | 'REGINFO_ERR_NOT_REGINFO'
  | 'REGINFO_ERR_LIMIT'
  | 'REGINFO_ERR_INVALID'
  | 'REGINFO_ERR_VERSION';

export class RegInfoError extends PresenceB2BError {
  declare readonly code: RegInfoErrorCode;

  constructor(code: RegInfoErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
