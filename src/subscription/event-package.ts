import type { StatusError } from '../qsa/index.js';
import { parseContentType } from '../sip/codec/content-type.js';

/**
 * What an event package makes of one body: a NOTIFY's, or a resource list
 * member's part. Ready to spread into a status update.
 */
export interface BodyReading {
  /**
   * The package's view after this body: the PIDF document for presence; the
   * complete merged view and what this body changed for reg and dialog
   * (absent when the package has nothing to show, e.g. presence without a body).
   */
  document?: unknown;
  /** Set when the body could not be read or was refused (for its version, its type): the raw body goes with it. */
  error?: StatusError;
  /**
   * The reader's view can no longer be trusted (a partial document after a
   * gap, RFC 3680 §5.2, RFC 4235 §4.1): full state is needed, so the
   * subscription must be refreshed.
   */
  resync?: boolean;
}

/**
 * Reads the bodies of one subscription, in order. Never throws: a bad body is
 * a reading with `error`. A stateless package may hand every subscription the
 * same reader; a stateful one (version numbers, partial state) needs one per
 * SIP dialog, and a new one for each new dialog.
 */
export interface BodyReader {
  /**
   * `contentType` is the Content-Type field value as written, undefined when
   * the body had none (it is then read as the package's own type, as SER
   * read a PIDF body without one); `body` undefined or empty: no body.
   */
  read(contentType: string | undefined, body: Uint8Array | undefined): BodyReading;
}

/**
 * An event package (RFC 6665 §7) the B2BUA subscribes to: the `Event`
 * name, the media types of its bodies and how to read them. The SIP dialog
 * machinery (refresh, retry, authentication, forks, sharing) is the same for
 * every package; only this differs.
 */
export interface EventPackage {
  /** The Event header value and the QSA package name, e.g. `presence`. */
  readonly name: string;
  /** Media types of its bodies, for Accept (RFC 6665 §4.1.2): the package's own first. */
  readonly accept: readonly string[];
  /** A reader for one SIP subscription dialog. */
  newReader(): BodyReader;
  /**
   * For a package whose reader keeps nothing between bodies (no version
   * numbers, no partial state): the one reader every dialog may use, so that a
   * held subscription carries no reader of its own (issue 11). A package
   * without it gets `newReader()` per dialog.
   */
  readonly sharedReader?: BodyReader;
  /**
   * For a package whose bodies are whole documents (each read on its own,
   * like presence): the document of one body, read again. With it, a
   * subscription's last status keeps the body only and its document is read
   * again when asked (issue 11: memory per held subscription).
   */
  readonly rereadDocument?: (contentType: string | undefined, body: Uint8Array) => unknown;
}

/**
 * The lower-cased media type of a Content-Type field value; undefined when
 * there is none or it does not parse (the body is then read as the package's
 * own type, and its parser says whether it is).
 */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined || contentType.trim() === '') return undefined;
  try {
    return parseContentType(contentType).mediaType;
  } catch {
    return undefined;
  }
}

/** The package of an unknown event: bodies are passed on raw, unread. */
export function opaqueEventPackage(name: string): EventPackage {
  const reader: BodyReader = { read: () => ({}) };
  return { name, accept: [], newReader: () => reader, sharedReader: reader };
}
