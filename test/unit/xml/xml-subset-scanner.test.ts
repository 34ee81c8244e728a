import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SaxesParser } from 'saxes';
import { PidfError } from '../../../src/presence/pidf-error.js';
import { parsePidf } from '../../../src/presence/pidf-parser.js';
import { attributeValueOf, type XmlSubsetHandler, XmlSubsetScanner, type XmlTag } from '../../../src/xml/xml-subset-scanner.js';
import { fixtureBytes } from '../presence/fixtures.js';

/**
 * The subset scanner must never accept what saxes rejects, and must report
 * what it accepts exactly as saxes does (it is the PIDF reader's fast path;
 * saxes reads whatever the scanner leaves alone). Text outside the root
 * element is not compared: neither reader uses it.
 */

type Event = ['open', string, string, string, string, Array<[string, string, string, string, string]>, Array<[string, string]>, boolean] | ['close', string] | ['text', string];

function tagEvent(tag: XmlTag): Event {
  return [
    'open',
    tag.name,
    tag.prefix,
    tag.local,
    tag.uri,
    Object.keys(tag.attributes).map((k) => {
      const a = tag.attributes[k]!;
      return [k, a.prefix, a.local, a.uri, a.value] as [string, string, string, string, string];
    }),
    Object.keys(tag.ns).map((k) => [k, tag.ns[k]!] as [string, string]),
    tag.isSelfClosing,
  ];
}

