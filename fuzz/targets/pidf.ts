/**
 * The PIDF reader (src/presence) on NOTIFY and PUBLISH bodies. It must
 * return a document or throw PidfError; it must read the same input the
 * same way every time, whatever it read before (one parser instance is
 * reused); every extension it keeps must stand on its own as XML (it is
 * written into other documents); and the local agent's merge of two
 * publications (the document it sends to watchers) must parse again with
 * all their tuples. A body read from its bytes (the subset scanner's fast
 * path) must give exactly what the same text read by saxes gives.
 */
import { Buffer } from 'node:buffer';
import { SaxesParser } from 'saxes';
import { composeDocument } from '../../src/agent/composed-document.js';
import { newPresentity, type Publication } from '../../src/agent/agent-records.js';
import { PidfError, type PidfParseOptions, type PresenceDocument, parsePidf, type RawElement, statusFromBody } from '../../src/presence/index.js';
import { type FuzzTarget, fail, property } from '../engine/target.js';
import { generatePidfDocuments, PIDF_DICTIONARY } from './support/pidf-grammar.js';
import { hashOf, pidfDocuments } from './support/seeds.js';

const isPidfError = (error: unknown): boolean => error instanceof PidfError;

/** One input in eight runs under small limits, so that every limit is reached. */
function optionsFor(input: Uint8Array): PidfParseOptions | undefined {
  const h = hashOf(input);
  if ((h & 7) !== 0) return undefined;
  return { maxBytes: 64 + ((h >>> 3) & 4095), maxDepth: 1 + ((h >>> 15) & 7), maxElements: 1 + ((h >>> 18) & 31) };
}

const REFERENCE = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" ' +
    'xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:ref@example.com"><tuple id="r1"><status><basic>open</basic></status>' +
    '<contact priority="0.5">sip:ref@192.0.2.1</contact><note>ref</note></tuple><dm:person id="rp"><rpid:activities><rpid:away/>' +
    '</rpid:activities></dm:person><x:e xmlns:x="urn:x" a="1"><x:f/></x:e></presence>',
  'utf8',
);
let referenceJson: string | undefined;

/**
 * An extension must mean the same wherever it is written: parsed inside an
 * element with a default namespace (as buildPidf writes it into
 * `<presence xmlns="…pidf">`), its root keeps its own namespace and name.
 */
function checkStandalone(extension: RawElement): void {
  const sax = new SaxesParser({ xmlns: true });
  let error: unknown;
  let root: { uri: string; local: string } | undefined;
  let depth = 0;
  sax.on('error', (e) => {
    error = e;
  });
  sax.on('opentag', (tag) => {
    if (++depth === 2 && root === undefined) root = { uri: tag.uri, local: tag.local };
    if (tag.isSelfClosing) depth--;
  });
  sax.on('closetag', (tag) => {
    if (!tag.isSelfClosing) depth--;
  });
  try {
    sax.write(`<wrapper xmlns="urn:fuzz:wrapper">${extension.xml}</wrapper>`).close();
  } catch (e) {
    error = e;
  }
  const shown = (): string => JSON.stringify(extension.xml.slice(0, 300));
  property(error === undefined, () => `extension is not stand-alone XML: ${shown()}: ${String(error)}`);
  property(
    root !== undefined && root.uri === extension.namespace && root.local === extension.localName,
    () => `extension changes meaning inside another document: {${extension.namespace}}${extension.localName} became {${root?.uri}}${root?.local}: ${shown()}`,
  );
}

// ignoreBOM: the text keeps a byte order mark as the bytes carry it; parsePidf drops one from either (a body
// of two BOMs is one BOM and a character, not an empty body: found by npm run fuzz).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The document as JSON, or the error's code and message. */
function outcomeOf(input: Uint8Array | string, options: PidfParseOptions | undefined): string {
  try {
    return JSON.stringify(parsePidf(input, options));
  } catch (error) {
    if (!(error instanceof PidfError)) throw error;
    return `${error.code}: ${error.message}`;
  }
}

