export { RegInfoError } from './reginfo-error.js';
export type { RegInfoErrorCode } from './reginfo-error.js';
export {
  parseReginfo,
  REGINFO_DEFAULT_MAX_BYTES,
  REGINFO_DEFAULT_MAX_DEPTH,
  REGINFO_DEFAULT_MAX_ELEMENTS,
} from './reginfo-parser.js';
export type { RegInfoParseOptions } from './reginfo-parser.js';
export { REG_CONTACT_EVENTS, REGINFO_NS } from './reginfo-types.js';
export type {
  RegContactEvent,
  RegContactState,
  RegInfoContact,
  RegInfoDisplayName,
  RegInfoDocument,
  RegInfoDocumentState,
  RegInfoRegistration,
  RegInfoUnknownParam,
  RegistrationState,
} from './reginfo-types.js';
export { RegInfoView } from './reginfo-view.js';
export type { RegInfoApplyResult, RegInfoChanges, RegInfoContactChange, RegInfoSnapshot } from './reginfo-view.js';
export { fuzzReginfo } from './reginfo-fuzz.js';
export { isRegStatus, REG_PACKAGE, regInfoOf } from './reg-status.js';
export type { RegInfoState, RegStatus } from './reg-status.js';
