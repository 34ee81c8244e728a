import { PidfError } from './pidf-error.js';
import { type BasicStatus, DATA_MODEL_NS, PIDF_NS, type PidfNote, type RawElement, RPID_NS } from './pidf-types.js';
import { LOCATION_TYPE_NS, LOCATION_TYPES, RPID_ACTIVITIES, RPID_MOODS } from './rpid-values.js';
import { escapeXmlAttribute as attr, escapeXmlText as text } from '../xml/xml-escape.js';

/** A note: plain text, or text with its language. */
export type PidfNoteInput = string | PidfNote;

/** Extension elements are written verbatim: the caller vouches that they are well-formed XML. */
export type PidfExtensionInput = string | RawElement;

export interface PidfTupleInput {
  id: string;
  basic?: BasicStatus;
  note?: PidfNoteInput;
  notes?: readonly PidfNoteInput[];
  /** Contact URI. */
  contact?: string;
  /** Contact priority, a qvalue in [0, 1] (written with at most 3 decimals). */
  priority?: number;
  timestamp?: string | Date;
  deviceId?: string;
  statusExtensions?: readonly PidfExtensionInput[];
  extensions?: readonly PidfExtensionInput[];
}

export interface PidfPersonInput {
  id: string;
  activities?: readonly string[];
  mood?: readonly string[];
  placeType?: readonly string[];
  note?: PidfNoteInput;
  notes?: readonly PidfNoteInput[];
  timestamp?: string | Date;
  extensions?: readonly PidfExtensionInput[];
}

export interface PidfDeviceInput {
  id: string;
  deviceId?: string;
  note?: PidfNoteInput;
  notes?: readonly PidfNoteInput[];
  timestamp?: string | Date;
  extensions?: readonly PidfExtensionInput[];
}

export interface PidfDocumentInput {
  entity: string;
  tuples?: readonly PidfTupleInput[];
  persons?: readonly PidfPersonInput[];
  devices?: readonly PidfDeviceInput[];
  note?: PidfNoteInput;
  notes?: readonly PidfNoteInput[];
  extensions?: readonly PidfExtensionInput[];
}

function notesOf(item: { note?: PidfNoteInput; notes?: readonly PidfNoteInput[] }): PidfNoteInput[] {
  const out: PidfNoteInput[] = [];
  if (item.note !== undefined) out.push(item.note);
  if (item.notes !== undefined) out.push(...item.notes);
  return out;
}

function writeNotes(notes: PidfNoteInput[], qname: string): string {
  let out = '';
  for (const note of notes) {
    if (typeof note === 'string') out += `<${qname}>${text(note)}</${qname}>`;
    else {
      const lang = note.lang !== undefined ? ` xml:lang="${attr(note.lang)}"` : '';
      out += `<${qname}${lang}>${text(note.text)}</${qname}>`;
    }
  }
  return out;
}

function timestampText(value: string | Date): string {
  if (typeof value === 'string') return value;
  if (Number.isNaN(value.getTime())) throw new PidfError('PIDF_ERR_ARGUMENT', 'PIDF: invalid Date for timestamp');
  return value.toISOString();
}

function writeExtensions(extensions: readonly PidfExtensionInput[] | undefined): string {
  if (extensions === undefined) return '';
  let out = '';
  for (const extension of extensions) out += typeof extension === 'string' ? extension : extension.xml;
  return out;
}

function qvalue(priority: number): string {
  if (!(priority >= 0 && priority <= 1)) {
    throw new PidfError('PIDF_ERR_ARGUMENT', `PIDF: contact priority ${priority} is not in [0, 1]`);
  }
  // RFC 3261 §25.1 qvalue: at most three decimals.
  return String(Math.round(priority * 1000) / 1000);
}

/** RPID values: known ones as empty elements, anything else as <rpid:other>. */
function writeValues(values: readonly string[], known: ReadonlySet<string>, prefix: string): string {
  let out = '';
  for (const value of values) {
    out += known.has(value) ? `<${prefix}:${value}/>` : `<rpid:other>${text(value)}</rpid:other>`;
  }
  return out;
}