class Recorder {
  events: Event[] = [];
  depth = 0;
  open(tag: XmlTag): void {
    this.depth++;
    this.events.push(tagEvent(tag));
  }
  close(tag: XmlTag): void {
    this.depth--;
    this.events.push(['close', tag.name]);
  }
  text(value: string): void {
    if (this.depth === 0 || value === '') return;
    const last = this.events[this.events.length - 1];
    if (last !== undefined && last[0] === 'text') last[1] += value;
    else this.events.push(['text', value]);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** saxes as the PIDF reader runs it (UTF-8 decoded, namespaces on, DOCTYPE refused); 'error' if it rejects the document. */
function saxesEvents(bytes: Uint8Array): Event[] | 'error' {
  let xml: string;
  try {
    xml = utf8.decode(bytes);
  } catch {
    return 'error';
  }
  const recorder = new Recorder();
  const sax = new SaxesParser({ xmlns: true, position: false });
  sax.on('doctype', () => {
    throw new Error('DOCTYPE');
  });
  sax.on('opentag', (tag) => recorder.open(tag as XmlTag));
  sax.on('closetag', (tag) => recorder.close(tag as XmlTag));
  sax.on('text', (value) => recorder.text(value));
  sax.on('cdata', (value) => recorder.text(value));
  try {
    sax.write(xml);
    sax.close();
  } catch {
    return 'error';
  }
  return recorder.events;
}

const scanner = new XmlSubsetScanner();
const PROBED_NAMES = ['id', 'entity', 'priority', 'xml:lang', 'xmlns', 'xmlns:p', 'xmlns:dm', 'p:id', 'x:y', 'a-b'];

function scannerEvents(bytes: Uint8Array): Event[] | 'left to saxes' {
  const recorder = new Recorder();
  // The scanner builds `attributes` and `ns` on demand (issue 11): what a tag says must not change
  // while its element is open, whatever opened and closed inside it, and attributeValueOf must
  // give what `attributes` holds.
  const open: Event[] = [];
  const checkValues = (tag: XmlTag): void => {
    for (const name of Object.keys(tag.attributes)) assert.equal(attributeValueOf(tag, name), tag.attributes[name]!.value);
    assert.equal(attributeValueOf(tag, 'no-such-attribute'), undefined);
  };
  const handler: XmlSubsetHandler = {
    openTag: (tag) => {
      // Read by value before `attributes` is ever built, then compared with it.
      const probed = PROBED_NAMES.map((name) => attributeValueOf(tag, name));
      assert.deepEqual(probed, PROBED_NAMES.map((name) => tag.attributes[name]?.value));
      recorder.open(tag);
      open.push(tagEvent(tag));
    },
    closeTag: (tag) => {
      assert.deepEqual(tagEvent(tag), open.pop(), 'a tag changed while its element was open');
      checkValues(tag);
      recorder.close(tag);
    },
    wantsText: () => true,
    characters: (value) => recorder.text(value),
  };
  return scanner.scan(bytes, handler) ? recorder.events : 'left to saxes';
}

/** The property: accepted → saxes accepts it too, with the same events. Returns whether the scanner accepted. */
function agrees(bytes: Uint8Array): boolean {
  const fast = scannerEvents(bytes);
  if (fast === 'left to saxes') return false;
  const reference = saxesEvents(bytes);
  assert.notEqual(reference, 'error', `the scanner accepted what saxes rejects: ${JSON.stringify(Buffer.from(bytes).toString('latin1'))}`);
  assert.deepEqual(fast, reference, `events differ for ${JSON.stringify(Buffer.from(bytes).toString('latin1'))}`);
  return true;
}

const PIDF_FIXTURES = [
  'kamailio-single-tuple.xml',
  'kamailio-merged-tuples.xml',
  'rich-dm-rpid.xml',
  'baresip-basic-unknown.xml',
  'baresip-closed.xml',
  'extensions.xml',
  'other-prefixes.xml',
  'default-namespace-redeclared.xml',
  'wrong-namespace.xml',
  'malformed.xml',
  'empty.xml',
  'doctype-xxe.xml',
  'doctype-billion-laughs.xml',
];

test('the scanner reads the PIDF fixtures as saxes does, and leaves DOCTYPEs and malformed ones to it', () => {
  const accepted: string[] = [];
  for (const name of PIDF_FIXTURES) if (agrees(fixtureBytes(name))) accepted.push(name);
  for (const name of ['kamailio-single-tuple.xml', 'kamailio-merged-tuples.xml', 'rich-dm-rpid.xml', 'extensions.xml', 'other-prefixes.xml']) {
    assert.ok(accepted.includes(name), `${name} should take the fast path`);
  }
  for (const name of ['malformed.xml', 'doctype-xxe.xml', 'doctype-billion-laughs.xml', 'empty.xml']) assert.ok(!accepted.includes(name), name);
});

// ---- random documents: mostly well-formed, with every kind of flaw mixed in

/** Every flawed piece, to splice one into an otherwise good document. */
const FLAWS: string[] = [];

/** Mostly the good kind, sometimes a flawed one. */
function pick<T>(good: T[], flawed: T[]): fc.Arbitrary<T> {
  for (const f of flawed) if (typeof f === 'string') FLAWS.push(f);
  return fc.oneof({ arbitrary: fc.constantFrom(...good), weight: 12 }, { arbitrary: fc.constantFrom(...flawed), weight: 1 });
}

const NAMES = pick(['presence', 'tuple', 'status', 'basic', 'note', 'a', 'b', 'x:y', 'dm:person', 'rpid:activities', 'p:q', 'xml:lang', '_u', 'a.b-c', 'A9'], ['é', 'xmlns:z', 'xmlns', 'a:b:c', ':a', '1a', 'q:', 'unbound:x']);
const ATTR_NAMES = pick(['id', 'entity', 'priority', 'xml:lang', 'x:y', 'p:id', 'dm:id', 'q:id', 'a-b'], ['id ', 'é', 'a:b:c', 'xmlns:p', 'xmlns', 'zz:id']);
const DECLARATIONS: Array<[string, string]> = [
  ['xmlns', 'urn:ietf:params:xml:ns:pidf'],
  ['xmlns:dm', 'urn:ietf:params:xml:ns:pidf:data-model'],
  ['xmlns:rpid', 'urn:ietf:params:xml:ns:pidf:rpid'],
  ['xmlns:x', 'urn:x'],
  ['xmlns:p', 'urn:x'],
  ['xmlns:q', 'urn:q'],
  ['xmlns:x', 'urn:x'],
  ['xmlns:p', 'urn:p'],
  ['xmlns:q', 'urn:x'],
  ['xmlns:dm', 'urn:ietf:params:xml:ns:pidf:data-model'],
  ['xmlns', ''],
  ['xmlns:p', ''],
  ['xmlns:p', '  '],
  ['xmlns', ' urn:spaced\t'],
  ['xmlns:xml', 'http://www.w3.org/XML/1998/namespace'],
  ['xmlns:q', 'http://www.w3.org/2000/xmlns/'],
  ['xmlns', 'http://www.w3.org/XML/1998/namespace'],
  ['xmlns:xmlns', 'urn:x'],
  ['xmlns:dm', 'urn:é'],
  ['xmlns:p', 'urn:&amp;'],
];
const VALUES = pick(
  ['v', 'a b', 'a\tb', 'a\nb', '&amp;', '&lt;x&gt;', '&#65;', '&#x10FFFF;', '&#13;', '&#x9;', '&#10;', '>', 'é€😀', '', '0.8', ' 1 ', '&#0000065;', '&apos;&quot;', 'sip:a@b;x=1', 'a  \n\t b'],
  ['a\r\nb', 'a\rb', '&#x110000;', '&#0;', '&#xD800;', '&bogus;', '&', '&amp', '<', '\u0001', '\uFFFE', '&#X41;', '&#;'],
);
const TEXTS = pick(
  ['open', ' ', '\n  ', 'a&amp;b', '&lt;', '&#233;', '&#x1F600;', ']]', ']', '\t', 'é€😀', '\u007f', '<!-- c -->', '<!---->', '<!-- a-b -->', '<![CDATA[x<y]]>', '<![CDATA[]]>', '<![CDATA[é]]]>', '\u0085', '\u2028', '>', '&gt;', '&#13;'],
  [']]>', '\r\n', '\r', '\u0000', '\u0008', '&nope;', '&#;', '&#x;', '<?pi x?>', '\uFFFF', '&', '<!-- a--b -->', '<!--- -->', '<!-- --->', '<![CDATA[\r]]>', '<![cdata[x]]>', '<!DOCTYPE x>'],
);

const attribute = fc.oneof(
  fc.tuple(ATTR_NAMES, VALUES, fc.constantFrom('"', "'"), pick([' ', '  ', '\n', '\t'], [''])),
  fc.tuple(fc.constantFrom(...DECLARATIONS), fc.constantFrom('"', "'"), fc.constantFrom(' ', '\n')).map(([[n, v], q, s]) => [n, v, q, s] as [string, string, string, string]),
);

function startTag(name: string, attributes: Array<[string, string, string, string]>, eqSpace: string): string {
  let out = `<${name}`;
  for (const [n, v, q, s] of attributes) out += `${s}${n}${eqSpace}=${eqSpace}${q}${v.replaceAll(q, '')}${q}`;
  return out;
}

const { element } = fc.letrec<{ element: string; content: string }>((tie) => ({
  element: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc
      .tuple(NAMES, fc.array(attribute, { maxLength: 4 }), fc.constantFrom('', '', ' '), pick(['/>', ' />'], ['/ >']))
      .map(([n, a, e, end]) => startTag(n, a, e) + end),
    fc
      .tuple(
        NAMES,
        fc.array(attribute, { maxLength: 4 }),
        fc.constantFrom('', '', ' '),
        fc.array(tie('content'), { maxLength: 4 }),
        pick(['', ' ', '\n'], ['x']),
      )
      .map(([n, a, e, children, closeVariant]) => `${startTag(n, a, e)}>${children.join('')}</${closeVariant === 'x' ? `${n}x` : n}${closeVariant === 'x' ? '' : closeVariant}>`),
  ),
  content: fc.oneof({ depthSize: 'small' }, TEXTS, tie('element')),
}));

const DECLS = pick(
  ['', '<?xml version="1.0" encoding="UTF-8"?>', "<?xml version='1.0'?>", '<?xml  version="1.0" standalone="yes" ?>', '<?xml version="1.0" encoding="ISO-8859-1"?>', '<?xml version = "1.0" ?>', '\uFEFF<?xml version="1.0"?>', '\uFEFF'],
  ['<?xml version="1.1"?>', ' <?xml version="1.0"?>', '<?xml encoding="UTF-8" version="1.0"?>', '<?xml version="1.0"encoding="UTF-8"?>', '<?XML version="1.0"?>', '<?xml version="1.0" standalone="maybe"?>', '<?xml?>', '<?xml version="1.0" encoding="8bit"?>', '<?xml version="1.0" foo="x"?>', '<?xml encoding="UTF-8"?>', '<?xml standalone="yes"?>', '<?xml encoding="UTF-8" standalone="no"?>'],
);
const document = fc
  .tuple(DECLS, pick(['', '\n', '  \n', '<!-- c -->\n'], ['<!DOCTYPE presence>', 'x', '<?pi?>']), element, pick(['', '\n', ' \n ', '<!-- c -->'], ['x', '<a/>', '&amp;', '<?pi?>']))
  .map(([decl, before, root, after]) => decl + before + root + after);

test('property: on random documents, the scanner accepts only what saxes accepts, and reports it identically', () => {
  let accepted = 0;
  let runs = 0;
  fc.assert(
    fc.property(document, (doc) => {
      runs++;
      if (agrees(Buffer.from(doc, 'utf8'))) accepted++;
    }),
    { numRuns: 3000, seed: 4475 },
  );
  // The generator must exercise the fast path, not only the hand-over to saxes.
  assert.ok(accepted > runs / 10, `only ${accepted} of ${runs} documents took the fast path`);
});

test('property: one flaw spliced anywhere into a document is never accepted where saxes objects', () => {
  let accepted = 0;
  fc.assert(
    fc.property(document, fc.constantFrom(...FLAWS), fc.nat(), (doc, flaw, at) => {
      const i = at % (doc.length + 1);
      if (agrees(Buffer.from(doc.slice(0, i) + flaw + doc.slice(i), 'utf8'))) accepted++;
    }),
    { numRuns: 4000, seed: 6665 },
  );
  assert.ok(accepted > 0);
});

test('property: byte-level damage to real PIDF is never accepted where saxes objects', () => {
  const sources = ['kamailio-single-tuple.xml', 'rich-dm-rpid.xml', 'extensions.xml', 'other-prefixes.xml'].map(fixtureBytes);
  fc.assert(
    fc.property(
      fc.nat(sources.length - 1),
      fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom('replace', 'insert', 'delete')), { minLength: 1, maxLength: 3 }),
      (which, edits) => {
        let bytes = Array.from(sources[which]!);
        for (const [at, value, kind] of edits) {
          const i = at % (bytes.length + 1);
          if (kind === 'insert') bytes.splice(i, 0, value);
          else if (kind === 'delete') bytes.splice(i, 1);
          else if (i < bytes.length) bytes[i] = value;
        }
        agrees(Uint8Array.from(bytes));
        bytes = [];
      },
    ),
    { numRuns: 3000, seed: 3863 },
  );
});

