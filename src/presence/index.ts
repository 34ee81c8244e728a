export { PidfError } from './pidf-error.js';
export type { PidfErrorCode } from './pidf-error.js';
export {
  parsePidf,
  PIDF_DEFAULT_MAX_BYTES,
  PIDF_DEFAULT_MAX_DEPTH,
  PIDF_DEFAULT_MAX_ELEMENTS,
} from './pidf-parser.js';
export type { PidfParseOptions } from './pidf-parser.js';
export { buildPidf } from './pidf-builder.js';
export type {
  PidfDeviceInput,
  PidfDocumentInput,
  PidfExtensionInput,
  PidfNoteInput,
  PidfPersonInput,
  PidfTupleInput,
} from './pidf-builder.js';
export { DATA_MODEL_NS, PIDF_NS, RPID_NS, XML_NS } from './pidf-types.js';
export type {
  BasicStatus,
  PidfContact,
  PidfDevice,
  PidfNote,
  PidfPerson,
  PidfTuple,
  PresenceDocument,
  RawElement,
} from './pidf-types.js';
export { statusFromBody } from './status-from-body.js';
export type { BodyStatus } from './status-from-body.js';
export { LOCATION_TYPE_NS } from './rpid-values.js';
export { isPresenceStatus, PRESENCE_PACKAGE, presenceOf } from './presence-status.js';
export type { PresenceStatus } from './presence-status.js';
