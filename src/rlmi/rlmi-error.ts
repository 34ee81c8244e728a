import { PresenceB2BError } from '../util/errors.js';

/**
 * Stable codes of RlmiError:
 * - `RLMI_ERR_EMPTY`         the RLMI document holds nothing but white space
 * - `RLMI_ERR_ENCODING`      the bytes are not UTF-8
 * - `RLMI_ERR_XML`           not well-formed XML (or not namespace-well-formed)
 * - `RLMI_ERR_DOCTYPE`       a DOCTYPE was present: refused (XXE, entity expansion)
 * - `RLMI_ERR_NOT_RLMI`      the root element is not `{urn:ietf:params:xml:ns:rlmi}list`, or the root part of
 *                            the multipart/related body is not `application/rlmi+xml`
 * - `RLMI_ERR_LIMIT`         size, depth or element-count limit exceeded
 * - `RLMI_ERR_INVALID`       a value the document cannot be used without is missing or invalid (the list's
 *                            uri, version, fullState; a resource's uri; an instance's id or state)
 * - `RLMI_ERR_CONTENT_TYPE`  (ResourceListView) a body that is neither multipart/related nor application/rlmi+xml
 * - `RLMI_ERR_MISSING_PART`  (ResourceListView) an instance's `cid` names no part of the multipart/related body
 * - `RLMI_ERR_VERSION`       (ResourceListView) a document refused for its version (RFC 4662 §5.2; the rules
 *                            of RegInfoView)
 * - `RLMI_ERR_ARGUMENT`      buildRlmi / buildRlmiBody was given an unusable value
 */
export type RlmiErrorCode =
  | 'RLMI_ERR_EMPTY'
  | 'RLMI_ERR_ENCODING'
  | 'RLMI_ERR_XML'
  | 'RLMI_ERR_DOCTYPE'
  | 'RLMI_ERR_NOT_RLMI'
  | 'RLMI_ERR_LIMIT'
  | 'RLMI_ERR_INVALID'
  | 'RLMI_ERR_CONTENT_TYPE'
  | 'RLMI_ERR_MISSING_PART'
  | 'RLMI_ERR_VERSION'
  | 'RLMI_ERR_ARGUMENT';

export class RlmiError extends PresenceB2BError {
  declare readonly code: RlmiErrorCode;

  constructor(code: RlmiErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