/**
 * Writes a PIDF document (RFC 3863) with the data-model (RFC 4479) and RPID
 * (RFC 4480) elements used here; `parsePidf(buildPidf(x))` reads back what
 * was written. The `dm`/`rpid`/`lt` namespaces are declared only when used.
 * Text and attribute values are escaped; characters XML cannot carry become
 * U+FFFD. Throws PidfError `PIDF_ERR_ARGUMENT` for an out-of-range priority
 * or an invalid Date.
 */
export function buildPidf(input: PidfDocumentInput): string {
  const tuples = input.tuples ?? [];
  const persons = input.persons ?? [];
  const devices = input.devices ?? [];
  let usesDataModel = persons.length > 0 || devices.length > 0;
  let usesRpid = false;
  let usesLocationType = false;

  let body = '';
  for (const tuple of tuples) {
    body += `<tuple id="${attr(tuple.id)}">`;
    body += '<status>';
    if (tuple.basic !== undefined) body += `<basic>${tuple.basic}</basic>`;
    body += writeExtensions(tuple.statusExtensions);
    body += '</status>';
    if (tuple.deviceId !== undefined) {
      usesDataModel = true;
      body += `<dm:deviceID>${text(tuple.deviceId)}</dm:deviceID>`;
    }
    body += writeExtensions(tuple.extensions);
    if (tuple.contact !== undefined) {
      const priority = tuple.priority !== undefined ? ` priority="${qvalue(tuple.priority)}"` : '';
      body += `<contact${priority}>${text(tuple.contact)}</contact>`;
    }
    body += writeNotes(notesOf(tuple), 'note');
    if (tuple.timestamp !== undefined) body += `<timestamp>${text(timestampText(tuple.timestamp))}</timestamp>`;
    body += '</tuple>';
  }
  body += writeNotes(notesOf(input), 'note');
  for (const person of persons) {
    body += `<dm:person id="${attr(person.id)}">`;
    if (person.activities !== undefined && person.activities.length > 0) {
      usesRpid = true;
      body += `<rpid:activities>${writeValues(person.activities, RPID_ACTIVITIES, 'rpid')}</rpid:activities>`;
    }
    if (person.mood !== undefined && person.mood.length > 0) {
      usesRpid = true;
      body += `<rpid:mood>${writeValues(person.mood, RPID_MOODS, 'rpid')}</rpid:mood>`;
    }
    if (person.placeType !== undefined && person.placeType.length > 0) {
      usesRpid = true;
      if (person.placeType.some((value) => LOCATION_TYPES.has(value))) usesLocationType = true;
      body += `<rpid:place-type>${writeValues(person.placeType, LOCATION_TYPES, 'lt')}</rpid:place-type>`;
    }
    body += writeExtensions(person.extensions);
    body += writeNotes(notesOf(person), 'dm:note');
    if (person.timestamp !== undefined) {
      body += `<dm:timestamp>${text(timestampText(person.timestamp))}</dm:timestamp>`;
    }
    body += '</dm:person>';
  }
  for (const device of devices) {
    body += `<dm:device id="${attr(device.id)}">`;
    body += writeExtensions(device.extensions);
    if (device.deviceId !== undefined) body += `<dm:deviceID>${text(device.deviceId)}</dm:deviceID>`;
    body += writeNotes(notesOf(device), 'dm:note');
    if (device.timestamp !== undefined) {
      body += `<dm:timestamp>${text(timestampText(device.timestamp))}</dm:timestamp>`;
    }
    body += '</dm:device>';
  }
  body += writeExtensions(input.extensions);

  let declarations = `xmlns="${PIDF_NS}"`;
  if (usesDataModel) declarations += ` xmlns:dm="${DATA_MODEL_NS}"`;
  if (usesRpid) declarations += ` xmlns:rpid="${RPID_NS}"`;
  if (usesLocationType) declarations += ` xmlns:lt="${LOCATION_TYPE_NS}"`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<presence ${declarations} entity="${attr(input.entity)}">${body}</presence>\n`
  );
}
