import { SaxesParser } from 'saxes';
import { decodeXmlBody, type XmlBodyProblem } from '../xml/xml-body.js';
import { attributeValueOf, type XmlSubsetHandler, XmlSubsetScanner, type XmlTag } from '../xml/xml-subset-scanner.js';
import { qValueOf } from '../xml/xml-values.js';
import { trimString } from '../util/trim-string.js';
import { PidfError } from './pidf-error.js';
import {
  DATA_MODEL_NS,
  PIDF_NS,
  type PidfContact,
  type PidfDevice,
  type PidfNote,
  type PidfPerson,
  type PidfTuple,
  type PresenceDocument,
  type RawElement,
  RPID_NS,
} from './pidf-types.js';
import { RawElementCapture } from './raw-element-capture.js';

/** Limits against hostile or broken bodies; every one of them ends in PidfError `PIDF_ERR_LIMIT`. */
export interface PidfParseOptions {
  /** Maximum body size in bytes (for a string: UTF-16 code units). Default 256 KiB. */
  maxBytes?: number;
  /** Maximum element nesting depth. Default 64. */
  maxDepth?: number;
  /** Maximum number of elements. Default 10000. */
  maxElements?: number;
}

export const PIDF_DEFAULT_MAX_BYTES = 256 * 1024;
export const PIDF_DEFAULT_MAX_DEPTH = 64;
export const PIDF_DEFAULT_MAX_ELEMENTS = 10_000;

// Where the reader is: one of these per open element (a small-int stack, no DOM).
const C_PRESENCE = 1;
const C_TUPLE = 2;
const C_STATUS = 3;
const C_PERSON = 4;
const C_DEVICE = 5;
const C_ACTIVITIES = 6;
const C_MOOD = 7;
const C_PLACE_TYPE = 8;
/** An element whose content is not read (an RPID value element, markup inside a text-only element). */
const C_SKIP = 9;
// Text-only elements: character data is collected only while one of these is on top.
const C_TEXT_FIRST = 20;
const C_BASIC = 20;
const C_CONTACT = 21;
const C_NOTE = 22;
const C_TIMESTAMP = 23;
const C_DEVICE_ID = 24;
const C_OTHER = 25;

type TextOwner = { timestamp?: string; deviceId?: string; notes: readonly PidfNote[] };

/**
 * One parse. Handlers are bound once per parser instance; the per-document
 * state lives here and is reset by `begin()`. The same handlers are fed by
 * the fast subset scanner (bytes, the usual PIDF) or, for anything it leaves
 * alone, by saxes (the whole of XML 1.0 with namespaces, and every error).
 */
class PidfReader implements XmlSubsetHandler {
  private readonly sax: SaxesParser<{ xmlns: true; position: false }>;
  private readonly scanner = new XmlSubsetScanner();
  private readonly capture = new RawElementCapture();
  private doc!: PresenceDocument;
  /**
   * The first `open` entries of contexts and langs are those of the open elements. The
   * arrays keep their length from document to document: setting an array's length to 0
   * frees its backing store, and the next push allocates a new one (issue 11).
   */
  private contexts: number[] = [];
  private open = 0;
  /** `xml:lang` in effect per open element (XML 1.0 §2.12: inherited by descendants). */
  private langs: (string | undefined)[] = [];
  private text = '';
  private tuple: PidfTuple | undefined;
  private tupleHasStatus = false;
  private person: PidfPerson | undefined;
  private device: PidfDevice | undefined;
  private contactPriority: number | undefined;
  /** Where the element being captured goes once closed: `captureOwner[captureKey]`. */
  private captureOwner: ExtensionOwner | undefined;
  private captureKey: ExtensionKey = 'extensions';
  private depth = 0;
  private elements = 0;
  private maxDepth = PIDF_DEFAULT_MAX_DEPTH;
  private maxElements = PIDF_DEFAULT_MAX_ELEMENTS;
  private sawRoot = false;

