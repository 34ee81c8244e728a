import type { StatusMessage } from '../qsa/status-message.js';
import type { RegInfoChanges, RegInfoSnapshot } from './reginfo-view.js';

/** The QSA event package whose bodies are reginfo documents (RFC 3680). */
export const REG_PACKAGE = 'reg';

/**
 * The `document` of a reg status message: the registrations as they stand
 * after the NOTIFY (every registration with its aor, id and state, and its live
 * contacts with uri, state, event, expires, q, …; merged from partial
 * documents), and what this NOTIFY changed. A NOTIFY whose body could not be
 * applied (unreadable, refused for its version) still carries the view as it
 * was, with no changes, next to the message's `error`.
 */
export interface RegInfoState extends RegInfoSnapshot {
  changes: RegInfoChanges;
}

/** A status message of the reg package. */
export type RegStatus = StatusMessage<RegInfoState>;

/** Narrows a status message of a queue that may carry several packages. */
export function isRegStatus(message: StatusMessage): message is RegStatus {
  return message.package === REG_PACKAGE;
}

/** The registrations of a reg status message; undefined for other packages or when it carries none (a failure). */
export function regInfoOf(message: StatusMessage): RegInfoState | undefined {
  return isRegStatus(message) ? message.document : undefined;
}
