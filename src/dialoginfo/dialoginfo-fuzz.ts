import { DialogInfoError } from './dialoginfo-error.js';
import { parseDialogInfo } from './dialoginfo-parser.js';
import { DialogInfoView } from './dialoginfo-view.js';

/**
 * Fuzz entry: reads `data` as a dialog-info body, then applies it twice to a
 * fresh DialogInfoView. Returns normally when the body is accepted or refused
 * with a DialogInfoError; anything else escaping is a bug and propagates.
 */
export function fuzzDialogInfo(data: Uint8Array): void {
  try {
    parseDialogInfo(data, { maxBytes: 64 * 1024 });
  } catch (error) {
    if (!(error instanceof DialogInfoError)) throw error;
  }
  const view = new DialogInfoView({ maxBytes: 64 * 1024 });
  view.apply(data);
  view.apply(data);
}
