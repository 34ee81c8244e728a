import { PRESENCE_PACKAGE, statusFromBody } from '../presence/index.js';
import type { BodyReader, EventPackage } from './event-package.js';

/** PIDF (RFC 3863); the CPIM name of its drafts is still read (statusFromBody). */
const PIDF = 'application/pidf+xml';

/** Presence bodies are whole documents: one stateless reader serves every subscription. */
const presenceReader: BodyReader = {
  read(contentType, body) {
    if (body === undefined || body.length === 0) return {};
    // A body without Content-Type is read as PIDF, as SER did.
    return statusFromBody(contentType ?? PIDF, body);
  },
};

/** `Event: presence` (RFC 3856): PIDF documents, each complete. */
export const PRESENCE_EVENT_PACKAGE: EventPackage = {
  name: PRESENCE_PACKAGE,
  accept: [PIDF],
  newReader: () => presenceReader,
  sharedReader: presenceReader,
  // A PIDF document is a pure function of its body: the last status need not keep it parsed.
  rereadDocument: (contentType, body) => presenceReader.read(contentType, body).document,
};
