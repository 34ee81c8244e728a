import { readXmlDocument } from '../xml/xml-document.js';
import type { XmlElement } from '../xml/xml-tree.js';
import { parseNonNegativeInteger, parseXmlBoolean, parseXmlEnum } from '../xml/xml-values.js';
import { RlmiError } from './rlmi-error.js';
import {
  RLMI_INSTANCE_STATES,
  RLMI_NS,
  type RlmiDocument,
  type RlmiInstance,
  type RlmiName,
  type RlmiResource,
} from './rlmi-types.js';

/** Limits against hostile or broken bodies; every one of them ends in RlmiError `RLMI_ERR_LIMIT`. */
export interface RlmiParseOptions {
  /** Maximum document size in bytes (for a string: UTF-16 code units). Default 1 MiB. */
  maxBytes?: number;
  /** Maximum element nesting depth. Default 16. */
  maxDepth?: number;
  /** Maximum number of elements. Default 50000 (a list of some thousand members). */
  maxElements?: number;
}

export const RLMI_DEFAULT_MAX_BYTES = 1024 * 1024;
export const RLMI_DEFAULT_MAX_DEPTH = 16;
export const RLMI_DEFAULT_MAX_ELEMENTS = 50_000;

const CODES = {
  EMPTY: 'RLMI_ERR_EMPTY',
  ENCODING: 'RLMI_ERR_ENCODING',
  XML: 'RLMI_ERR_XML',
  DOCTYPE: 'RLMI_ERR_DOCTYPE',
  LIMIT: 'RLMI_ERR_LIMIT',
} as const;

/** RFC 4662 §5.2: version is an xs:unsignedInt. */
const MAX_VERSION = 0xffffffff;

function invalid(message: string): RlmiError {
  return new RlmiError('RLMI_ERR_INVALID', 'RLMI: ' + message);
}

/** An attribute with white space around it dropped; undefined when absent or empty. */
function attribute(element: XmlElement, name: string): string | undefined {
  const value = element.attributes.get(name)?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function readName(element: XmlElement): RlmiName {
  const name: RlmiName = { text: element.text.trim() };
  if (element.lang !== undefined) name.lang = element.lang;
  return name;
}

function readInstance(element: XmlElement, resource: string): RlmiInstance {
  const id = attribute(element, 'id');
  if (id === undefined) throw invalid(`an <instance> of resource "${resource}" has no id`);
  const state = parseXmlEnum(element.attributes.get('state'), RLMI_INSTANCE_STATES);
  if (state === undefined) {
    throw invalid(
      `instance "${id}" of resource "${resource}": state ${JSON.stringify(element.attributes.get('state') ?? '')} is not active, pending or terminated`,
    );
  }
  const instance: RlmiInstance = { id, state };
  const reason = attribute(element, 'reason');
  if (reason !== undefined) instance.reason = reason;
  const cid = attribute(element, 'cid');
  if (cid !== undefined) instance.cid = cid;
  return instance;
}

function readResource(element: XmlElement): RlmiResource {
  const uri = attribute(element, 'uri');
  if (uri === undefined) throw invalid('a <resource> has no uri');
  const resource: RlmiResource = { uri, names: [], instances: [] };
  for (const child of element.children) {
    if (child.uri !== RLMI_NS) continue;
    if (child.local === 'name') resource.names.push(readName(child));
    else if (child.local === 'instance') resource.instances.push(readInstance(child, uri));
  }
  return resource;
}

/**
 * Parses an `application/rlmi+xml` document (RFC 4662 §5): the list's URI,
 * version and fullState, its names, and each resource with its names and
 * instances. Namespace-aware; elements of other namespaces are skipped.
 * Enumerations are read without regard to case. Throws RlmiError (see
 * RlmiErrorCode) and nothing else.
 */
export function parseRlmi(body: Uint8Array | string, options?: RlmiParseOptions): RlmiDocument {
  const root = readXmlDocument(
    body,
    'RLMI',
    {
      maxBytes: options?.maxBytes ?? RLMI_DEFAULT_MAX_BYTES,
      maxDepth: options?.maxDepth ?? RLMI_DEFAULT_MAX_DEPTH,
      maxElements: options?.maxElements ?? RLMI_DEFAULT_MAX_ELEMENTS,
    },
    CODES,
    (code, message, errorOptions) => new RlmiError(code, message, errorOptions),
  );
  if (root.uri !== RLMI_NS || root.local !== 'list') {
    throw new RlmiError('RLMI_ERR_NOT_RLMI', `RLMI: root element is {${root.uri}}${root.local}, not {${RLMI_NS}}list`);
  }
  const uri = attribute(root, 'uri');
  if (uri === undefined) throw invalid('<list> has no uri');
  const rawVersion = root.attributes.get('version');
  const version = rawVersion === undefined ? undefined : parseNonNegativeInteger(rawVersion, MAX_VERSION);
  if (version === undefined) throw invalid(`version ${JSON.stringify(rawVersion ?? '')} is not an unsigned 32-bit integer`);
  const rawFullState = root.attributes.get('fullState');
  const fullState = rawFullState === undefined ? undefined : parseXmlBoolean(rawFullState);
  if (fullState === undefined) throw invalid(`fullState ${JSON.stringify(rawFullState ?? '')} is not a boolean`);
  const document: RlmiDocument = { uri, version, fullState, names: [], resources: [], warnings: [] };
  for (const child of root.children) {
    if (child.uri !== RLMI_NS) continue;
    if (child.local === 'name') document.names.push(readName(child));
    else if (child.local === 'resource') document.resources.push(readResource(child));
  }
  const seen = new Set<string>();
  for (const resource of document.resources) {
    if (seen.has(resource.uri)) document.warnings.push(`resource "${resource.uri}" is listed twice; the last one counts`);
    seen.add(resource.uri);
  }
  return document;
}
