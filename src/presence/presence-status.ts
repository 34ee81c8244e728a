import type { StatusMessage } from '../qsa/status-message.js';
import type { PresenceDocument } from './pidf-types.js';

/** The QSA event package whose bodies are PIDF documents (RFC 3856). */
export const PRESENCE_PACKAGE = 'presence';

/** A status message of the presence package: its `document` is the parsed PIDF. */
export type PresenceStatus = StatusMessage<PresenceDocument>;

/**
 * Narrows a status message of a queue that may carry several packages:
 * `if (isPresenceStatus(m)) m.document?.tuples[0]?.basic`.
 */
export function isPresenceStatus(message: StatusMessage): message is PresenceStatus {
  return message.package === PRESENCE_PACKAGE;
}

/** The parsed PIDF of a presence status message; undefined for other packages or without a readable body. */
export function presenceOf(message: StatusMessage): PresenceDocument | undefined {
  return isPresenceStatus(message) ? message.document : undefined;
}