  constructor() {
    // Position tracking off: it costs per character and only decorates messages.
    this.sax = new SaxesParser({ xmlns: true, position: false });
    this.sax.on('doctype', () => {
      // A DTD can declare entities (external ones: XXE; nested ones: "billion laughs").
      // PIDF needs none, so any DOCTYPE is refused outright.
      throw new PidfError('PIDF_ERR_DOCTYPE', 'PIDF: DOCTYPE is not allowed');
    });
    this.sax.on('opentag', (tag) => this.onOpen(tag));
    this.sax.on('closetag', (tag) => this.onClose(tag));
    this.sax.on('text', (value) => this.onText(value));
    this.sax.on('cdata', (value) => this.onText(value));
  }

  private begin(options: PidfParseOptions | undefined): void {
    this.maxDepth = options?.maxDepth ?? PIDF_DEFAULT_MAX_DEPTH;
    this.maxElements = options?.maxElements ?? PIDF_DEFAULT_MAX_ELEMENTS;
    this.doc = { entity: '', tuples: NO_ITEMS, persons: NO_ITEMS, devices: NO_ITEMS, notes: NO_ITEMS, extensions: NO_ITEMS, warnings: NO_ITEMS };
    this.open = 0;
    this.text = '';
    this.tuple = undefined;
    this.person = undefined;
    this.device = undefined;
    this.captureOwner = undefined;
    this.capture.reset();
    this.depth = 0;
    this.elements = 0;
    this.sawRoot = false;
  }

  private finish(): PresenceDocument {
    const doc = this.doc;
    this.doc = undefined as unknown as PresenceDocument; // do not keep the last document alive
    return doc;
  }

  /**
   * The fast path: the body's bytes through the subset scanner. Undefined when
   * the body holds something the scanner leaves to saxes (then nothing of this
   * attempt is kept); a PidfError from the handlers (a limit, not PIDF) is final,
   * as saxes would have reached it the same way.
   */
  parseBytes(body: Uint8Array, options: PidfParseOptions | undefined): PresenceDocument | undefined {
    this.begin(options);
    let read: boolean;
    try {
      read = this.scanner.scan(body, this);
    } catch (error) {
      this.capture.reset();
      if (error instanceof PidfError) throw error;
      read = false;
    }
    if (!read) {
      this.capture.reset();
      this.doc = undefined as unknown as PresenceDocument;
      return undefined;
    }
    return this.finish();
  }