/**
 * Bytes go through the subset scanner first, text always through saxes: both must agree
 * (for UTF-8 input within the size limit, where the two limits count the same way).
 */
function checkSameFromText(input: Uint8Array, options: PidfParseOptions | undefined, fromBytes: string): void {
  if (input.length > (options?.maxBytes ?? 256 * 1024)) return;
  let text: string;
  try {
    text = utf8.decode(input);
  } catch {
    property(fromBytes.startsWith('PIDF_ERR_ENCODING'), () => `bytes that are not UTF-8 read as ${fromBytes.slice(0, 200)}`);
    return;
  }
  const fromText = outcomeOf(text, options);
  property(fromText === fromBytes, () => `bytes and text read differently: ${fromBytes.slice(0, 300)} / ${fromText.slice(0, 300)}`);
}

function extensionsOf(doc: PresenceDocument): RawElement[] {
  return [
    ...doc.extensions,
    ...doc.tuples.flatMap((t) => [...t.extensions, ...t.statusExtensions]),
    ...doc.persons.flatMap((p) => p.extensions),
    ...doc.devices.flatMap((d) => d.extensions),
  ];
}

function publication(body: string, document: PresenceDocument, changeSeq: number): Publication {
  return { body, document, changeSeq, etag: `e${changeSeq}`, expiresAt: undefined, timer: undefined } as unknown as Publication;
}

function countOf(input: Uint8Array, octet: number): number {
  let n = 0;
  for (let i = 0; i < input.length; i++) if (input[i] === octet) n++;
  return n;
}

const pidf: FuzzTarget = {
  name: 'pidf',
  description: 'parsePidf and statusFromBody on NOTIFY/PUBLISH bodies; extensions stand alone; the local agent merge parses again',
  extension: 'xml',
  maxInputBytes: 300_000,
  coverageScope: /\/dist\/src\/|\/node_modules\/(saxes|xmlchars)\//,
  dictionary: PIDF_DICTIONARY,
  seeds: () => [...pidfDocuments(), REFERENCE],
  generate: generatePidfDocuments,
  isExpected: isPidfError,
  run(input) {
    const options = optionsFor(input);
    statusFromBody('application/pidf+xml', input, options);
    checkSameFromText(input, options, outcomeOf(input, options));
    let doc: PresenceDocument;
    try {
      doc = parsePidf(input, options);
    } catch (error) {
      if (!(error instanceof PidfError)) throw error;
      // The reader is reused: what it read last must not change how it reads the next document.
      referenceJson ??= JSON.stringify(parsePidf(REFERENCE));
      property(JSON.stringify(parsePidf(REFERENCE)) === referenceJson, 'a refused document changes how the next one is read');
      return;
    }
    const json = JSON.stringify(doc);
    property(JSON.stringify(parsePidf(input, options)) === json, 'the same document reads differently the second time');
    for (const extension of extensionsOf(doc)) checkStandalone(extension);

    // The local agent merges the publications of a presentity into the document its watchers get
    // (skipped near the reader's default limits, which the merge, read with them, may pass).
    if (input.length > 100_000 || countOf(input, 0x3c) > 5000) return;
    const reference = parsePidf(REFERENCE);
    const presentity = newPresentity('sip:fuzz@example.com', 'fuzz');
    presentity.publications.push(publication(Buffer.from(input).toString('utf8'), doc, 2), publication(REFERENCE.toString('utf8'), reference, 1));
    const composed = composeDocument(presentity, 'none');
    if (composed.presence === undefined) {
      fail(`the merged document does not parse: ${JSON.stringify(Buffer.from(composed.body ?? []).toString('utf8').slice(0, 400))}`);
    }
    property(
      composed.presence.tuples.length === doc.tuples.length + reference.tuples.length,
      () => `the merged document has ${composed.presence?.tuples.length} tuples, not ${doc.tuples.length} + ${reference.tuples.length}`,
    );
  },
};

export default pidf;
