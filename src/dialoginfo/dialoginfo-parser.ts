import { readXmlDocument } from '../xml/xml-document.js';
import type { XmlElement } from '../xml/xml-tree.js';
import { parseNonNegativeInteger, parseXmlEnum } from '../xml/xml-values.js';
import { DialogInfoError } from './dialoginfo-error.js';
import {
  DIALOG_INFO_NS,
  DIALOG_STATE_EVENTS,
  DIALOG_STATES,
  type DialogDirection,
  type DialogIdentity,
  type DialogInfoDialog,
  type DialogInfoDocument,
  type DialogInfoDocumentState,
  type DialogParticipant,
  type DialogTarget,
} from './dialoginfo-types.js';

/** Limits against hostile or broken bodies; every one of them ends in DialogInfoError `DIALOGINFO_ERR_LIMIT`. */
export interface DialogInfoParseOptions {
  /** Maximum body size in bytes (for a string: UTF-16 code units). Default 256 KiB. */
  maxBytes?: number;
  /** Maximum element nesting depth. Default 32. */
  maxDepth?: number;
  /** Maximum number of elements. Default 10000. */
  maxElements?: number;
}

export const DIALOGINFO_DEFAULT_MAX_BYTES = 256 * 1024;
export const DIALOGINFO_DEFAULT_MAX_DEPTH = 32;
export const DIALOGINFO_DEFAULT_MAX_ELEMENTS = 10_000;

const CODES = {
  EMPTY: 'DIALOGINFO_ERR_EMPTY',
  ENCODING: 'DIALOGINFO_ERR_ENCODING',
  XML: 'DIALOGINFO_ERR_XML',
  DOCTYPE: 'DIALOGINFO_ERR_DOCTYPE',
  LIMIT: 'DIALOGINFO_ERR_LIMIT',
} as const;

const DOCUMENT_STATES: readonly DialogInfoDocumentState[] = ['full', 'partial'];
const DIRECTIONS: readonly DialogDirection[] = ['initiator', 'recipient'];

function invalid(message: string): DialogInfoError {
  return new DialogInfoError('DIALOGINFO_ERR_INVALID', 'dialog-info: ' + message);
}

