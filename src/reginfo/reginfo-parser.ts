import { readXmlDocument } from '../xml/xml-document.js';
import type { XmlElement } from '../xml/xml-tree.js';
import { isQValue, parseNonNegativeInteger, parseXmlEnum } from '../xml/xml-values.js';
import { RegInfoError } from './reginfo-error.js';
import {
  REG_CONTACT_EVENTS,
  type RegContactState,
  type RegInfoContact,
  type RegInfoDocument,
  type RegInfoDocumentState,
  type RegInfoRegistration,
  REGINFO_NS,
  type RegistrationState,
} from './reginfo-types.js';

/** Limits against hostile or broken bodies; every one of them ends in RegInfoError `REGINFO_ERR_LIMIT`. */
export interface RegInfoParseOptions {
  /** Maximum body size in bytes (for a string: UTF-16 code units). Default 256 KiB. */
  maxBytes?: number;
  /** Maximum element nesting depth. Default 32. */
  maxDepth?: number;
  /** Maximum number of elements. Default 10000. */
  maxElements?: number;
}

export const REGINFO_DEFAULT_MAX_BYTES = 256 * 1024;
export const REGINFO_DEFAULT_MAX_DEPTH = 32;
export const REGINFO_DEFAULT_MAX_ELEMENTS = 10_000;

const CODES = {
  EMPTY: 'REGINFO_ERR_EMPTY',
  ENCODING: 'REGINFO_ERR_ENCODING',
  XML: 'REGINFO_ERR_XML',
  DOCTYPE: 'REGINFO_ERR_DOCTYPE',
  LIMIT: 'REGINFO_ERR_LIMIT',
} as const;

const DOCUMENT_STATES: readonly RegInfoDocumentState[] = ['full', 'partial'];
const REGISTRATION_STATES: readonly RegistrationState[] = ['init', 'active', 'terminated'];
const CONTACT_STATES: readonly RegContactState[] = ['active', 'terminated'];

function invalid(message: string): RegInfoError {
  return new RegInfoError('REGINFO_ERR_INVALID', 'reginfo: ' + message);
}

/** A required, non-empty attribute (white space around it dropped). */
function required(element: XmlElement, name: string, where: string): string {
  const value = element.attributes.get(name)?.trim();
  if (value === undefined || value === '') throw invalid(`${where} has no ${name} attribute`);
  return value;
}

/** An optional xs:nonNegativeInteger attribute; a bad value is a warning. */
function optionalCount(element: XmlElement, name: string, where: string, warnings: string[]): number | undefined {
  const raw = element.attributes.get(name);
  if (raw === undefined) return undefined;
  const value = parseNonNegativeInteger(raw);
  if (value === undefined) warnings.push(`${where}: invalid ${name} ${JSON.stringify(raw)}`);
  return value;
}

function readContact(element: XmlElement, registrationId: string, warnings: string[]): RegInfoContact {
  const id = required(element, 'id', `a contact of registration "${registrationId}"`);
  const where = `contact "${id}"`;
  const state = parseXmlEnum(element.attributes.get('state'), CONTACT_STATES);
  if (state === undefined) {
    throw invalid(`${where}: state ${JSON.stringify(element.attributes.get('state') ?? '')} is not active or terminated`);
  }
  let uri: string | undefined;
  const contact: RegInfoContact = { id, uri: '', state, unknownParams: [] };
  for (const child of element.children) {
    if (child.uri !== REGINFO_NS) continue;
    if (child.local === 'uri') uri ??= child.text.trim();
    else if (child.local === 'display-name') {
      if (contact.displayName === undefined) {
        contact.displayName = { text: child.text.trim() };
        if (child.lang !== undefined) contact.displayName.lang = child.lang;
      }
    } else if (child.local === 'unknown-param') {
      const name = child.attributes.get('name')?.trim();
      if (name === undefined || name === '') warnings.push(`${where}: <unknown-param> without name`);
      else contact.unknownParams.push({ name, value: child.text.trim() });
    }
  }
  if (uri === undefined || uri === '') throw invalid(`${where} has no <uri>`);
  contact.uri = uri;
  const rawEvent = element.attributes.get('event');
  const event = parseXmlEnum(rawEvent, REG_CONTACT_EVENTS);
  if (event !== undefined) contact.event = event;
  else warnings.push(`${where}: ${rawEvent === undefined ? 'no event' : `unknown event ${JSON.stringify(rawEvent)}`}`);
  const expires = optionalCount(element, 'expires', where, warnings);
  if (expires !== undefined) contact.expires = expires;
  const retryAfter = optionalCount(element, 'retry-after', where, warnings);
  if (retryAfter !== undefined) contact.retryAfter = retryAfter;
  const durationRegistered = optionalCount(element, 'duration-registered', where, warnings);
  if (durationRegistered !== undefined) contact.durationRegistered = durationRegistered;
  const cseq = optionalCount(element, 'cseq', where, warnings);
  if (cseq !== undefined) contact.cseq = cseq;
  const callId = element.attributes.get('callid');
  if (callId !== undefined && callId.trim() !== '') contact.callId = callId.trim();
  const q = element.attributes.get('q');
  if (q !== undefined) {
    if (isQValue(q.trim())) contact.q = Number(q.trim());
    else warnings.push(`${where}: invalid q ${JSON.stringify(q)}`);
  }
  return contact;
}

