import type { StatusMessage } from '../qsa/status-message.js';
import type { DialogInfoChanges, DialogInfoSnapshot } from './dialoginfo-view.js';

/** The QSA event package whose bodies are dialog-info documents (RFC 4235). */
export const DIALOG_PACKAGE = 'dialog';

/**
 * The `document` of a dialog status message: every dialog of the entity as it
 * stands after the NOTIFY (id, state, direction, local and remote identities
 * and targets, …: what a busy lamp field needs; merged from partial
 * documents), and what this NOTIFY changed (a dialog that ended is in
 * `changes.removed`, state `terminated`, once). A NOTIFY whose body could not
 * be applied still carries the view as it was, with no changes, next to the
 * message's `error`.
 */
export interface DialogInfoState extends DialogInfoSnapshot {
  changes: DialogInfoChanges;
}

/** A status message of the dialog package. */
export type DialogStatus = StatusMessage<DialogInfoState>;

/** Narrows a status message of a queue that may carry several packages. */
export function isDialogStatus(message: StatusMessage): message is DialogStatus {
  return message.package === DIALOG_PACKAGE;
}

/** The dialogs of a dialog status message; undefined for other packages or when it carries none (a failure). */
export function dialogInfoOf(message: StatusMessage): DialogInfoState | undefined {
  return isDialogStatus(message) ? message.document : undefined;
}
