export { MultipartError } from './multipart-error.js';
export type { MultipartErrorCode } from './multipart-error.js';
export {
  findPartByContentId,
  MULTIPART_DEFAULT_MAX_BYTES,
  MULTIPART_DEFAULT_MAX_DEPTH,
  MULTIPART_DEFAULT_MAX_HEADER_BYTES,
  MULTIPART_DEFAULT_MAX_PARTS,
  parseMultipart,
  relatedRootPart,
  stripAngles,
} from './multipart-parser.js';
export type { MultipartParseOptions } from './multipart-parser.js';
export { buildMultipartRelated } from './multipart-builder.js';
export type { BuiltMultipart, MultipartPartInput, MultipartRelatedInput } from './multipart-builder.js';
export type { MimeHeader, MimePart, MultipartBody } from './multipart-types.js';
export { fuzzMultipart } from './multipart-fuzz.js';