function readRegistration(element: XmlElement, warnings: string[]): RegInfoRegistration {
  const id = required(element, 'id', 'a <registration>');
  const aor = required(element, 'aor', `registration "${id}"`);
  const state = parseXmlEnum(element.attributes.get('state'), REGISTRATION_STATES);
  if (state === undefined) {
    throw invalid(
      `registration "${id}": state ${JSON.stringify(element.attributes.get('state') ?? '')} is not init, active or terminated`,
    );
  }
  const contacts: RegInfoContact[] = [];
  for (const child of element.children) {
    if (child.uri === REGINFO_NS && child.local === 'contact') contacts.push(readContact(child, id, warnings));
  }
  return { aor, id, state, contacts };
}

/**
 * Parses an `application/reginfo+xml` body (RFC 3680 §5) into a RegInfoDocument.
 *
 * Namespace-aware; elements of other namespaces (extensions such as GRUU's)
 * and attributes that RFC 3680 does not define (Kamailio's `received`,
 * `path`, `user_agent`) are skipped. What a subscriber cannot do without
 * (version, state, ids, states, contact URIs) makes the document invalid;
 * other bad values are listed in `warnings`. Values of the enumerations are
 * read without regard to case. Throws RegInfoError (see RegInfoErrorCode)
 * and nothing else.
 */
export function parseReginfo(body: Uint8Array | string, options?: RegInfoParseOptions): RegInfoDocument {
  const root = readXmlDocument(
    body,
    'reginfo',
    {
      maxBytes: options?.maxBytes ?? REGINFO_DEFAULT_MAX_BYTES,
      maxDepth: options?.maxDepth ?? REGINFO_DEFAULT_MAX_DEPTH,
      maxElements: options?.maxElements ?? REGINFO_DEFAULT_MAX_ELEMENTS,
    },
    CODES,
    (code, message, errorOptions) => new RegInfoError(code, message, errorOptions),
  );
  if (root.uri !== REGINFO_NS || root.local !== 'reginfo') {
    throw new RegInfoError(
      'REGINFO_ERR_NOT_REGINFO',
      `reginfo: root element is {${root.uri}}${root.local}, not {${REGINFO_NS}}reginfo`,
    );
  }
  const rawVersion = root.attributes.get('version');
  const version = rawVersion === undefined ? undefined : parseNonNegativeInteger(rawVersion);
  if (version === undefined) throw invalid(`version ${JSON.stringify(rawVersion ?? '')} is not a non-negative integer`);
  const state = parseXmlEnum(root.attributes.get('state'), DOCUMENT_STATES);
  if (state === undefined) {
    throw invalid(`state ${JSON.stringify(root.attributes.get('state') ?? '')} is not full or partial`);
  }
  const warnings: string[] = [];
  const registrations: RegInfoRegistration[] = [];
  for (const child of root.children) {
    if (child.uri === REGINFO_NS && child.local === 'registration') registrations.push(readRegistration(child, warnings));
  }
  return { version, state, registrations, warnings };
}