  parse(xml: string, options: PidfParseOptions | undefined): PresenceDocument {
    this.begin(options);
    try {
      this.sax.write(xml);
      this.sax.close();
    } catch (error) {
      // The saxes instance is in an unknown state after a throw: start it afresh.
      this.sax._init();
      this.capture.reset();
      if (error instanceof PidfError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new PidfError('PIDF_ERR_XML', 'PIDF: not well-formed XML: ' + message, { cause: error });
    }
    return this.finish();
  }

  /** @internal XmlSubsetHandler */
  openTag(tag: XmlTag): void {
    this.onOpen(tag);
  }

  /** @internal XmlSubsetHandler */
  closeTag(tag: XmlTag): void {
    this.onClose(tag);
  }

  /** @internal XmlSubsetHandler: character data is read only inside text-only elements and captures. */
  wantsText(): boolean {
    if (this.capture.active) return true;
    return this.open > 0 && this.contexts[this.open - 1]! >= C_TEXT_FIRST;
  }

  /** @internal XmlSubsetHandler */
  characters(value: string): void {
    this.onText(value);
  }

  private onOpen(tag: XmlTag): void {
    if (++this.elements > this.maxElements) {
      throw new PidfError('PIDF_ERR_LIMIT', `PIDF: more than ${this.maxElements} elements`);
    }
    if (++this.depth > this.maxDepth) {
      throw new PidfError('PIDF_ERR_LIMIT', `PIDF: elements nested deeper than ${this.maxDepth}`);
    }
    if (this.capture.active) {
      this.capture.open(tag);
      return;
    }
    const langAttribute = attributeValueOf(tag, 'xml:lang');
    const parentLang = this.open > 0 ? this.langs[this.open - 1] : undefined;
    const lang = langAttribute !== undefined ? langAttribute : parentLang;
    const top = this.open > 0 ? this.contexts[this.open - 1]! : 0;
    const uri = tag.uri;
    const local = tag.local;
    let next = C_SKIP;
    switch (top) {
      case 0:
        next = this.openRoot(tag);
        break;
      case C_PRESENCE:
        if (uri === PIDF_NS && local === 'tuple') {
          this.tuple = {
            id: this.idOf(tag, 'tuple'),
            notes: NO_ITEMS,
            statusExtensions: NO_ITEMS,
            extensions: NO_ITEMS,
          };
          this.tupleHasStatus = false;
          next = C_TUPLE;
        } else if (uri === PIDF_NS && local === 'note') {
          next = C_NOTE;
        } else if (uri === DATA_MODEL_NS && local === 'person') {
          this.person = {
            id: this.idOf(tag, 'dm:person'),
            activities: NO_ITEMS,
            mood: NO_ITEMS,
            placeType: NO_ITEMS,
            notes: NO_ITEMS,
            extensions: NO_ITEMS,
          };
          next = C_PERSON;
        } else if (uri === DATA_MODEL_NS && local === 'device') {
          this.device = { id: this.idOf(tag, 'dm:device'), notes: NO_ITEMS, extensions: NO_ITEMS };
          next = C_DEVICE;
        } else {
          this.beginCapture(tag, this.doc, 'extensions');
          return;
        }
        break;
      case C_TUPLE:
        if (uri === PIDF_NS) {
          if (local === 'status') {
            this.tupleHasStatus = true;
            next = C_STATUS;
          } else if (local === 'contact') {
            this.contactPriority = this.priorityOf(tag);
            next = C_CONTACT;
          } else if (local === 'note') next = C_NOTE;
          else if (local === 'timestamp') next = C_TIMESTAMP;
        } else if (uri === DATA_MODEL_NS && local === 'deviceID') {
          next = C_DEVICE_ID;
        }
        if (next === C_SKIP) {
          this.beginCapture(tag, this.tuple!, 'extensions');
          return;
        }
        break;
      case C_STATUS:
        if (uri === PIDF_NS && local === 'basic') next = C_BASIC;
        else {
          this.beginCapture(tag, this.tuple!, 'statusExtensions');
          return;
        }
        break;
      case C_PERSON:
        if (uri === RPID_NS && local === 'activities') next = C_ACTIVITIES;
        else if (uri === RPID_NS && local === 'mood') next = C_MOOD;
        else if (uri === RPID_NS && local === 'place-type') next = C_PLACE_TYPE;
        // dm:note per RFC 4479; a pidf:note here is a common slip, read it too.
        else if ((uri === DATA_MODEL_NS || uri === PIDF_NS) && local === 'note') next = C_NOTE;
        else if (uri === DATA_MODEL_NS && local === 'timestamp') next = C_TIMESTAMP;
        else {
          this.beginCapture(tag, this.person!, 'extensions');
          return;
        }
        break;
      case C_DEVICE:
        if (uri === DATA_MODEL_NS && local === 'deviceID') next = C_DEVICE_ID;
        else if ((uri === DATA_MODEL_NS || uri === PIDF_NS) && local === 'note') next = C_NOTE;
        else if (uri === DATA_MODEL_NS && local === 'timestamp') next = C_TIMESTAMP;
        else {
          this.beginCapture(tag, this.device!, 'extensions');
          return;
        }
        break;
      case C_ACTIVITIES:
      case C_MOOD:
      case C_PLACE_TYPE:
        // RFC 4480: each value is an empty element named after it; <other> carries free text.
        // (An <rpid:note> in here annotates the values; it is not read.)
        if (uri === RPID_NS && local === 'other') next = C_OTHER;
        else if (!(uri === RPID_NS && local === 'note')) this.addValue(top, local);
        break;
      default:
        // Inside a text-only element or a skipped one: markup is ignored.
        break;
    }
    if (next >= C_TEXT_FIRST) this.text = '';
    this.contexts[this.open] = next;
    this.langs[this.open] = lang;
    this.open++;
  }

  private openRoot(tag: XmlTag): number {
    if (this.sawRoot) return C_SKIP;
    this.sawRoot = true;
    if (tag.uri !== PIDF_NS || tag.local !== 'presence') {
      throw new PidfError(
        'PIDF_ERR_NOT_PIDF',
        `PIDF: root element is {${tag.uri}}${tag.local}, not {${PIDF_NS}}presence`,
      );
    }
    const entity = attributeValueOf(tag, 'entity');
    if (entity === undefined || trimString(entity) === '') {
      this.warn('<presence> has no entity attribute');
    } else {
      this.doc.entity = trimString(entity);
    }
    return C_PRESENCE;
  }

  private onClose(tag: XmlTag): void {
    this.depth--;
    if (this.capture.active) {
      const element = this.capture.close(tag);
      if (element !== undefined) {
        const owner = this.captureOwner!;
        owner[this.captureKey] = appended(owner[this.captureKey] ?? NO_ITEMS, element);
        this.captureOwner = undefined;
      }
      return;
    }
    // An end tag always matches an open element here (both readers check that first).
    const at = --this.open;
    const context = this.contexts[at];
    const lang = this.langs[at];
    this.langs[at] = undefined;
    switch (context) {
      case C_TUPLE: {
        const tuple = this.tuple!;
        if (!this.tupleHasStatus) this.warn(`tuple "${tuple.id}" has no <status>`);
        this.doc.tuples = appended(this.doc.tuples, tuple);
        this.tuple = undefined;
        break;
      }
      case C_PERSON:
        this.doc.persons = appended(this.doc.persons, this.person!);
        this.person = undefined;
        break;
      case C_DEVICE:
        this.doc.devices = appended(this.doc.devices, this.device!);
        this.device = undefined;
        break;
      case C_BASIC: {
        const value = trimString(this.text);
        if (value === 'open' || value === 'closed') this.tuple!.basic = value;
        else this.warn(`tuple "${this.tuple!.id}": invalid <basic> value ${JSON.stringify(value)}`);
        break;
      }
      case C_CONTACT: {
        // Built with all its properties at once: adding one to a literal allocates a property store.
        const uri = trimString(this.text);
        const priority = this.contactPriority;
        const contact: PidfContact = priority === undefined ? { uri } : { uri, priority };
        this.tuple!.contact = contact;
        break;
      }
      case C_NOTE: {
        const note: PidfNote = lang === undefined ? { text: this.text } : { text: this.text, lang };
        const owner = this.owner();
        if (owner !== undefined) owner.notes = appended(owner.notes, note);
        break;
      }
      case C_TIMESTAMP: {
        const owner = this.owner();
        if (owner !== undefined) owner.timestamp = trimString(this.text);
        break;
      }
      case C_DEVICE_ID: {
        const owner = this.owner();
        if (owner !== undefined) owner.deviceId = trimString(this.text);
        break;
      }
      case C_OTHER: {
        const value = trimString(this.text);
        const list = this.contexts[this.open - 1]!;
        if (value !== '') this.addValue(list, value);
        break;
      }
      default:
        break;
    }
  }

  private onText(value: string): void {
    if (this.capture.active) {
      this.capture.text(value);
      return;
    }
    if (this.open > 0 && this.contexts[this.open - 1]! >= C_TEXT_FIRST) this.text += value;
  }

  /** The element that a note, timestamp or deviceID being read belongs to. */
  private owner(): TextOwner | undefined {
    const parent = this.open > 0 ? this.contexts[this.open - 1] : undefined;
    switch (parent) {
      case C_PRESENCE:
        return this.doc;
      case C_TUPLE:
        return this.tuple;
      case C_PERSON:
        return this.person;
      case C_DEVICE:
        return this.device;
      default:
        return undefined;
    }
  }

  private addValue(context: number, value: string): void {
    const person = this.person!;
    if (context === C_ACTIVITIES) person.activities = appended(person.activities, value);
    else if (context === C_MOOD) person.mood = appended(person.mood, value);
    else person.placeType = appended(person.placeType, value);
  }

  private beginCapture(tag: XmlTag, owner: ExtensionOwner, key: ExtensionKey): void {
    // RFC 3863 (pidf:mustUnderstand): an extension so marked must not be skipped silently.
    for (const name in tag.attributes) {
      const attribute = tag.attributes[name]!;
      if (attribute.local === 'mustUnderstand' && attribute.uri === PIDF_NS) {
        const value = trimString(attribute.value);
        if (value === 'true' || value === '1') {
          this.warn(`unsupported extension {${tag.uri}}${tag.local} is marked mustUnderstand`);
        }
      }
    }
    this.captureOwner = owner;
    this.captureKey = key;
    this.capture.begin(tag);
  }

  /** A warning for the document (its list starts as the shared empty one, see NO_ITEMS). */
  private warn(warning: string): void {
    this.doc.warnings = appended(this.doc.warnings, warning);
  }

  private idOf(tag: XmlTag, what: string): string {
    const id = attributeValueOf(tag, 'id');
    if (id === undefined || id === '') {
      this.warn(`<${what}> without id`);
      return '';
    }
    return id;
  }

  private priorityOf(tag: XmlTag): number | undefined {
    const attribute = attributeValueOf(tag, 'priority');
    if (attribute === undefined) return undefined;
    const value = trimString(attribute);
    const priority = qValueOf(value);
    if (priority !== undefined) return priority;
    this.warn(`tuple "${this.tuple!.id}": invalid contact priority ${JSON.stringify(value)}`);
    return undefined;
  }
}

/**
 * The lists of a parsed document that stay empty (most of them: a document has 16 lists and
 * usually fills 5 or 6) are this one array, frozen, instead of an array each (32 B per list,
 * ≈ 0.5 KB per document, issue 11); a list's first element gets an array of its own (appended).
 * A parsed document is read, not edited (as the shared empty parameter Map of the SIP codec):
 * a consumer that wants to add to an empty list assigns a new array.
 */
const NO_ITEMS = Object.freeze([]) as unknown as never[];

/** The elements with lists of extensions, and the names of those lists. */
type ExtensionKey = 'extensions' | 'statusExtensions';
type ExtensionOwner = { [K in ExtensionKey]?: readonly RawElement[] };

/**
 * `list` with `item` at the end. Most lists of a presence document hold one
 * element; a push onto an empty array reserves room for 16 (about 130 bytes
 * more per list), so a first element gets an array of its own size instead.
 */
function appended<T>(list: readonly T[], item: T): readonly T[] {
  if (list.length === 0) return [item];
  // Not empty: an array this reader made (the shared empty one is the only other kind), still its own to fill.
  (list as T[]).push(item);
  return list;
}

const BODY_CODES = { LIMIT: 'PIDF_ERR_LIMIT', ENCODING: 'PIDF_ERR_ENCODING', EMPTY: 'PIDF_ERR_EMPTY' } as const;

function pidfBodyError(problem: XmlBodyProblem, message: string, cause?: unknown): PidfError {
  return new PidfError(BODY_CODES[problem], message, cause === undefined ? undefined : { cause });
}

let reader: PidfReader | undefined;
let readerBusy = false;

/**
 * Parses an `application/pidf+xml` body (RFC 3863) into a PresenceDocument.
 *
 * Namespace-aware: elements are recognized by namespace URI and local name,
 * whatever prefixes the sender chose. A well-formed PIDF with invalid values
 * (baresip's `<basic>?</basic>`) is still returned, with the problems listed
 * in `warnings`. Throws PidfError (see PidfErrorCode) for everything else;
 * never throws anything other than PidfError.
 */
export function parsePidf(body: Uint8Array | string, options?: PidfParseOptions): PresenceDocument {
  const maxBytes = options?.maxBytes ?? PIDF_DEFAULT_MAX_BYTES;
  // One reader is reused (its saxes instance costs more to build than a small document to parse);
  // a re-entrant call, which cannot normally happen, gets its own.
  const owner = !readerBusy;
  if (owner && reader === undefined) reader = new PidfReader();
  const current = owner && reader !== undefined ? reader : new PidfReader();
  readerBusy = true;
  try {
    if (typeof body !== 'string' && body.length <= maxBytes) {
      const fast = current.parseBytes(body, options);
      if (fast !== undefined) return fast;
    }
    const xml = decodeXmlBody(body, maxBytes, 'PIDF', pidfBodyError);
    return current.parse(xml, options);
  } finally {
    if (owner) readerBusy = false;
  }
}
