import { SaxesParser, type SaxesTagNS } from 'saxes';

/**
 * A small, bounded element tree for the SIP event documents that are read
 * whole (reginfo, dialog-info, RLMI): a few dozen elements where PIDF, read
 * by its own streaming reader, can have many more. Namespace-aware (elements
 * are named by namespace URI and local name, whatever the prefixes), no DTD
 * (any DOCTYPE is refused: external entities, entity expansion), limits on
 * depth and element count. Comments and processing instructions are dropped.
 */
export interface XmlElement {
  /** Namespace URI ('' when none). */
  readonly uri: string;
  readonly local: string;
  /** Attributes without a namespace, by name (xmlns declarations and prefixed attributes are not kept). */
  readonly attributes: ReadonlyMap<string, string>;
  /** The `xml:lang` in effect here (XML 1.0 §2.12: inherited by descendants). */
  readonly lang: string | undefined;
  readonly children: XmlElement[];
  /** The character data directly inside this element (CDATA included), concatenated. */
  text: string;
}

export interface XmlTreeLimits {
  maxDepth: number;
  maxElements: number;
}

/** What made the document unreadable. */
export type XmlTreeProblem = 'XML' | 'DOCTYPE' | 'LIMIT';

/** Builds the reader's own coded error. */
export type XmlTreeErrorFactory = (problem: XmlTreeProblem, message: string, cause?: unknown) => Error;

const XML_LANG = 'xml:lang';

class XmlTreeReader {
  private readonly sax: SaxesParser<{ xmlns: true; position: false }>;
  private stack: XmlElement[] = [];
  private root: XmlElement | undefined;
  private elements = 0;
  private limits: XmlTreeLimits = { maxDepth: 0, maxElements: 0 };
  private label = '';
  /** Set by each read() before any parsing, so never called unset. */
  private fail!: XmlTreeErrorFactory;
  /** The coded error a handler threw, to tell it from saxes' own errors. */
  private thrown: Error | undefined;

  constructor() {
    // Position tracking off: it costs per character and only decorates messages.
    this.sax = new SaxesParser({ xmlns: true, position: false });
    this.sax.on('doctype', () => {
      throw this.raise('DOCTYPE', `${this.label}: DOCTYPE is not allowed`);
    });
    this.sax.on('opentag', (tag) => this.onOpen(tag));
    this.sax.on('closetag', () => {
      this.stack.pop();
    });
    this.sax.on('text', (value) => this.onText(value));
    this.sax.on('cdata', (value) => this.onText(value));
  }

  read(xml: string, label: string, limits: XmlTreeLimits, fail: XmlTreeErrorFactory): XmlElement {
    this.label = label;
    this.limits = limits;
    this.fail = fail;
    this.stack.length = 0;
    this.root = undefined;
    this.elements = 0;
    this.thrown = undefined;
    try {
      this.sax.write(xml);
      this.sax.close();
    } catch (error) {
      // The saxes instance is in an unknown state after a throw: start it afresh.
      this.sax._init();
      this.stack.length = 0;
      this.root = undefined;
      if (error === this.thrown) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw fail('XML', `${label}: not well-formed XML: ${message}`, error);
    }
    const root = this.root;
    this.root = undefined; // do not keep the last document alive
    // saxes reports a document without a root element as an error; this is a safety net.
    if (root === undefined) throw fail('XML', `${label}: no root element`);
    return root;
  }

  private raise(problem: XmlTreeProblem, message: string): Error {
    const error = this.fail(problem, message);
    this.thrown = error;
    return error;
  }

  private onOpen(tag: SaxesTagNS): void {
    if (++this.elements > this.limits.maxElements) {
      throw this.raise('LIMIT', `${this.label}: more than ${this.limits.maxElements} elements`);
    }
    if (this.stack.length >= this.limits.maxDepth) {
      throw this.raise('LIMIT', `${this.label}: elements nested deeper than ${this.limits.maxDepth}`);
    }
    const parent = this.stack.length > 0 ? this.stack[this.stack.length - 1] : undefined;
    const attributes = new Map<string, string>();
    let lang = parent?.lang;
    const raw = tag.attributes;
    for (const name in raw) {
      const attribute = raw[name]!;
      if (attribute.uri === '') attributes.set(attribute.local, attribute.value);
      else if (name === XML_LANG) lang = attribute.value;
    }
    const element: XmlElement = { uri: tag.uri, local: tag.local, attributes, lang, children: [], text: '' };
    if (parent !== undefined) parent.children.push(element);
    else this.root = element;
    this.stack.push(element);
  }

  private onText(value: string): void {
    const stack = this.stack;
    if (stack.length > 0) stack[stack.length - 1]!.text += value;
  }
}

let reader: XmlTreeReader | undefined;
let readerBusy = false;

/**
 * Reads `xml` into an element tree. Throws only what `fail` builds: `XML` when
 * not (namespace-)well-formed, `DOCTYPE` for any DOCTYPE, `LIMIT` over a limit.
 */
export function readXmlTree(xml: string, label: string, limits: XmlTreeLimits, fail: XmlTreeErrorFactory): XmlElement {
  // One reader is reused (its saxes instance costs more to build than a small document to parse);
  // a re-entrant call, which cannot normally happen, gets its own.
  if (readerBusy) return new XmlTreeReader().read(xml, label, limits, fail);
  reader ??= new XmlTreeReader();
  readerBusy = true;
  try {
    return reader.read(xml, label, limits, fail);
  } finally {
    readerBusy = false;
  }
}
