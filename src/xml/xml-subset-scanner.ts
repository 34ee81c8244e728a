import { isUtf8 } from 'node:buffer';
import { internalize } from '../util/copy-string.js';
import { trimString } from '../util/trim-string.js';

/**
 * A fast, allocation-light reader for the plain subset of namespace-aware
 * XML 1.0 that presence documents are written in: an optional XML
 * declaration, elements, attributes, namespace declarations, character data
 * with the five predefined entities and character references, CDATA sections
 * and comments. It reads UTF-8
 * bytes directly (no decoded copy of the document) and makes strings only for
 * what its handler keeps; element and namespace names are shared between
 * documents.
 *
 * It never decides that a document is malformed: at the first thing outside
 * that subset or not plainly well-formed (DOCTYPE, processing
 * instruction, CR, a non-ASCII name, another entity, an unbound
 * prefix, a duplicate attribute, a mismatched end tag, bytes that are not
 * UTF-8, …) it stops and returns false, and the caller reads the document again
 * with a complete parser (saxes), which accepts it or says what is wrong. What
 * it does accept, it reports exactly as saxes does with `xmlns: true`: the
 * same tags (name, prefix, local, uri, attributes in document order with the
 * namespace declarations among them, the tag's own declarations in `ns`,
 * `isSelfClosing`), attribute values normalised as XML 1.0 §3.3.3 asks for
 * CDATA attributes, and the same character data (test/unit/xml/xml-subset-
 * scanner.test.ts compares the two on every fixture and on random documents).
 */

export const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';

/** An attribute as saxes reports it in namespace mode. */
export interface XmlAttribute {
  name: string;
  prefix: string;
  local: string;
  uri: string;
  value: string;
}

/** A start tag as saxes reports it in namespace mode (`SaxesTagNS`). */
export interface XmlTag {
  name: string;
  prefix: string;
  local: string;
  uri: string;
  attributes: Record<string, XmlAttribute>;
  /** The namespace declarations made on this element (prefix → URI; '' is the default namespace). */
  ns: Record<string, string>;
  isSelfClosing: boolean;
}

/**
 * What the scanner reports to. The tag given to `openTag` is the one given to
 * the matching `closeTag`; the scanner reuses the object after that (one per
 * depth), so a handler copies what it keeps rather than the tag itself.
 */
export interface XmlSubsetHandler {
  openTag(tag: XmlTag): void;
  closeTag(tag: XmlTag): void;
  /** Whether character data at this point is used: it is checked all the same, but decoded only if so. */
  wantsText(): boolean;
  characters(value: string): void;
}

type Slice = (this: Uint8Array, start: number, end: number) => string;
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: Slice }).latin1Slice;
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice: Slice }).utf8Slice;

/**
 * The text of ASCII bytes b[start, end): a short one (most attribute values and element text of a
 * presence document: ids, `open`, a priority) made here by String.fromCharCode, which V8 runs
 * without leaving JavaScript; a longer one by latin1Slice. That is a call into C++ costing more than
 * the few characters it copies (issue 11: about 500 instructions per call, 11 per PIDF document).
 */
function asciiText(b: Uint8Array, start: number, end: number): string {
  const s = start;
  switch (end - start) {
    case 0:
      return '';
    case 1:
      return String.fromCharCode(b[s]!);
    case 2:
      return String.fromCharCode(b[s]!, b[s + 1]!);
    case 3:
      return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!);
    case 4:
      return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!);
    case 5:
      return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!);
    case 6:
      return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!);
    case 7:
      return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!);
    case 8:
      return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!);
    default:
      return latin1Slice.call(b, start, end);
  }
}

const EMPTY = new Uint8Array(0);
const NO_ATTRIBUTES: Record<string, XmlAttribute> = Object.freeze(Object.create(null) as Record<string, XmlAttribute>);
const NO_DECLARATIONS: Record<string, string> = Object.freeze(Object.create(null) as Record<string, string>);

const LT = 0x3c;
const GT = 0x3e;
const AMP = 0x26;
const SLASH = 0x2f;
const EQ = 0x3d;
const COLON = 0x3a;
const QUOT = 0x22;
const APOS = 0x27;
const SEMI = 0x3b;
const HASH = 0x23;
const QUESTION = 0x3f;
const BANG = 0x21;
const DASH = 0x2d;

/** Bytes 0-127 that may start an ASCII XML name (XML 1.0 §2.3 NameStartChar; the colon is handled apart). */
const NAME_START = new Uint8Array(128);
/** Bytes 0-127 that may continue one (NameChar). */
const NAME_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
  NAME_START[c] = letter ? 1 : 0;
  NAME_CHAR[c] = letter || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e ? 1 : 0;
}