function outcome(input: string | Uint8Array): unknown {
  try {
    return parsePidf(input);
  } catch (error) {
    if (!(error instanceof PidfError)) throw error;
    return { code: error.code, message: error.message };
  }
}

test('parsePidf gives the same document or the same error from bytes (fast path) as from text (saxes)', () => {
  for (const name of PIDF_FIXTURES) {
    const bytes = fixtureBytes(name);
    assert.deepEqual(outcome(bytes), outcome(bytes.toString('utf8')), name);
  }
  fc.assert(
    fc.property(document, (doc) => {
      // The text path drops a leading BOM character as the byte path's decoder does.
      assert.deepEqual(outcome(Buffer.from(doc, 'utf8')), outcome(doc), JSON.stringify(doc));
    }),
    { numRuns: 1500, seed: 3856 },
  );
});

/*
 * The scanner's name table hashes only a name's length and three of its bytes and then compares
 * every byte (issue 11): names and namespace URIs that agree on those, and so share slots, must
 * still be told apart, within a document and from one document to the next, and once the table
 * is full. Names here are `a?m?z` (and `p:`/`q:` prefixed): same length, first, middle and last byte.
 */
const COLLIDING = ['abmbz', 'acmbz', 'abmcz', 'acmcz', 'admdz', 'abmdz'];
const collidingName = fc.tuple(fc.constantFrom('', 'p:', 'q:'), fc.constantFrom(...COLLIDING)).map(([p, n]) => p + n);
const collidingUri = fc.constantFrom('urn:abmbz', 'urn:acmbz', 'urn:abmcz', 'urn:acmcz');
const collidingElement = fc.letrec<{ element: string }>((tie) => ({
  element: fc
    .tuple(
      collidingName,
      fc.array(fc.tuple(collidingName, fc.constantFrom('v', '1', 'x y')), { maxLength: 3 }),
      fc.array(fc.tuple(fc.constantFrom('xmlns:p', 'xmlns:q', 'xmlns'), collidingUri), { maxLength: 2 }),
      fc.array(fc.oneof({ depthSize: 'small' }, fc.constantFrom('t', ' '), tie('element')), { maxLength: 3 }),
    )
    .map(([name, attributes, declarations, children]) => {
      let out = `<${name}`;
      for (const [n, v] of declarations) out += ` ${n}="${v}"`;
      for (const [n, v] of attributes) out += ` ${n}="${v}"`;
      return `${out}>${children.join('')}</${name}>`;
    }),
})).element;

