/**
 * The first steps every XML body reader takes, before any XML is read: the
 * size limit, UTF-8 decoding and the blank-body check. Each reader supplies
 * its own coded error, so that a reginfo body fails with REGINFO_ERR_* and a
 * PIDF body with PIDF_ERR_*.
 */

/** What went wrong before the XML itself was read. */
export type XmlBodyProblem = 'LIMIT' | 'ENCODING' | 'EMPTY';

/** Builds the reader's own error for a problem; `label` prefixes the message (e.g. "PIDF"). */
export type XmlBodyErrorFactory = (problem: XmlBodyProblem, message: string, cause?: unknown) => Error;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** True if `value` holds only XML white space (XML 1.0 §2.3, production S); scans without allocating. */
export function isXmlBlank(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
  }
  return true;
}

/**
 * Returns the body as a string ready for the XML parser:
 * - over `maxBytes` (for a string: UTF-16 code units) → `LIMIT`;
 * - bytes that are not UTF-8 → `ENCODING` (UTF-8 is the only encoding read;
 *   XML 1.0 §4.3.3 makes it the default); a byte order mark is dropped;
 * - nothing but white space → `EMPTY`.
 */
export function decodeXmlBody(
  body: Uint8Array | string,
  maxBytes: number,
  label: string,
  fail: XmlBodyErrorFactory,
): string {
  if (body.length > maxBytes) {
    throw fail('LIMIT', `${label}: body of ${body.length} bytes exceeds the limit of ${maxBytes}`);
  }
  let xml: string;
  if (typeof body === 'string') {
    xml = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  } else {
    try {
      xml = utf8.decode(body); // also drops a UTF-8 byte order mark
    } catch (error) {
      throw fail('ENCODING', `${label}: body is not valid UTF-8`, error);
    }
  }
  if (isXmlBlank(xml)) throw fail('EMPTY', `${label}: empty body`);
  return xml;
}

/** True if the body is empty or holds only XML white space (a NOTIFY that carries no document). */
export function isBlankBody(body: Uint8Array | string): boolean {
  if (typeof body === 'string') return isXmlBlank(body);
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
  }
  return true;
}
