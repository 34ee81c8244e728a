import { buildMultipartRelated, type BuiltMultipart, type MultipartPartInput } from '../multipart/multipart-builder.js';
import { MultipartError } from '../multipart/multipart-error.js';
import { CryptoRandom, type Random } from '../util/random.js';
import { escapeXmlAttribute as attr, escapeXmlText as text } from '../xml/xml-escape.js';
import { RlmiError } from './rlmi-error.js';
import { RLMI_MEDIA_TYPE, RLMI_NS, type RlmiInstanceState, type RlmiName } from './rlmi-types.js';

/** A display name: plain text, or text with its language. */
export type RlmiNameInput = string | RlmiName;

export interface RlmiInstanceInput {
  id: string;
  state: RlmiInstanceState;
  reason?: string;
  /** Content-ID (without angle brackets) of the part holding the resource's state. */
  cid?: string;
}

export interface RlmiResourceInput {
  uri: string;
  names?: readonly RlmiNameInput[];
  instances?: readonly RlmiInstanceInput[];
}

export interface RlmiListInput {
  uri: string;
  /** 0..2**32-1; one more per notification of the subscription (RFC 4662 §5.2). */
  version: number;
  fullState: boolean;
  names?: readonly RlmiNameInput[];
  resources: readonly RlmiResourceInput[];
}

function argument(message: string): RlmiError {
  return new RlmiError('RLMI_ERR_ARGUMENT', 'RLMI: ' + message);
}

function writeNames(names: readonly RlmiNameInput[] | undefined): string {
  let out = '';
  for (const name of names ?? []) {
    if (typeof name === 'string') out += `<name>${text(name)}</name>`;
    else {
      const lang = name.lang !== undefined ? ` xml:lang="${attr(name.lang)}"` : '';
      out += `<name${lang}>${text(name.text)}</name>`;
    }
  }
  return out;
}

/**
 * Writes an RLMI document (RFC 4662 §5); `parseRlmi(buildRlmi(x))` reads back
 * what was written. Text and attribute values are escaped (characters XML
 * cannot carry become U+FFFD). Throws RlmiError `RLMI_ERR_ARGUMENT` for a
 * version that is not an unsigned 32-bit integer, or an empty URI or id.
 */
export function buildRlmi(input: RlmiListInput): string {
  if (!Number.isInteger(input.version) || input.version < 0 || input.version > 0xffffffff) {
    throw argument(`version ${input.version} is not an unsigned 32-bit integer`);
  }
  if (input.uri.trim() === '') throw argument('empty list uri');
  let body = writeNames(input.names);
  for (const resource of input.resources) {
    if (resource.uri.trim() === '') throw argument('empty resource uri');
    body += `<resource uri="${attr(resource.uri)}">${writeNames(resource.names)}`;
    for (const instance of resource.instances ?? []) {
      if (instance.id.trim() === '') throw argument(`empty instance id in resource "${resource.uri}"`);
      body += `<instance id="${attr(instance.id)}" state="${instance.state}"`;
      if (instance.reason !== undefined) body += ` reason="${attr(instance.reason)}"`;
      if (instance.cid !== undefined) body += ` cid="${attr(instance.cid)}"`;
      body += '/>';
    }
    body += '</resource>';
  }
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<list xmlns="${RLMI_NS}" uri="${attr(input.uri)}" version="${input.version}" fullState="${input.fullState}">` +
    `${body}</list>\n`
  );
}

export interface RlmiBodyInput {
  list: RlmiListInput;
  /** The member documents, each with the Content-ID an instance's `cid` names (nested lists: a built RLMI body). */
  parts: readonly MultipartPartInput[];
  /** Content-ID of the RLMI root; default: random. */
  rootContentId?: string;
  boundary?: string;
  /** Source of the random root Content-ID and boundary; default: a CryptoRandom. */
  random?: Random;
}

let defaultRandom: Random | undefined;

/**
 * Writes a whole resource list NOTIFY body (RFC 4662 §5.1): multipart/related
 * with the RLMI document as its root (`type` and `start` set) and the member
 * documents after it. Every `cid` the list names must be one of the parts'
 * Content-IDs. Throws RlmiError `RLMI_ERR_ARGUMENT` (the MultipartError of a
 * bad part is its cause).
 */
export function buildRlmiBody(input: RlmiBodyInput): BuiltMultipart {
  const contentIds = new Set(input.parts.map((part) => part.contentId));
  for (const resource of input.list.resources) {
    for (const instance of resource.instances ?? []) {
      if (instance.cid !== undefined && !contentIds.has(instance.cid)) {
        throw argument(`cid ${JSON.stringify(instance.cid)} of resource "${resource.uri}" names no part`);
      }
    }
  }
  defaultRandom ??= new CryptoRandom();
  const random = input.random ?? defaultRandom;
  const root = input.rootContentId ?? `${random.token(16)}@rlmi`;
  try {
    return buildMultipartRelated({
      type: RLMI_MEDIA_TYPE,
      start: root,
      parts: [{ contentType: `${RLMI_MEDIA_TYPE};charset="UTF-8"`, contentId: root, body: buildRlmi(input.list) }, ...input.parts],
      ...(input.boundary !== undefined ? { boundary: input.boundary } : {}),
      random,
    });
  } catch (error) {
    if (error instanceof MultipartError) throw new RlmiError('RLMI_ERR_ARGUMENT', 'RLMI: ' + error.message, { cause: error });
    throw error;
  }
}