test('property: names and namespace URIs that share the name table hash are told apart', () => {
  let accepted = 0;
  fc.assert(
    fc.property(collidingElement, (root) => {
      if (agrees(Buffer.from(`<r xmlns:p="urn:abmbz" xmlns:q="urn:acmbz">${root}</r>`, 'utf8'))) accepted++;
    }),
    { numRuns: 1500, seed: 7311 },
  );
  assert.ok(accepted > 150, `only ${accepted} documents took the fast path`);
});

test('a scanner whose name table is full still reads new names as saxes does', () => {
  for (let d = 0; d < 60; d++) {
    const children = Array.from({ length: 12 }, (_, k) => `<n${d}x${k} a${k}b${d}="v${k}"/>`).join('');
    assert.ok(agrees(Buffer.from(`<root${d} xmlns="urn:d${d}">${children}</root${d}>`, 'utf8')));
  }
  // Names seen before the table filled, and names it had no room for.
  assert.ok(agrees(Buffer.from('<root1 xmlns="urn:d1"><n1x1 a1b1="v"/><n59x11 a11b59="w"/><abmbz/></root1>', 'utf8')));
});

test('a name expected from the last document is taken only where it is the whole name', () => {
  // The scanner tries first the name read at the same point of the last document (issue 11):
  // each pair reads a document, then one whose names there extend, shorten or continue it.
  const pairs: Array<[string, string]> = [
    ['<a b="1"/>', '<ab b="1"/>'],
    ['<a b="1"/>', '<a bc="1"/>'],
    ['<ab bc="1"/>', '<a b="1"/>'],
    ['<p:a xmlns:p="urn:x"/>', '<p:a:b xmlns:p="urn:x"/>'],
    ['<a/>', '<a:b xmlns:a="urn:x"/>'],
    ['<a/>', '<a\u00e9/>'],
    ['<a x="1"><b/></a>', '<a x="1"><b.c/></a>'],
    ['<a x="1"><b/></a>', '<a x="1"><b-/></a>'],
    ['<a x="1"/>', '<a x'],
    // Namespace URIs expected from the last document, and the XML declaration.
    ['<a xmlns="urn:x"/>', '<a xmlns="urn:xy"/>'],
    ['<a xmlns="urn:xy"/>', '<a xmlns="urn:x"/>'],
    ['<a xmlns="urn:x"/>', "<a xmlns='urn:x'/>"],
    ['<a xmlns="urn:x"/>', '<a xmlns="urn:x&amp;"/>'],
    ['<a xmlns="u\'v"/>', "<a xmlns='u'v'/>"],
    ['<a xmlns:p="urn:x" xmlns:q="urn:y"/>', '<a xmlns:p="urn:y" xmlns:q="urn:x"/>'],
    ['<?xml version="1.0"?><a/>', '<?xml version="1.0"?><a/>'],
    ['<?xml version="1.0"?><a/>', '<?xml version="1.0" encoding="UTF-8"?><a/>'],
    ['<?xml version="1.0" encoding="UTF-8"?><a/>', '<?xml version="1.0"?><a/>'],
    ['<?xml version="1.0"?><a/>', '<?xml version="1.0"?>'],
  ];
  for (const [first, second] of pairs) {
    for (const text of [first, second, first]) {
      const fast = scannerEvents(Buffer.from(text, 'utf8'));
      const reference = saxesEvents(Buffer.from(text, 'utf8'));
      if (fast === 'left to saxes') continue;
      assert.deepEqual(fast, reference, `events differ for ${JSON.stringify(text)} after ${JSON.stringify(first)}`);
    }
    assert.ok(agrees(Buffer.from(first, 'utf8')), `${first} takes the fast path`);
  }
});
