import { escapeXmlAttribute, escapeXmlText } from '../xml/xml-escape.js';
import type { XmlTag } from '../xml/xml-subset-scanner.js';
import type { RawElement } from './pidf-types.js';

/**
 * Re-serializes one unknown element (and its subtree) from SAX events, so
 * that extensions survive parsing as stand-alone XML. Element and attribute
 * names keep their prefixes; the capture root additionally declares every
 * prefix the subtree uses but that was declared outside it, with the binding
 * that was in effect there. Comments and processing instructions are dropped,
 * CDATA becomes escaped text; the meaning is kept, not the bytes.
 */
export class RawElementCapture {
  private head = '';
  private body = '';
  private rootName = '';
  private rootNamespace = '';
  private rootLocal = '';
  private rootSelfClosing = false;
  /** Own namespace declarations of each open element of the capture, root first. */
  private scopes: Record<string, string>[] = [];
  /** prefix → URI that the root must declare. */
  private needed: Map<string, string> | undefined;

  get active(): boolean {
    return this.scopes.length > 0;
  }

  /** Starts a capture at `tag` (which must not be captured already). */
  begin(tag: XmlTag): void {
    this.body = '';
    this.needed = undefined;
    this.rootName = tag.name;
    this.rootNamespace = tag.uri;
    this.rootLocal = tag.local;
    this.rootSelfClosing = tag.isSelfClosing;
    this.scopes.push(tag.ns);
    this.head = this.startTag(tag);
  }

  /** An element inside the capture opens. */
  open(tag: XmlTag): void {
    this.scopes.push(tag.ns);
    this.body += this.startTag(tag);
    if (tag.isSelfClosing) this.body += '/>';
    else this.body += '>';
  }

  text(value: string): void {
    this.body += escapeXmlText(value);
  }

  /** An element closes; returns the finished RawElement when it is the capture root. */
  close(tag: XmlTag): RawElement | undefined {
    this.scopes.pop();
    if (this.scopes.length > 0) {
      if (!tag.isSelfClosing) this.body += '</' + tag.name + '>';
      return undefined;
    }
    let declarations = '';
    if (this.needed !== undefined) {
      for (const [prefix, uri] of this.needed) {
        declarations += (prefix === '' ? ' xmlns="' : ' xmlns:' + prefix + '="') + escapeXmlAttribute(uri) + '"';
      }
    }
    const xml = this.rootSelfClosing
      ? this.head + declarations + '/>'
      : this.head + declarations + '>' + this.body + '</' + this.rootName + '>';
    this.head = '';
    this.body = '';
    return { namespace: this.rootNamespace, localName: this.rootLocal, xml };
  }

  /** Abandons a capture (after an error). */
  reset(): void {
    this.scopes.length = 0;
    this.head = '';
    this.body = '';
    this.needed = undefined;
  }

  private startTag(tag: XmlTag): string {
    this.use(tag.prefix, tag.uri);
    let out = '<' + tag.name;
    const attributes = tag.attributes;
    for (const name in attributes) {
      const attribute = attributes[name]!;
      const prefix = attribute.prefix;
      if (prefix !== '' && prefix !== 'xmlns' && prefix !== 'xml') this.use(prefix, attribute.uri);
      out += ' ' + name + '="' + escapeXmlAttribute(attribute.value) + '"';
    }
    return out;
  }

  /**
   * Notes that `prefix` (bound to `uri` here) is used; declares it on the root unless the subtree does.
   * An unprefixed name in no namespace is declared too (`xmlns=""`): written into a document that has a
   * default namespace (buildPidf writes PIDF's), it would otherwise fall into that namespace.
   */
  private use(prefix: string, uri: string): void {
    const scopes = this.scopes;
    for (let i = scopes.length - 1; i >= 0; i--) {
      if (scopes[i]![prefix] !== undefined) return;
    }
    if (this.needed === undefined) this.needed = new Map();
    if (!this.needed.has(prefix)) this.needed.set(prefix, uri);
  }
}
