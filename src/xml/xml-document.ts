import { decodeXmlBody } from './xml-body.js';
import { readXmlTree, type XmlElement } from './xml-tree.js';

/** Limits of one read; every one of them ends in the reader's `LIMIT` code. */
export interface XmlDocumentLimits {
  /** Maximum body size in bytes (for a string: UTF-16 code units). */
  maxBytes: number;
  /** Maximum element nesting depth. */
  maxDepth: number;
  /** Maximum number of elements. */
  maxElements: number;
}

/** The reader's own code for each way a body can fail before its content is looked at. */
export interface XmlDocumentCodes<C extends string> {
  EMPTY: C;
  ENCODING: C;
  XML: C;
  DOCTYPE: C;
  LIMIT: C;
}

/** Builds the reader's coded error. */
export type CodedErrorFactory<C extends string> = (code: C, message: string, options?: { cause?: unknown }) => Error;

/**
 * Decodes `body` and reads it into an element tree (see decodeXmlBody and
 * readXmlTree), failing only with the reader's own coded errors.
 */
export function readXmlDocument<C extends string>(
  body: Uint8Array | string,
  label: string,
  limits: XmlDocumentLimits,
  codes: XmlDocumentCodes<C>,
  make: CodedErrorFactory<C>,
): XmlElement {
  const fail = (problem: keyof XmlDocumentCodes<C>, message: string, cause?: unknown): Error =>
    make(codes[problem], message, cause === undefined ? undefined : { cause });
  const xml = decodeXmlBody(body, limits.maxBytes, label, fail);
  return readXmlTree(xml, label, limits, fail);
}