// What each byte is to the character-data and attribute-value loops (one table load per byte).
const K_PLAIN = 0;
/** TAB, LF: plain in text, a space in an attribute value. */
const K_TAB_LF = 1;
const K_QUOTE = 2;
/** A UTF-8 lead or continuation byte other than 0xEF. */
const K_HIGH = 3;
/** 0xEF: may start U+FFFE or U+FFFF, which are not XML characters. */
const K_EF = 4;
const K_RBRACKET = 5;
const K_AMP = 6;
const K_LT = 7;
/** Other C0 controls, CR included (line-end normalisation is left to saxes). */
const K_CONTROL = 8;
const CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  CLASS[c] =
    c === 0x09 || c === 0x0a
      ? K_TAB_LF
      : c < 0x20
        ? K_CONTROL
        : c === QUOT || c === APOS
          ? K_QUOTE
          : c === 0x5d
            ? K_RBRACKET
            : c === AMP
              ? K_AMP
              : c === LT
                ? K_LT
                : c === 0xef
                  ? K_EF
                  : c >= 0x80
                    ? K_HIGH
                    : K_PLAIN;
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09;
}

/** XML 1.0 §2.2 Char, for what a character reference names. */
function isXmlChar(cp: number): boolean {
  return cp === 0x09 || cp === 0x0a || cp === 0x0d || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/**
 * A name or namespace URI as the scanner keeps it: its bytes, its string and,
 * for a QName, the strings of its prefix and local part, so that a tag's
 * three names cost one lookup (issue 11: the name table was a tenth of the parse).
 */
class NameEntry {
  constructor(
    readonly bytes: Uint8Array,
    readonly text: string,
    /** '' without a colon. */
    readonly prefix: string,
    /** The whole name without a colon. */
    readonly local: string,
  ) {}
}

/**
 * Strings for names and namespace URIs, shared between documents: the same few
 * dozen names come in every NOTIFY. Bounded, so that a stream of invented names
 * cannot grow it: once full, new names are simply not kept. A lookup compares
 * every byte, so the hash may be weak: it reads the length and three bytes, not
 * the whole name (names that share them only cost a probe or a fresh string).
 */
class NameTable {
  private readonly slots: Array<NameEntry | undefined> = new Array(512).fill(undefined);
  private count = 0;

  /**
   * The entry for the bytes [start, end) of `b`; `colon` is the index of the
   * QName's colon, or -1 (the entry's prefix and local part are made from it the first time only).
   */
  get(b: Uint8Array, start: number, end: number, colon: number): NameEntry {
    const length = end - start;
    const index = hashOf(b, start, end) & 511;
    for (let k = 0; k < 4; k++) {
      const slot = this.slots[(index + k) & 511];
      if (slot === undefined) break;
      const bytes = slot.bytes;
      if (bytes.length === length) {
        let i = 0;
        while (i < length && bytes[i] === b[start + i]) i++;
        if (i === length) return slot;
      }
    }
    const keep = this.count < 384;
    // A kept name is internalized: the readers compare names and namespace URIs with string
    // literals (`uri === PIDF_NS`, `local === 'tuple'`), then by pointer instead of character by character.
    const sliced = latin1Slice.call(b, start, end);
    const text = keep ? internalize(sliced) : sliced;
    const entry =
      colon < 0
        ? new NameEntry(EMPTY, text, '', text)
        : new NameEntry(EMPTY, text, this.get(b, start, colon, -1).text, this.get(b, colon + 1, end, -1).text);
    if (keep) {
      for (let k = 0; k < 4; k++) {
        const at = (index + k) & 511;
        if (this.slots[at] === undefined) {
          // A copy: a view (Buffer#slice) would hold the whole message's memory for as long as the table.
          this.slots[at] = new NameEntry(new Uint8Array(b.subarray(start, end)), text, entry.prefix, entry.local);
          this.count++;
          break;
        }
      }
    }
    return entry;
  }
}

/** A weak hash of [start, end): the length, the first, middle and last bytes (see NameTable). */
function hashOf(b: Uint8Array, start: number, end: number): number {
  const length = end - start;
  if (length <= 0) return 0;
  let h = Math.imul(length, 31) + b[start]!;
  h = Math.imul(h, 31) + b[start + (length >> 1)]!;
  h = Math.imul(h, 31) + b[end - 1]!;
  return (h ^ (h >>> 7)) | 0;
}

/**
 * The tags the scanner hands out. `attributes` and `ns` are built only when
 * asked for (most handlers read one or two attribute values, which
 * attributeValueOf() finds without them): until the element closes, its
 * attributes and declarations stay in the scanner's arrays, where the
 * elements opened inside it put theirs above.
 */
class ScannedTag implements XmlTag {
  name = '';
  prefix = '';
  local = '';
  uri = '';
  isSelfClosing = false;
  /** Where its attributes are in the scanner's arrays, and how many. */
  attributeFirst = 0;
  attributeCount = 0;
  /** Where its own namespace declarations are in the scanner's binding arrays. */
  bindingFirst = 0;
  bindingEnd = 0;
  private attributesBuilt: Record<string, XmlAttribute> | undefined = undefined;
  private nsBuilt: Record<string, string> | undefined = undefined;

  constructor(private readonly scanner: XmlSubsetScanner) {}

  get attributes(): Record<string, XmlAttribute> {
    if (this.attributesBuilt === undefined) this.attributesBuilt = this.scanner.attributesOf(this);
    return this.attributesBuilt;
  }

  set attributes(value: Record<string, XmlAttribute>) {
    this.attributesBuilt = value;
  }

  get ns(): Record<string, string> {
    if (this.nsBuilt === undefined) this.nsBuilt = this.scanner.declarationsOf(this);
    return this.nsBuilt;
  }

  set ns(value: Record<string, string>) {
    this.nsBuilt = value;
  }

  /** See attributeValueOf. */
  attributeValue(name: string): string | undefined {
    return this.attributesBuilt !== undefined ? this.attributesBuilt[name]?.value : this.scanner.attributeValueIn(this, name);
  }

  /** Forgets what was built for the element it last stood for. */
  clear(): void {
    this.attributesBuilt = undefined;
    this.nsBuilt = undefined;
  }
}

/**
 * The value of the attribute written `name` (prefix included, as a key of
 * `tag.attributes`), or undefined: for a tag of the scanner, without building
 * its `attributes`. Valid while the element is open.
 */
export function attributeValueOf(tag: XmlTag, name: string): string | undefined {
  if (tag instanceof ScannedTag) return tag.attributeValue(name);
  return tag.attributes[name]?.value;
}

/** How many names of a document (in document order) are remembered to be expected in the next one. */
const EXPECTED_NAMES = 64;
/** The longest XML declaration remembered (`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` is 55 bytes). */
const MAX_REMEMBERED_DECLARATION = 128;

/** One reusable scanner; not re-entrant (the PIDF reader keeps one per reader). */
export class XmlSubsetScanner {
  private readonly names = new NameTable();
  private b: Uint8Array = EMPTY;
  private n = 0;
  /** Namespace bindings in scope, innermost last (the first `bindingCount` entries; no length changes, which cost a runtime call each). */
  private readonly bindingPrefixes: string[] = [];
  private readonly bindingUris: string[] = [];
  private bindingCount = 0;
  /** Open elements: their tag, where their name is, how many bindings were in scope before them. */
  private readonly openTags: ScannedTag[] = [];
  /**
   * How many elements are open: the first `depth` entries of openTags, openNameStart,
   * openNameEnd and openBindings. The arrays keep their length (and their memory) from
   * document to document: setting an array's length to 0 frees its backing store, and
   * the next push allocates one of 16 slots again (issue 11: ≈ 600 B per document).
   */
  private depth = 0;
  /** The tag objects handed out, one per depth (see XmlSubsetHandler). */
  private readonly tagPool: ScannedTag[] = [];
  private readonly openNameStart: number[] = [];
  private readonly openNameEnd: number[] = [];
  private readonly openBindings: number[] = [];
  // Attributes: those of the open elements, outermost first, then those of the start tag being
  // read (`attrCount` of them from `attrBase`); an element's stay until it closes (ScannedTag).
  private attrBase = 0;
  private attrCount = 0;
  private readonly attrNames: string[] = [];
  private readonly attrPrefixes: string[] = [];
  private readonly attrLocals: string[] = [];
  private readonly attrValues: string[] = [];
  private readonly attrUris: string[] = [];
  // Results of the last name read.
  private nameEnd = 0;
  private nameColon = -1;
  /** How many names (of elements and attributes) were read in this document. */
  private nameOrdinal = 0;
  /** How many namespace declarations were read in this document. */
  private declarationOrdinal = 0;
  /** The table's entry for each namespace URI declared in the last documents, by its ordinal (attributeValue). */
  private readonly expectedUris: Array<NameEntry | undefined> = new Array<NameEntry | undefined>(EXPECTED_NAMES).fill(undefined);
  /** The XML declaration of the last document that had one, if it was short (a copy), or empty. */
  private lastDeclaration: Uint8Array = EMPTY;
  /** The table's entry for each name read in the last documents, by its ordinal (qualifiedName). */
  private readonly expectedNames: Array<NameEntry | undefined> = new Array<NameEntry | undefined>(EXPECTED_NAMES).fill(undefined);

  /**
   * Reads `bytes` to the end, reporting to `handler`. True: the document was
   * read, every event reported. False: it holds something outside the subset;
   * what was reported must be discarded and the document read with a complete
   * parser. Exceptions thrown by the handler go through.
   */
  scan(bytes: Uint8Array, handler: XmlSubsetHandler): boolean {
    if (!isUtf8(bytes)) return false;
    this.b = bytes;
    this.n = bytes.length;
    this.bindingCount = 0;
    this.depth = 0;
    this.nameOrdinal = 0;
    this.declarationOrdinal = 0;
    try {
      return this.document(handler);
    } finally {
      this.b = EMPTY;
      this.depth = 0;
      // Keep nothing of this document alive in the reused tags.
      const pool = this.tagPool;
      for (let d = 0; d < pool.length; d++) {
        pool[d]!.clear();
        pool[d]!.attributeCount = 0;
        pool[d]!.bindingEnd = pool[d]!.bindingFirst;
      }
    }
  }

  private document(handler: XmlSubsetHandler): boolean {
    const b = this.b;
    const n = this.n;
    let i = 0;
    // A UTF-8 byte order mark (the decoder drops it for saxes too).
    if (n >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) i = 3;
    if (b[i] === LT && b[i + 1] === QUESTION) {
      // Most servers write the same declaration in every document: the last one is tried first.
      const known = this.lastDeclaration;
      if (known.length > 0 && i + known.length <= n && this.bytesAt(i, known)) i += known.length;
      else {
        const end = this.xmlDeclaration(i);
        if (end < 0) return false;
        if (end - i <= MAX_REMEMBERED_DECLARATION) this.lastDeclaration = new Uint8Array(b.subarray(i, end));
        i = end;
      }
    }
    i = this.misc(i);
    if (i < 0 || i >= n || b[i] !== LT) return false;
    for (;;) {
      // b[i] is '<'
      const c = b[i + 1]!;
      if (c === SLASH) i = this.endTag(i, handler);
      else if (c < 0x80 && NAME_START[c] === 1) i = this.startTag(i, handler);
      else if (c === BANG && this.depth > 0) i = this.commentOrCdata(i, handler);
      else return false; // DOCTYPE, <? (processing instruction), or not a name
      if (i < 0) return false;
      if (this.depth === 0) {
        // The root is closed: white space and comments may follow (a PI could, but not here).
        return this.misc(i) === n;
      }
      i = this.text(i, handler);
      if (i < 0 || i >= n) return false;
    }
  }

  /** White space and comments outside the root element: the index after them, or -1. */
  private misc(i: number): number {
    const b = this.b;
    for (;;) {
      while (isSpace(b[i])) i++;
      if (b[i] !== LT || b[i + 1] !== BANG || b[i + 2] !== DASH) return i;
      i = this.comment(i);
      if (i < 0) return -1;
    }
  }

  /** `<!--…-->` or `<![CDATA[…]]>` in content; the index after it, or -1. */
  private commentOrCdata(lt: number, handler: XmlSubsetHandler): number {
    const b = this.b;
    if (b[lt + 2] === DASH) return this.comment(lt);
    // "<![CDATA["
    if (b[lt + 2] !== 0x5b || b[lt + 3] !== 0x43 || b[lt + 4] !== 0x44 || b[lt + 5] !== 0x41 || b[lt + 6] !== 0x54 || b[lt + 7] !== 0x41 || b[lt + 8] !== 0x5b) {
      return -1;
    }
    const start = lt + 9;
    let i = start;
    let ascii = true;
    for (;; i++) {
      if (i + 2 >= this.n) return -1;
      const c = b[i]!;
      if (c === 0x5d && b[i + 1] === 0x5d && b[i + 2] === GT) break;
      if (c < 0x20) {
        if (c !== 0x09 && c !== 0x0a) return -1;
      } else if (c >= 0x80) {
        ascii = false;
        if (c === 0xef && this.isNonCharacter(i)) return -1;
      }
    }
    if (i > start && handler.wantsText()) handler.characters(ascii ? asciiText(b, start, i) : utf8Slice.call(b, start, i));
    return i + 3;
  }

  /** `<!--…-->` at `lt` ("--" may not occur inside, XML 1.0 §2.5); the index after it, or -1. */
  private comment(lt: number): number {
    const b = this.b;
    if (b[lt + 3] !== DASH) return -1;
    for (let i = lt + 4; i + 2 < this.n; i++) {
      const c = b[i]!;
      if (c === DASH && b[i + 1] === DASH) return b[i + 2] === GT ? i + 3 : -1;
      if (c < 0x20) {
        if (c !== 0x09 && c !== 0x0a) return -1;
      } else if (c === 0xef && this.isNonCharacter(i)) return -1;
    }
    return -1;
  }

  /** `<?xml version="1.0" [encoding="…"] [standalone="yes|no"] ?>` at `i`; the index after it, or -1. */
  private xmlDeclaration(start: number): number {
    const b = this.b;
    // "<?xml" followed by white space
    if (b[start + 2] !== 0x78 || b[start + 3] !== 0x6d || b[start + 4] !== 0x6c || !isSpace(b[start + 5])) return -1;
    let i = start + 5;
    let seen = 0; // 1 version, 2 encoding, 3 standalone: in this order only
    for (;;) {
      const before = i;
      while (isSpace(b[i])) i++;
      if (b[i] === QUESTION) {
        if (b[i + 1] !== GT || seen === 0) return -1;
        return i + 2;
      }
      if (i === before) return -1;
      const nameStart = i;
      while (i < this.n && b[i]! >= 0x61 && b[i]! <= 0x7a) i++;
      const which = this.declarationName(nameStart, i);
      // XML 1.0 §2.8: XMLDecl ::= '<?xml' VersionInfo EncodingDecl? SDDecl? S? '?>': the version first,
      // always (`<?xml encoding="UTF-8"?>` is not well-formed; found by npm run fuzz).
      if (which <= seen || (seen === 0 && which !== 1)) return -1;
      seen = which;
      while (isSpace(b[i])) i++;
      if (b[i] !== EQ) return -1;
      i++;
      while (isSpace(b[i])) i++;
      const quote = b[i];
      if (quote !== QUOT && quote !== APOS) return -1;
      const valueStart = ++i;
      while (i < this.n && b[i] !== quote) i++;
      if (i >= this.n) return -1;
      if (!this.declarationValue(which, valueStart, i)) return -1;
      i++;
    }
  }

  private declarationName(start: number, end: number): number {
    return this.isAscii(start, end, 'version') ? 1 : this.isAscii(start, end, 'encoding') ? 2 : this.isAscii(start, end, 'standalone') ? 3 : -1;
  }

  /** Whether the bytes [start, end) are the ASCII `text` (compared in place: no string per declaration). */
  private isAscii(start: number, end: number, text: string): boolean {
    if (end - start !== text.length) return false;
    const b = this.b;
    for (let i = 0; i < text.length; i++) if (b[start + i] !== text.charCodeAt(i)) return false;
    return true;
  }

  private declarationValue(which: number, start: number, end: number): boolean {
    const b = this.b;
    if (which === 1) return end - start === 3 && b[start] === 0x31 && b[start + 1] === 0x2e && b[start + 2] === 0x30; // 1.0
    if (which === 3) return this.isAscii(start, end, 'yes') || this.isAscii(start, end, 'no');
    // EncName ::= [A-Za-z] ([A-Za-z0-9._] | '-')*  (the body is read as UTF-8 whatever it says)
    if (end === start) return false;
    for (let i = start; i < end; i++) {
      const c = b[i]!;
      const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
      if (i === start ? !letter : !(letter || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x5f || c === 0x2d)) return false;
    }
    return true;
  }

  /** Reads an ASCII QName at `i` (at most one colon, not first nor last): sets nameEnd/nameColon, or returns false. */
  private qname(i: number): boolean {
    const b = this.b;
    const first = b[i];
    if (first === undefined || first >= 0x80 || NAME_START[first] !== 1) return false;
    let colon = -1;
    for (; i < this.n; i++) {
      const c = b[i]!;
      if (c < 0x80 && NAME_CHAR[c] === 1) continue;
      if (c === COLON) {
        if (colon >= 0) return false;
        const next = b[i + 1];
        if (next === undefined || next >= 0x80 || NAME_START[next] !== 1) return false;
        colon = i;
        continue;
      }
      if (c >= 0x80) return false; // a non-ASCII name: left to saxes
      break;
    }
    this.nameEnd = i;
    this.nameColon = colon;
    return true;
  }

  /**
   * The QName at `i` as the name table has it, with nameEnd set after it; undefined when
   * there is none (see qname). The name expected here, the one read at this point of the last
   * document (names in the same order in every document from one server), is tried first:
   * one pass over the bytes instead of qname's and the table's two, and no hash.
   */
  private qualifiedName(i: number): NameEntry | undefined {
    const ordinal = this.nameOrdinal++;
    const expected = ordinal < EXPECTED_NAMES ? this.expectedNames[ordinal] : undefined;
    if (expected !== undefined && this.isNameAt(i, expected.bytes)) {
      this.nameEnd = i + expected.bytes.length;
      return expected;
    }
    if (!this.qname(i)) return undefined;
    const entry = this.names.get(this.b, i, this.nameEnd, this.nameColon);
    // Only a name the table kept (it has its bytes) can be expected next time.
    if (ordinal < EXPECTED_NAMES && entry.bytes.length > 0) this.expectedNames[ordinal] = entry;
    return entry;
  }

  /**
   * Whether the name at `i` is exactly `bytes` (a QName read before): the same bytes, then one
   * that cannot continue a name, so that qname would have read the same name (a non-ASCII byte
   * there is left to the slow path, where qname refuses it).
   */
  private isNameAt(i: number, bytes: Uint8Array): boolean {
    const length = bytes.length;
    if (i + length >= this.n || !this.bytesAt(i, bytes)) return false;
    const next = this.b[i + length]!;
    return next < 0x80 && NAME_CHAR[next] === 0 && next !== COLON;
  }

  /** Whether the document's bytes from `i` are `bytes` (the caller checked that they fit). */
  private bytesAt(i: number, bytes: Uint8Array): boolean {
    const b = this.b;
    for (let k = 0; k < bytes.length; k++) if (b[i + k] !== bytes[k]) return false;
    return true;
  }

  /**
   * The shared string for the plain ASCII attribute value [start, end) of the `ordinal`-th
   * namespace declaration, which is then expected there in the next document, unless it holds
   * a quote (it could then end at that quote there).
   */
  private namespaceUri(start: number, end: number, ordinal: number): string {
    const entry = this.names.get(this.b, start, end, -1);
    const bytes = entry.bytes;
    if (ordinal < EXPECTED_NAMES && bytes.length > 0 && !bytes.includes(QUOT) && !bytes.includes(APOS)) this.expectedUris[ordinal] = entry;
    return entry.text;
  }

  private startTag(lt: number, handler: XmlSubsetHandler): number {
    const b = this.b;
    const nameStart = lt + 1;
    const names = this.qualifiedName(nameStart);
    if (names === undefined) return -1;
    const nameEnd = this.nameEnd;
    const parent = this.depth > 0 ? this.openTags[this.depth - 1]! : undefined;
    this.attrBase = parent === undefined ? 0 : parent.attributeFirst + parent.attributeCount;
    this.attrCount = 0;
    let i = nameEnd;
    let selfClosing = false;
    for (;;) {
      const before = i;
      while (isSpace(b[i])) i++;
      const c = b[i];
      if (c === GT) {
        i++;
        break;
      }
      if (c === SLASH) {
        if (b[i + 1] !== GT) return -1;
        selfClosing = true;
        i += 2;
        break;
      }
      // An attribute, after white space.
      if (i === before) return -1;
      const attributeNames = this.qualifiedName(i);
      if (attributeNames === undefined) return -1;
      const aEnd = this.nameEnd;
      const aName = attributeNames.text;
      const aPrefix = attributeNames.prefix;
      const k = this.attrBase + this.attrCount;
      this.attrNames[k] = aName;
      this.attrPrefixes[k] = aPrefix;
      this.attrLocals[k] = attributeNames.local;
      i = aEnd;
      while (isSpace(b[i])) i++;
      if (b[i] !== EQ) return -1;
      i++;
      while (isSpace(b[i])) i++;
      const quote = b[i];
      if (quote !== QUOT && quote !== APOS) return -1;
      // Namespace URIs come again in every document: shared like names.
      i = this.attributeValue(i + 1, quote, aName === 'xmlns' || aPrefix === 'xmlns');
      if (i < 0) return -1;
    }
    const tag = this.resolve(names.text, names.prefix, names.local, selfClosing);
    if (tag === undefined) return -1;
    if (selfClosing) {
      handler.openTag(tag);
      handler.closeTag(tag);
      this.popBindings(this.openBindingMark);
    } else {
      const depth = this.depth++;
      this.openTags[depth] = tag;
      this.openNameStart[depth] = nameStart;
      this.openNameEnd[depth] = nameEnd;
      this.openBindings[depth] = this.openBindingMark;
      handler.openTag(tag);
    }
    return i;
  }

  /** Bindings in scope before the tag just resolved (its own are above). */
  private openBindingMark = 0;

  /**
   * Reads an attribute value up to `quote` (§3.3.3: TAB and LF become spaces;
   * `<` is not allowed; references must be predefined entities or characters).
   * Pushes the value; returns the index after the closing quote, or -1.
   */
  private attributeValue(start: number, quote: number, isDeclaration: boolean): number {
    const b = this.b;
    const n = this.n;
    let ordinal = -1;
    if (isDeclaration) {
      // A namespace URI: the one declared at this point of the last document is tried first
      // (as names are, qualifiedName). Such a URI has no quote of either kind (see below).
      ordinal = this.declarationOrdinal++;
      const expected = ordinal < EXPECTED_NAMES ? this.expectedUris[ordinal] : undefined;
      if (expected !== undefined) {
        const end = start + expected.bytes.length;
        if (end < n && b[end] === quote && this.bytesAt(start, expected.bytes)) {
          this.attrValues[this.attrBase + this.attrCount++] = expected.text;
          return end + 1;
        }
      }
    }
    let i = start;
    let plain = true;
    let ascii = true;
    for (; i < n; i++) {
      const c = b[i]!;
      const k = CLASS[c]!;
      if (k === K_PLAIN || k === K_RBRACKET) continue;
      if (k === K_QUOTE) {
        if (c === quote) break;
      } else if (k === K_TAB_LF) plain = false;
      else if (k === K_HIGH) ascii = false;
      else if (k === K_AMP) {
        const end = this.reference(i);
        if (end < 0) return -1;
        plain = false;
        i = end - 1;
      } else if (k === K_EF) {
        ascii = false;
        if (this.isNonCharacter(i)) return -1;
      } else return -1; // '<', CR (line-end normalisation) and control characters: saxes
    }
    if (i >= n) return -1;
    let value: string;
    if (plain) {
      value = !ascii ? utf8Slice.call(b, start, i) : isDeclaration ? this.namespaceUri(start, i, ordinal) : asciiText(b, start, i);
    } else {
      value = this.decode(start, i, true);
    }
    this.attrValues[this.attrBase + this.attrCount++] = value;
    return i + 1;
  }

  /**
   * A reference at `amp` (`&lt;` `&gt;` `&amp;` `&apos;` `&quot;` `&#N;` `&#xH;` naming an
   * XML Char): the index after its `;`, or -1 for anything else.
   */
  private reference(amp: number): number {
    const b = this.b;
    const limit = Math.min(this.n, amp + 12);
    let semi = amp + 1;
    while (semi < limit && b[semi] !== SEMI) semi++;
    if (semi >= limit || semi === amp + 1) return -1;
    return this.referenceValue(amp + 1, semi) === undefined ? -1 : semi + 1;
  }

  /** The text a reference between `&` and `;` (exclusive) stands for, or undefined. */
  private referenceValue(start: number, end: number): string | undefined {
    const b = this.b;
    if (b[start] === HASH) {
      let cp = 0;
      let i = start + 1;
      const hex = b[i] === 0x78; // x
      if (hex) i++;
      if (i === end) return undefined;
      for (; i < end; i++) {
        const c = b[i]!;
        let d: number;
        if (c >= 0x30 && c <= 0x39) d = c - 0x30;
        else if (hex && c >= 0x61 && c <= 0x66) d = c - 0x57;
        else if (hex && c >= 0x41 && c <= 0x46) d = c - 0x37;
        else return undefined;
        cp = cp * (hex ? 16 : 10) + d;
        if (cp > 0x10ffff) return undefined;
      }
      return isXmlChar(cp) ? String.fromCodePoint(cp) : undefined;
    }
    switch (latin1Slice.call(b, start, end)) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'apos':
        return "'";
      case 'quot':
        return '"';
      default:
        return undefined;
    }
  }

  /** Text between `start` and `end` with references replaced (already checked), TAB/LF as spaces in attribute values. */
  private decode(start: number, end: number, attribute: boolean): string {
    const b = this.b;
    let out = '';
    let from = start;
    for (let i = start; i < end; i++) {
      const c = b[i]!;
      if (c === AMP) {
        let semi = i + 1;
        while (b[semi] !== SEMI) semi++;
        out += utf8Slice.call(b, from, i) + this.referenceValue(i + 1, semi)!;
        i = semi;
        from = semi + 1;
      } else if (attribute && (c === 0x09 || c === 0x0a)) {
        out += `${utf8Slice.call(b, from, i)} `;
        from = i + 1;
      }
    }
    return out + utf8Slice.call(b, from, end);
  }

  /** U+FFFE or U+FFFF (EF BF BE, EF BF BF) at `i`: not XML characters. */
  private isNonCharacter(i: number): boolean {
    const b = this.b;
    return i + 2 < this.n && b[i + 1] === 0xbf && (b[i + 2] === 0xbe || b[i + 2] === 0xbf);
  }

  /** Resolves the start tag's namespaces (declarations first, as saxes does); undefined when saxes would object. */
  private resolve(name: string, prefix: string, local: string, isSelfClosing: boolean): ScannedTag | undefined {
    const attrNames = this.attrNames;
    const base = this.attrBase;
    const end = base + this.attrCount;
    const mark = this.bindingCount;
    this.openBindingMark = mark;
    for (let k = base; k < end; k++) {
      const attrName = attrNames[k]!;
      let declared: string;
      if (attrName === '__proto__') return this.undo(mark);
      if (attrName === 'xmlns') declared = '';
      else if (this.attrPrefixes[k] === 'xmlns') {
        declared = this.attrLocals[k]!;
        // xmlns:xml / xmlns:xmlns have fixed meanings; an empty URI undeclares, which XML 1.0 forbids.
        if (declared === 'xml' || declared === 'xmlns') return this.undo(mark);
      } else continue;
      const uri = trimString(this.attrValues[k]!);
      if (uri === XML_NAMESPACE || uri === XMLNS_NAMESPACE || (declared !== '' && uri === '')) return this.undo(mark);
      this.bindingPrefixes[this.bindingCount] = declared;
      this.bindingUris[this.bindingCount] = uri;
      this.bindingCount++;
    }
    let uri: string | undefined;
    if (prefix === 'xmlns') return this.undo(mark);
    uri = this.lookup(prefix);
    if (uri === undefined) {
      if (prefix !== '') return this.undo(mark);
      uri = '';
    } else if (prefix !== '' && uri === '') return this.undo(mark);
    for (let k = base; k < end; k++) {
      const attrName = attrNames[k]!;
      const attrPrefix = this.attrPrefixes[k]!;
      const attrLocal = this.attrLocals[k]!;
      let attrUri: string | undefined;
      if (attrPrefix === '') attrUri = attrName === 'xmlns' ? XMLNS_NAMESPACE : '';
      else {
        attrUri = this.lookup(attrPrefix);
        if (attrUri === undefined || attrUri === '') return this.undo(mark);
      }
      // Duplicates by name, and by expanded name (two prefixes for one namespace).
      for (let j = base; j < k; j++) {
        if (attrNames[j] === attrName) return this.undo(mark);
        if (attrPrefix !== '' && this.attrPrefixes[j] !== '' && this.attrLocals[j] === attrLocal && this.attrUris[j] === attrUri) {
          return this.undo(mark);
        }
      }
      this.attrUris[k] = attrUri;
    }
    // One tag object per depth, reused from document to document (the handler may not keep it).
    const depth = this.depth;
    let tag = this.tagPool[depth];
    if (tag === undefined) {
      tag = new ScannedTag(this);
      this.tagPool[depth] = tag;
    } else tag.clear();
    tag.name = name;
    tag.prefix = prefix;
    tag.local = local;
    tag.uri = uri;
    tag.isSelfClosing = isSelfClosing;
    tag.attributeFirst = base;
    tag.attributeCount = end - base;
    tag.bindingFirst = mark;
    tag.bindingEnd = this.bindingCount;
    return tag;
  }

  /** @internal The `attributes` of an open element (ScannedTag), in document order. */
  attributesOf(tag: ScannedTag): Record<string, XmlAttribute> {
    if (tag.attributeCount === 0) return NO_ATTRIBUTES;
    // An ordinary object (a null-prototype one is a slow dictionary in V8): its keys are
    // XML names, which are never integer-like, and "__proto__" is left to saxes (resolve).
    const attributes: Record<string, XmlAttribute> = {};
    const end = tag.attributeFirst + tag.attributeCount;
    for (let k = tag.attributeFirst; k < end; k++) {
      const name = this.attrNames[k]!;
      attributes[name] = { name, prefix: this.attrPrefixes[k]!, local: this.attrLocals[k]!, uri: this.attrUris[k]!, value: this.attrValues[k]! };
    }
    return attributes;
  }

  /** @internal The value of the attribute written `name` of an open element (ScannedTag). */
  attributeValueIn(tag: ScannedTag, name: string): string | undefined {
    const end = tag.attributeFirst + tag.attributeCount;
    for (let k = tag.attributeFirst; k < end; k++) if (this.attrNames[k] === name) return this.attrValues[k];
    return undefined;
  }

  /** @internal The namespace declarations made on an open element (ScannedTag), prefix → URI. */
  declarationsOf(tag: ScannedTag): Record<string, string> {
    if (tag.bindingEnd === tag.bindingFirst) return NO_DECLARATIONS;
    const ns = Object.create(null) as Record<string, string>;
    for (let k = tag.bindingFirst; k < tag.bindingEnd; k++) ns[this.bindingPrefixes[k]!] = this.bindingUris[k]!;
    return ns;
  }

  private undo(mark: number): undefined {
    this.popBindings(mark);
    return undefined;
  }

  private popBindings(mark: number): void {
    this.bindingCount = mark;
  }

  private lookup(prefix: string): string | undefined {
    const prefixes = this.bindingPrefixes;
    for (let k = this.bindingCount - 1; k >= 0; k--) if (prefixes[k] === prefix) return this.bindingUris[k];
    if (prefix === 'xml') return XML_NAMESPACE;
    if (prefix === 'xmlns') return XMLNS_NAMESPACE;
    return undefined;
  }

  private endTag(lt: number, handler: XmlSubsetHandler): number {
    const b = this.b;
    const depth = this.depth;
    if (depth === 0) return -1;
    const start = this.openNameStart[depth - 1]!;
    const end = this.openNameEnd[depth - 1]!;
    let i = lt + 2;
    for (let k = start; k < end; k++, i++) if (b[i] !== b[k]) return -1;
    while (isSpace(b[i])) i++;
    if (b[i] !== GT) return -1;
    this.depth = depth - 1;
    const tag = this.openTags[depth - 1]!;
    this.popBindings(this.openBindings[depth - 1]!);
    handler.closeTag(tag);
    return i + 1;
  }

  /** Character data from `start` to the next `<`: checked, and reported when the handler wants it. */
  private text(start: number, handler: XmlSubsetHandler): number {
    const b = this.b;
    const n = this.n;
    let i = start;
    let plain = true;
    let ascii = true;
    for (; i < n; i++) {
      const k = CLASS[b[i]!]!;
      if (k <= K_QUOTE) continue;
      if (k === K_LT) break;
      if (k === K_HIGH) ascii = false;
      else if (k === K_AMP) {
        const end = this.reference(i);
        if (end < 0) return -1;
        plain = false;
        i = end - 1;
      } else if (k === K_RBRACKET) {
        if (i + 2 < n && b[i + 1] === 0x5d && b[i + 2] === GT) return -1; // "]]>" outside a CDATA section
      } else if (k === K_EF) {
        ascii = false;
        if (this.isNonCharacter(i)) return -1;
      } else return -1; // CR, control characters
    }
    if (i > start && handler.wantsText()) {
      handler.characters(plain ? (ascii ? asciiText(b, start, i) : utf8Slice.call(b, start, i)) : this.decode(start, i, false));
    }
    return i;
  }
}
