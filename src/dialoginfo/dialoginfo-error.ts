import { PresenceB2BError } from '../util/errors.js';

/**
 * Stable codes of DialogInfoError:
 * - `DIALOGINFO_ERR_EMPTY`           the body holds nothing but white space
 * - `DIALOGINFO_ERR_ENCODING`        the bytes are not UTF-8
 * - `DIALOGINFO_ERR_XML`             not well-formed XML (or not namespace-well-formed)
 * - `DIALOGINFO_ERR_DOCTYPE`         a DOCTYPE was present: refused (XXE, entity expansion)
 * - `DIALOGINFO_ERR_NOT_DIALOGINFO`  the root element is not `{urn:ietf:params:xml:ns:dialog-info}dialog-info`
 * - `DIALOGINFO_ERR_LIMIT`           size, depth or element-count limit exceeded
 * - `DIALOGINFO_ERR_INVALID`         a value the document cannot be used without is missing or invalid
 *                                    (version, state, a dialog's id or `<state>`)
 * - `DIALOGINFO_ERR_VERSION`         (DialogInfoView) a document refused for its version (see RegInfoView:
 *                                    the same rules, RFC 4235 §4.1)
 */
export type DialogInfoErrorCode =
  | 'DIALOGINFO_ERR_EMPTY'
  | 'DIALOGINFO_ERR_ENCODING'
  | 'DIALOGINFO_ERR_XML'
  | 'DIALOGINFO_ERR_DOCTYPE'
  | 'DIALOGINFO_ERR_NOT_DIALOGINFO'
  | 'DIALOGINFO_ERR_LIMIT'
  | 'DIALOGINFO_ERR_INVALID'
  | 'DIALOGINFO_ERR_VERSION';

export class DialogInfoError extends PresenceB2BError {
  declare readonly code: DialogInfoErrorCode;

  constructor(code: DialogInfoErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
