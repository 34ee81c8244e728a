import { PidfError, type PidfErrorCode } from './pidf-error.js';
import { type PidfParseOptions, parsePidf } from './pidf-parser.js';
import type { PresenceDocument } from './pidf-types.js';
import { trimString } from '../util/trim-string.js';

/** What a notifier learns from a NOTIFY body, ready to spread into a status update. */
export interface BodyStatus {
  /** The document as far as it could be read. */
  document?: PresenceDocument;
  /** Set when the body was not valid PIDF; the raw body should then be passed on too. */
  error?: { code: PidfErrorCode; message: string };
}

/** Content types read as PIDF (RFC 3863; the CPIM name from its drafts is still seen). */
function isPidfContentType(contentType: string): boolean {
  const semicolon = contentType.indexOf(';');
  const mediaType = trimString(semicolon === -1 ? contentType : contentType.slice(0, semicolon)).toLowerCase();
  return mediaType === 'application/pidf+xml' || mediaType === 'application/cpim-pidf+xml';
}

/**
 * Turns a NOTIFY body into `{ document?, error? }`:
 * - no body, or an empty one (Kamailio: nothing published, or the publication
 *   expired) → `{}`: no document, no error;
 * - a Content-Type other than PIDF → `error` `PIDF_ERR_CONTENT_TYPE`
 *   (a missing Content-Type is read as PIDF, like the original module did);
 * - a body that is not PIDF at all (not well-formed, DOCTYPE, wrong root,
 *   over a limit, not UTF-8) → `error` with the PidfError code, no `document`;
 * - well-formed PIDF with invalid values (baresip's `<basic>?</basic>`) →
 *   `document` with what could be read AND `error` `PIDF_ERR_INVALID` listing
 *   the warnings, so the subscriber both gets the data and learns the body
 *   was not valid.
 */
export function statusFromBody(
  contentType: string | undefined,
  body: Uint8Array | string | undefined,
  options?: PidfParseOptions,
): BodyStatus {
  if (body === undefined || body.length === 0) return {};
  if (contentType !== undefined && trimString(contentType) !== '' && !isPidfContentType(contentType)) {
    return {
      error: { code: 'PIDF_ERR_CONTENT_TYPE', message: `content type ${JSON.stringify(contentType)} is not PIDF` },
    };
  }
  let presence: PresenceDocument;
  try {
    presence = parsePidf(body, options);
  } catch (error) {
    if (error instanceof PidfError) {
      // An all-whitespace body carries no document, like an empty one.
      if (error.code === 'PIDF_ERR_EMPTY') return {};
      return { error: { code: error.code, message: error.message } };
    }
    throw error;
  }
  if (presence.warnings.length === 0) return { document: presence };
  return { document: presence, error: { code: 'PIDF_ERR_INVALID', message: 'PIDF: ' + presence.warnings.join('; ') } };
}
