export { RlmiError } from './rlmi-error.js';
export type { RlmiErrorCode } from './rlmi-error.js';
export { parseRlmi, RLMI_DEFAULT_MAX_BYTES, RLMI_DEFAULT_MAX_DEPTH, RLMI_DEFAULT_MAX_ELEMENTS } from './rlmi-parser.js';
export type { RlmiParseOptions } from './rlmi-parser.js';
export { buildRlmi, buildRlmiBody } from './rlmi-builder.js';
export type { RlmiBodyInput, RlmiInstanceInput, RlmiListInput, RlmiNameInput, RlmiResourceInput } from './rlmi-builder.js';
export { RLMI_INSTANCE_STATES, RLMI_MEDIA_TYPE, RLMI_NS } from './rlmi-types.js';
export type { RlmiDocument, RlmiInstance, RlmiInstanceState, RlmiName, RlmiResource } from './rlmi-types.js';
export {
  RESOURCE_LIST_DEFAULT_MAX_BYTES,
  RESOURCE_LIST_DEFAULT_MAX_DEPTH,
  RESOURCE_LIST_DEFAULT_MAX_PARTS,
  readResourceListBody,
} from './resource-list-body.js';
export type { InstanceContent, ResourceListBody, ResourceListBodyOptions } from './resource-list-body.js';
export { ResourceListView } from './resource-list-view.js';
export type {
  ResourceInstanceView,
  ResourceListApplyResult,
  ResourceListSnapshot,
  ResourceUpdate,
  ResourceView,
} from './resource-list-view.js';
export { fuzzResourceList, fuzzRlmi } from './rlmi-fuzz.js';
