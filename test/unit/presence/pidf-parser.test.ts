import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SaxesParser } from 'saxes';
import { buildPidf } from '../../../src/presence/pidf-builder.js';
import { PidfError } from '../../../src/presence/pidf-error.js';
import { parsePidf } from '../../../src/presence/pidf-parser.js';
import type { PresenceDocument } from '../../../src/presence/pidf-types.js';
import { fixtureBytes, fixtureText } from './fixtures.js';

function throwsPidf(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof PidfError, `expected PidfError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

/** The dm/rpid document of bench/floor/msg.js, whatever prefixes it is written with. */
const RICH: PresenceDocument = {
  entity: 'sip:alice@example.com',
  tuples: [
    {
      id: 't8a7f2c1',
      basic: 'open',
      contact: { uri: 'sip:alice@192.0.2.10:5060;transport=udp', priority: 0.8 },
      notes: [{ text: 'Online' }],
      timestamp: '2026-11-27T04:03:00Z',
      statusExtensions: [],
      extensions: [],
    },
  ],
  persons: [
    {
      id: 'p1a2b3',
      activities: ['on-the-phone'],
      mood: [],
      placeType: [],
      notes: [{ text: 'On the phone' }],
      extensions: [],
    },
  ],
  devices: [
    { id: 'd9f8e7', deviceId: 'urn:uuid:3c8e1f5a-0b7d-4c2e-9a61-5d2f7b8c9e10', notes: [], extensions: [] },
  ],
  notes: [],
  extensions: [],
  warnings: [],
};

test('Kamailio single tuple (as captured from the peer)', () => {
  assert.deepEqual(parsePidf(fixtureBytes('kamailio-single-tuple.xml')), {
    entity: 'sip:alice@example.com',
    tuples: [
      {
        id: 't-alice-1',
        basic: 'open',
        contact: { uri: 'sip:alice@127.0.0.1', priority: 0.8 },
        notes: [{ text: 'Online' }],
        statusExtensions: [],
        extensions: [],
      },
    ],
    persons: [],
    devices: [],
    notes: [],
    extensions: [],
    warnings: [],
  });
});

test('Kamailio merged publications: one tuple each, xmlns repeated on <tuple> and <status>', () => {
  const doc = parsePidf(fixtureBytes('kamailio-merged-tuples.xml'));
  assert.deepEqual(
    doc.tuples.map((t) => [t.id, t.basic, t.contact?.uri, t.contact?.priority, t.notes.map((n) => n.text)]),
    [
      ['t-alice-1', 'open', 'sip:alice@127.0.0.1', 0.8, ['Online']],
      ['t-alice-2', 'closed', 'sip:alice@192.0.2.7:5062', 0.5, ['Away']],
      ['t-alice-3', 'closed', undefined, undefined, []],
    ],
  );
  assert.deepEqual(doc.warnings, []);
});

test('rich document with data-model and RPID elements', () => {
  assert.deepEqual(parsePidf(fixtureBytes('rich-dm-rpid.xml')), RICH);
});

test('namespace prefixes are irrelevant: other prefixes and default-namespace redeclarations read the same', () => {
  assert.deepEqual(parsePidf(fixtureBytes('other-prefixes.xml')), RICH);
  assert.deepEqual(parsePidf(fixtureBytes('default-namespace-redeclared.xml')), RICH);
});

test('a prefix bound to another namespace is not PIDF, whatever its name', () => {
  throwsPidf(() => parsePidf(fixtureBytes('wrong-namespace.xml')), 'PIDF_ERR_NOT_PIDF');
  throwsPidf(() => parsePidf('<presence entity="sip:a@b"/>'), 'PIDF_ERR_NOT_PIDF');
  throwsPidf(() => parsePidf('<x:foo xmlns:x="urn:ietf:params:xml:ns:pidf"/>'), 'PIDF_ERR_NOT_PIDF');
  // An element named like a PIDF one but in a foreign namespace is an extension, not a tuple.
  const doc = parsePidf(
    '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:x="urn:x" entity="sip:a@b"><x:tuple id="no"/></presence>',
  );
  assert.equal(doc.tuples.length, 0);
  assert.deepEqual(doc.extensions, [{ namespace: 'urn:x', localName: 'tuple', xml: '<x:tuple id="no" xmlns:x="urn:x"/>' }]);
});

test('baresip <basic>?</basic>: the rest is read, basic stays undefined, a warning says why', () => {
  const doc = parsePidf(fixtureBytes('baresip-basic-unknown.xml'));
  assert.equal(doc.entity, 'sip:carol@127.0.0.1:5080');
  assert.equal(doc.tuples.length, 1);
  assert.equal(doc.tuples[0]!.id, 't4109');
  assert.equal(doc.tuples[0]!.basic, undefined);
  assert.deepEqual(doc.tuples[0]!.contact, { uri: 'sip:carol@127.0.0.1:5080' });
  assert.deepEqual(doc.persons, [
    { id: 'p4159', activities: [], mood: [], placeType: [], notes: [], extensions: [] },
  ]);
  assert.deepEqual(doc.warnings, ['tuple "t4109": invalid <basic> value "?"']);
  const closed = parsePidf(fixtureBytes('baresip-closed.xml'));
  assert.equal(closed.tuples[0]!.basic, 'closed');
  assert.deepEqual(closed.warnings, []);
});

test('extensions are kept as self-contained raw XML; notes carry xml:lang, inherited', () => {
  const doc = parsePidf(fixtureBytes('extensions.xml'));
  assert.deepEqual(doc.warnings, []);
  const tuple = doc.tuples[0]!;
  assert.deepEqual(tuple.notes, [
    { text: 'Ready & waiting', lang: 'en' },
    { text: 'Prêt', lang: 'fr' },
  ]);
  assert.equal(tuple.deviceId, 'mac:8asd7f7d');
  assert.deepEqual(tuple.contact, { uri: 'sips:dave@192.0.2.1' });
  assert.deepEqual(tuple.statusExtensions, [
    { namespace: 'urn:example:ext', localName: 'mood-light', xml: '<ex:mood-light color="green" xmlns:ex="urn:example:ext"/>' },
  ]);
  assert.deepEqual(tuple.extensions, [
    {
      namespace: 'urn:ietf:params:xml:ns:pidf:caps',
      localName: 'servcaps',
      xml: '<c:servcaps xmlns:c="urn:ietf:params:xml:ns:pidf:caps"><c:audio>true</c:audio><c:video>false</c:video></c:servcaps>',
    },
  ]);
  assert.deepEqual(doc.notes, [{ text: 'Presence-level note', lang: 'en' }]);
  const person = doc.persons[0]!;
  assert.deepEqual(person.activities, ['meeting', 'Walking the dog']);
  assert.deepEqual(person.mood, ['happy']);
  assert.deepEqual(person.placeType, ['office']);
  assert.equal(person.timestamp, '2026-11-27T04:00:00Z');
  assert.deepEqual(person.extensions.map((e) => e.xml), [
    '<rpid:user-input idle-threshold="600" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid">idle</rpid:user-input>',
  ]);
  assert.deepEqual(doc.extensions.map((e) => e.xml), [
    '<ex:custom ex:flag="1" xmlns:ex="urn:example:ext">text &lt;raw&gt; <ex:inner a="x&quot;y"/></ex:custom>',
  ]);
  // Every raw element parses on its own, with the namespaces it had in the document.
  for (const raw of [...tuple.statusExtensions, ...tuple.extensions, ...person.extensions, ...doc.extensions]) {
    let rootUri: string | undefined;
    const sax = new SaxesParser({ xmlns: true });
    sax.on('opentag', (tag) => {
      rootUri ??= tag.uri;
    });
    sax.write(raw.xml).close();
    assert.equal(rootUri, raw.namespace);
  }
});

test('a raw extension declares only the namespaces it uses, and not those it declares itself', () => {
  const doc = parsePidf(
    '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:a="urn:a" xmlns:b="urn:b" xmlns:unused="urn:u" entity="e">' +
      '<a:x b:attr="1"><c:y xmlns:c="urn:c"/><z/></a:x></presence>',
  );
  // <z/> is in the document's default namespace (PIDF): that binding must travel too.
  assert.equal(
    doc.extensions[0]!.xml,
    '<a:x b:attr="1" xmlns:a="urn:a" xmlns:b="urn:b" xmlns="urn:ietf:params:xml:ns:pidf"><c:y xmlns:c="urn:c"/><z/></a:x>',
  );
});

test('pidf:mustUnderstand on an unknown extension is reported as a warning', () => {
  const doc = parsePidf(
    '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:x="urn:x" entity="e">' +
      '<tuple id="t"><status><basic>open</basic></status><x:must mustUnderstand="true"/></tuple></presence>',
  );
  // An unprefixed attribute is in no namespace: not the PIDF one.
  assert.deepEqual(doc.warnings, []);
  const marked = parsePidf(
    '<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" xmlns:x="urn:x" entity="e">' +
      '<p:tuple id="t"><p:status><p:basic>open</p:basic></p:status><x:must p:mustUnderstand="1"/></p:tuple></p:presence>',
  );
  assert.deepEqual(marked.warnings, ['unsupported extension {urn:x}must is marked mustUnderstand']);
});

test('schema problems that can be read around become warnings', () => {
  const doc = parsePidf(
    '<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple><contact priority="2">sip:x@y</contact></tuple></presence>',
  );
  assert.deepEqual(doc.warnings, [
    '<presence> has no entity attribute',
    '<tuple> without id',
    'tuple "": invalid contact priority "2"',
    'tuple "" has no <status>',
  ]);
  assert.deepEqual(doc.tuples[0]!.contact, { uri: 'sip:x@y' });
});

test('DOCTYPE is refused (entity expansion and external entities)', () => {
  throwsPidf(() => parsePidf(fixtureBytes('doctype-billion-laughs.xml')), 'PIDF_ERR_DOCTYPE');
  throwsPidf(() => parsePidf(fixtureBytes('doctype-xxe.xml')), 'PIDF_ERR_DOCTYPE');
  throwsPidf(() => parsePidf('<!DOCTYPE presence><presence xmlns="urn:ietf:params:xml:ns:pidf"/>'), 'PIDF_ERR_DOCTYPE');
});

test('not well-formed, not UTF-8, empty', () => {
  throwsPidf(() => parsePidf(fixtureBytes('malformed.xml')), 'PIDF_ERR_XML');
  throwsPidf(() => parsePidf('<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple>'), 'PIDF_ERR_XML');
  throwsPidf(() => parsePidf('<p:presence/>'), 'PIDF_ERR_XML'); // unbound prefix
  throwsPidf(() => parsePidf('<presence xmlns="urn:ietf:params:xml:ns:pidf"/><presence/>'), 'PIDF_ERR_XML');
  throwsPidf(() => parsePidf('<presence xmlns="urn:ietf:params:xml:ns:pidf">&undefined;</presence>'), 'PIDF_ERR_XML');
  throwsPidf(() => parsePidf('just text'), 'PIDF_ERR_XML');
  throwsPidf(() => parsePidf(new Uint8Array([0x3c, 0xff, 0xfe, 0x3e])), 'PIDF_ERR_ENCODING');
  throwsPidf(() => parsePidf(fixtureBytes('empty.xml')), 'PIDF_ERR_EMPTY');
  throwsPidf(() => parsePidf(' \r\n\t'), 'PIDF_ERR_EMPTY');
  throwsPidf(() => parsePidf(new Uint8Array(0)), 'PIDF_ERR_EMPTY');
});

test('the reader recovers after an error: the next document parses normally', () => {
  throwsPidf(() => parsePidf('<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple id="x"><note>'), 'PIDF_ERR_XML');
  throwsPidf(() => parsePidf(fixtureBytes('doctype-xxe.xml')), 'PIDF_ERR_DOCTYPE');
  assert.deepEqual(parsePidf(fixtureBytes('rich-dm-rpid.xml')), RICH);
});

test('a byte order mark is accepted, in bytes and in strings', () => {
  const text = fixtureText('rich-dm-rpid.xml');
  assert.deepEqual(parsePidf('\uFEFF' + text), RICH);
  assert.deepEqual(parsePidf(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])), RICH);
});

test('limits: size, depth, element count', () => {
  const open = '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="e">';
  const close = '</presence>';
  throwsPidf(() => parsePidf(fixtureBytes('rich-dm-rpid.xml'), { maxBytes: 100 }), 'PIDF_ERR_LIMIT');
  const big = open + '<note>' + 'x'.repeat(256 * 1024) + '</note>' + close;
  throwsPidf(() => parsePidf(big), 'PIDF_ERR_LIMIT');
  assert.equal(parsePidf(big, { maxBytes: 300 * 1024 }).notes[0]!.text.length, 256 * 1024);

  const deep = (n: number): string => open + '<x:a xmlns:x="urn:x">'.repeat(n) + '</x:a>'.repeat(n) + close;
  assert.equal(parsePidf(deep(63)).extensions.length, 1); // 63 + <presence> = 64 levels
  throwsPidf(() => parsePidf(deep(64)), 'PIDF_ERR_LIMIT');
  throwsPidf(() => parsePidf(deep(10), { maxDepth: 5 }), 'PIDF_ERR_LIMIT');

  const many = (n: number): string =>
    open + '<tuple id="t"><status><basic>open</basic></status></tuple>'.repeat(n) + close;
  assert.equal(parsePidf(many(3333)).tuples.length, 3333); // 1 + 3 × 3333 = 10000 elements
  throwsPidf(() => parsePidf(many(3334)), 'PIDF_ERR_LIMIT');
  throwsPidf(() => parsePidf(many(10), { maxElements: 20 }), 'PIDF_ERR_LIMIT');
});

test('text handling: entities, CDATA, character references, untrimmed notes, trimmed values', () => {
  const doc = parsePidf(
    '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity=" sip:a@b ">' +
      '<tuple id="t"><status><basic> open\n</basic></status>' +
      '<contact>\n  sip:a@b;x=&quot;1&quot;\n</contact>' +
      '<note>  a &lt;b&gt; <![CDATA[<c>&]]> &#x263A; &#13;</note>' +
      '<note>x<!-- comment -->y</note></tuple></presence>',
  );
  assert.equal(doc.entity, 'sip:a@b');
  const tuple = doc.tuples[0]!;
  assert.equal(tuple.basic, 'open');
  assert.equal(tuple.contact?.uri, 'sip:a@b;x="1"');
  assert.deepEqual(
    tuple.notes.map((n) => n.text),
    ['  a <b> <c>& \u263a \r', 'xy'],
  );
});

test('an unprefixed extension in no namespace stays there when written into a PIDF document (found by npm run fuzz)', () => {
  // With a prefixed root there is no default namespace: this <tuple> is not a PIDF tuple but an extension.
  const doc = parsePidf(
    '<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" entity="sip:a@example.com"><tuple id="x"><status><basic>open</basic></status></tuple></p:presence>',
  );
  assert.equal(doc.tuples.length, 0);
  assert.deepEqual(
    doc.extensions.map((e) => [e.namespace, e.localName]),
    [['', 'tuple']],
  );
  // buildPidf writes extensions under <presence xmlns="…pidf">: without xmlns="" the element would become a tuple.
  const again = parsePidf(buildPidf({ entity: 'sip:a@example.com', extensions: doc.extensions }));
  assert.equal(again.tuples.length, 0);
  assert.deepEqual(
    again.extensions.map((e) => [e.namespace, e.localName]),
    [['', 'tuple']],
  );
});

test('lists left empty are one shared frozen array, lists with elements arrays of their own (fast path and saxes alike)', () => {
  const xml =
    '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:x="urn:example:x" entity="sip:a@example.com">' +
    '<tuple id="t1"><status><basic>open</basic></status><note>n1</note><x:ext/></tuple>' +
    '<tuple id="t2"><status><basic>closed</basic><x:s/></status></tuple>' +
    '<dm:person id="p"/><dm:device id="d"><dm:note>dn</dm:note></dm:device><x:top/></presence>';
  // The fast path reads bytes; a string goes to saxes.
  for (const doc of [parsePidf(new TextEncoder().encode(xml)), parsePidf(xml)]) {
    assert.deepEqual(doc.warnings, []);
    assert.deepEqual(doc.notes, []);
    assert.deepEqual(doc.tuples.map((t) => [t.id, t.notes.map((n) => n.text), t.extensions.length, t.statusExtensions.length]), [
      ['t1', ['n1'], 1, 0],
      ['t2', [], 0, 1],
    ]);
    assert.equal(doc.extensions.length, 1);
    assert.equal(doc.devices[0]!.notes[0]!.text, 'dn');
    const empties = [doc.warnings, doc.notes, doc.tuples[0]!.statusExtensions, doc.tuples[1]!.notes, doc.tuples[1]!.extensions, doc.persons[0]!.activities, doc.persons[0]!.extensions, doc.devices[0]!.extensions];
    for (const list of empties) {
      assert.equal(list, doc.warnings, 'one shared array');
      assert.ok(Object.isFrozen(list));
    }
    assert.throws(() => (doc.notes as unknown[]).push({ text: 'x' }), TypeError, 'read-only: assign a new array instead');
    for (const list of [doc.tuples, doc.persons, doc.devices, doc.extensions, doc.tuples[0]!.notes, doc.tuples[0]!.extensions, doc.devices[0]!.notes]) {
      assert.ok(!Object.isFrozen(list), 'a list with elements is an ordinary array');
    }
  }
  // Warnings still collect, one array of their own.
  const warned = parsePidf(new TextEncoder().encode('<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple><status><basic>maybe</basic></status></tuple></presence>'));
  assert.equal(warned.warnings.length, 3);
  assert.ok(!Object.isFrozen(warned.warnings));
});
