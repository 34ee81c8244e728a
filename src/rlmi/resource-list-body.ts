import { findPartByContentId, parseMultipart, relatedRootPart } from '../multipart/multipart-parser.js';
import type { MultipartBody } from '../multipart/multipart-types.js';
import { parseContentType } from '../sip/codec/content-type.js';
import { RlmiError } from './rlmi-error.js';
import { parseRlmi, type RlmiParseOptions } from './rlmi-parser.js';
import { RLMI_MEDIA_TYPE, type RlmiDocument, type RlmiInstance } from './rlmi-types.js';

/** Limits of one resource list body; the multipart ones end in MULTIPART_ERR_LIMIT, the RLMI ones in RLMI_ERR_LIMIT. */
export interface ResourceListBodyOptions {
  /** Maximum size of the whole body. Default 1 MiB. */
  maxBytes?: number;
  /** Maximum number of body parts, nested lists included. Default 5000. */
  maxParts?: number;
  /** Maximum nesting of lists (1: no nested list). Default 4. */
  maxDepth?: number;
  /** Limits of each RLMI document. */
  rlmi?: RlmiParseOptions;
}

export const RESOURCE_LIST_DEFAULT_MAX_BYTES = 1024 * 1024;
export const RESOURCE_LIST_DEFAULT_MAX_PARTS = 5000;
export const RESOURCE_LIST_DEFAULT_MAX_DEPTH = 4;

/** The state document of one instance, as carried by the body part its `cid` names. */
export interface InstanceContent {
  /** The part's Content-Type field value, as written (undefined when the part has none). */
  contentType?: string;
  /** The part's bytes (a view into the body read). */
  body: Uint8Array;
  /** When the part is itself a resource list (multipart/related with an RLMI root): that list. */
  nested?: ResourceListBody;
}

/** A resource list NOTIFY body, read and checked: the RLMI document and the content of each instance that has one. */
export interface ResourceListBody {
  document: RlmiDocument;
  /** By instance (the objects of `document`): the part its `cid` names. */
  contents: Map<RlmiInstance, InstanceContent>;
}

function resolve(document: RlmiDocument, multipart: MultipartBody | undefined, rlmi: RlmiParseOptions | undefined): ResourceListBody {
  const contents = new Map<RlmiInstance, InstanceContent>();
  for (const resource of document.resources) {
    for (const instance of resource.instances) {
      if (instance.cid === undefined) continue;
      const part = multipart === undefined ? undefined : findPartByContentId(multipart, instance.cid);
      if (part === undefined) {
        throw new RlmiError(
          'RLMI_ERR_MISSING_PART',
          `RLMI: instance "${instance.id}" of resource "${resource.uri}" names cid ${JSON.stringify(instance.cid)}, which no body part has`,
        );
      }
      const content: InstanceContent = { body: part.body };
      if (part.contentType !== undefined) content.contentType = part.contentType;
      const inner = part.multipart;
      if (inner !== undefined && inner.mediaType === 'multipart/related') {
        const root = relatedRootPart(inner);
        if (root.mediaType === RLMI_MEDIA_TYPE) content.nested = resolve(parseRlmi(root.body, rlmi), inner, rlmi);
      }
      contents.set(instance, content);
    }
  }
  return { document, contents };
}

/**
 * Reads a resource list NOTIFY body (RFC 4662 §5): `multipart/related` whose
 * root (the `start` part, or the first) is the RLMI document, each instance's
 * state in the part its `cid` names, nested lists being multipart/related
 * parts of their own. A bare `application/rlmi+xml` body (a list without
 * member states) is read too. Throws RlmiError or MultipartError, and nothing
 * else: RLMI_ERR_CONTENT_TYPE for another media type, RLMI_ERR_NOT_RLMI when
 * the root is not RLMI, RLMI_ERR_MISSING_PART for a cid that names no part,
 * the parse errors of the RLMI documents, the MULTIPART_ERR_* of the framing.
 */
export function readResourceListBody(
  contentType: string | undefined,
  body: Uint8Array | string,
  options?: ResourceListBodyOptions,
): ResourceListBody {
  let mediaType: string;
  try {
    mediaType = parseContentType(contentType ?? '').mediaType;
  } catch (error) {
    throw new RlmiError('RLMI_ERR_CONTENT_TYPE', `RLMI: bad Content-Type ${JSON.stringify(contentType ?? '')}`, { cause: error });
  }
  if (mediaType === RLMI_MEDIA_TYPE) return resolve(parseRlmi(body, options?.rlmi), undefined, options?.rlmi);
  if (mediaType !== 'multipart/related') {
    throw new RlmiError('RLMI_ERR_CONTENT_TYPE', `RLMI: a resource list body is multipart/related, not ${mediaType}`);
  }
  const multipart = parseMultipart(contentType!, body, {
    nested: true,
    maxBytes: options?.maxBytes ?? RESOURCE_LIST_DEFAULT_MAX_BYTES,
    maxParts: options?.maxParts ?? RESOURCE_LIST_DEFAULT_MAX_PARTS,
    maxDepth: options?.maxDepth ?? RESOURCE_LIST_DEFAULT_MAX_DEPTH,
  });
  const root = relatedRootPart(multipart);
  if (root.mediaType !== RLMI_MEDIA_TYPE) {
    throw new RlmiError('RLMI_ERR_NOT_RLMI', `RLMI: the root part is ${root.mediaType}, not ${RLMI_MEDIA_TYPE}`);
  }
  return resolve(parseRlmi(root.body, options?.rlmi), multipart, options?.rlmi);
}
