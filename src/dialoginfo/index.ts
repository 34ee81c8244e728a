export { DialogInfoError } from './dialoginfo-error.js';
export type { DialogInfoErrorCode } from './dialoginfo-error.js';
export {
  DIALOGINFO_DEFAULT_MAX_BYTES,
  DIALOGINFO_DEFAULT_MAX_DEPTH,
  DIALOGINFO_DEFAULT_MAX_ELEMENTS,
  parseDialogInfo,
} from './dialoginfo-parser.js';
export type { DialogInfoParseOptions } from './dialoginfo-parser.js';
export { DIALOG_INFO_NS, DIALOG_STATE_EVENTS, DIALOG_STATES } from './dialoginfo-types.js';
export type {
  DialogDirection,
  DialogIdentity,
  DialogInfoDialog,
  DialogInfoDocument,
  DialogInfoDocumentState,
  DialogParticipant,
  DialogReplaces,
  DialogState,
  DialogStateEvent,
  DialogTarget,
  DialogTargetParam,
} from './dialoginfo-types.js';
export { DialogInfoView } from './dialoginfo-view.js';
export type { DialogInfoApplyResult, DialogInfoChanges, DialogInfoSnapshot } from './dialoginfo-view.js';
export { fuzzDialogInfo } from './dialoginfo-fuzz.js';
export { DIALOG_PACKAGE, dialogInfoOf, isDialogStatus } from './dialog-status.js';
export type { DialogInfoState, DialogStatus } from './dialog-status.js';