/** An attribute with white space around it dropped; undefined when absent or empty. */
function attribute(element: XmlElement, name: string): string | undefined {
  const value = element.attributes.get(name)?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function readIdentity(element: XmlElement): DialogIdentity {
  const identity: DialogIdentity = { uri: element.text.trim() };
  const display = element.attributes.get('display');
  if (display !== undefined) identity.display = display;
  return identity;
}

function readTarget(element: XmlElement, where: string, warnings: string[]): DialogTarget | undefined {
  const uri = attribute(element, 'uri');
  if (uri === undefined) {
    warnings.push(`${where}: <target> without uri`);
    return undefined;
  }
  const target: DialogTarget = { uri, params: [] };
  for (const child of element.children) {
    if (child.uri !== DIALOG_INFO_NS || child.local !== 'param') continue;
    const name = attribute(child, 'pname');
    if (name === undefined) warnings.push(`${where}: <param> without pname`);
    else target.params.push({ name, value: child.attributes.get('pval') ?? '' });
  }
  return target;
}

function readParticipant(element: XmlElement, where: string, warnings: string[]): DialogParticipant {
  const participant: DialogParticipant = {};
  for (const child of element.children) {
    if (child.uri !== DIALOG_INFO_NS) continue;
    if (child.local === 'identity') participant.identity ??= readIdentity(child);
    else if (child.local === 'target') {
      if (participant.target === undefined) {
        const target = readTarget(child, where, warnings);
        if (target !== undefined) participant.target = target;
      }
    } else if (child.local === 'cseq') {
      const cseq = parseNonNegativeInteger(child.text);
      if (cseq !== undefined) participant.cseq = cseq;
      else warnings.push(`${where}: invalid <cseq> ${JSON.stringify(child.text)}`);
    }
  }
  return participant;
}

function readDialog(element: XmlElement, warnings: string[]): DialogInfoDialog {
  const id = attribute(element, 'id');
  if (id === undefined) throw invalid('a <dialog> has no id attribute');
  const where = `dialog "${id}"`;
  let stateElement: XmlElement | undefined;
  for (const child of element.children) {
    if (child.uri === DIALOG_INFO_NS && child.local === 'state') {
      stateElement = child;
      break;
    }
  }
  if (stateElement === undefined) throw invalid(`${where} has no <state>`);
  const state = parseXmlEnum(stateElement.text, DIALOG_STATES);
  if (state === undefined) throw invalid(`${where}: <state> ${JSON.stringify(stateElement.text)} is not a dialog state`);
  const dialog: DialogInfoDialog = { id, state, routeSet: [] };
  const callId = attribute(element, 'call-id');
  if (callId !== undefined) dialog.callId = callId;
  const localTag = attribute(element, 'local-tag');
  if (localTag !== undefined) dialog.localTag = localTag;
  const remoteTag = attribute(element, 'remote-tag');
  if (remoteTag !== undefined) dialog.remoteTag = remoteTag;
  const rawDirection = element.attributes.get('direction');
  if (rawDirection !== undefined) {
    const direction = parseXmlEnum(rawDirection, DIRECTIONS);
    if (direction !== undefined) dialog.direction = direction;
    else warnings.push(`${where}: unknown direction ${JSON.stringify(rawDirection)}`);
  }
  const rawEvent = stateElement.attributes.get('event');
  if (rawEvent !== undefined) {
    const event = parseXmlEnum(rawEvent, DIALOG_STATE_EVENTS);
    if (event !== undefined) dialog.event = event;
    else warnings.push(`${where}: unknown state event ${JSON.stringify(rawEvent)}`);
  }
  const rawCode = stateElement.attributes.get('code');
  if (rawCode !== undefined) {
    const code = parseNonNegativeInteger(rawCode, 699);
    if (code !== undefined && code >= 100) dialog.code = code;
    else warnings.push(`${where}: invalid state code ${JSON.stringify(rawCode)}`);
  }
  for (const child of element.children) {
    if (child.uri !== DIALOG_INFO_NS) continue;
    switch (child.local) {
      case 'duration': {
        const duration = parseNonNegativeInteger(child.text);
        if (duration !== undefined) dialog.duration = duration;
        else warnings.push(`${where}: invalid <duration> ${JSON.stringify(child.text)}`);
        break;
      }
      case 'replaces': {
        const replacesCallId = attribute(child, 'call-id');
        if (replacesCallId === undefined) warnings.push(`${where}: <replaces> without call-id`);
        else {
          dialog.replaces = {
            callId: replacesCallId,
            localTag: attribute(child, 'local-tag') ?? '',
            remoteTag: attribute(child, 'remote-tag') ?? '',
          };
        }
        break;
      }
      case 'referred-by':
        dialog.referredBy = readIdentity(child);
        break;
      case 'route-set':
        for (const hop of child.children) {
          if (hop.uri === DIALOG_INFO_NS && hop.local === 'hop') dialog.routeSet.push(hop.text.trim());
        }
        break;
      case 'local':
        dialog.local ??= readParticipant(child, `${where} <local>`, warnings);
        break;
      case 'remote':
        dialog.remote ??= readParticipant(child, `${where} <remote>`, warnings);
        break;
      default:
        break;
    }
  }
  return dialog;
}

/**
 * Parses an `application/dialog-info+xml` body (RFC 4235 §4) into a
 * DialogInfoDocument.
 *
 * Namespace-aware; elements of other namespaces and `<session-description>`
 * are skipped. What a subscriber cannot do without (version, state, a
 * dialog's id and `<state>`) makes the document invalid; other bad values are
 * listed in `warnings`. Enumerations are read without regard to case
 * (Kamailio 5.6 sends `<state>Trying</state>`). Throws DialogInfoError (see
 * DialogInfoErrorCode) and nothing else.
 */
export function parseDialogInfo(body: Uint8Array | string, options?: DialogInfoParseOptions): DialogInfoDocument {
  const root = readXmlDocument(
    body,
    'dialog-info',
    {
      maxBytes: options?.maxBytes ?? DIALOGINFO_DEFAULT_MAX_BYTES,
      maxDepth: options?.maxDepth ?? DIALOGINFO_DEFAULT_MAX_DEPTH,
      maxElements: options?.maxElements ?? DIALOGINFO_DEFAULT_MAX_ELEMENTS,
    },
    CODES,
    (code, message, errorOptions) => new DialogInfoError(code, message, errorOptions),
  );
  if (root.uri !== DIALOG_INFO_NS || root.local !== 'dialog-info') {
    throw new DialogInfoError(
      'DIALOGINFO_ERR_NOT_DIALOGINFO',
      `dialog-info: root element is {${root.uri}}${root.local}, not {${DIALOG_INFO_NS}}dialog-info`,
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
  const entity = attribute(root, 'entity') ?? '';
  if (entity === '') warnings.push('<dialog-info> has no entity attribute');
  const dialogs: DialogInfoDialog[] = [];
  for (const child of root.children) {
    if (child.uri === DIALOG_INFO_NS && child.local === 'dialog') dialogs.push(readDialog(child, warnings));
  }
  return { version, state, entity, dialogs, warnings };
}
