import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildPidf, type PidfTupleInput } from '../../../src/presence/pidf-builder.js';
import { PidfError } from '../../../src/presence/pidf-error.js';
import { parsePidf } from '../../../src/presence/pidf-parser.js';
import { fixtureText } from './fixtures.js';

test('a Kamailio-style single tuple reads back as written', () => {
  const xml = buildPidf({
    entity: 'sip:alice@example.com',
    tuples: [{ id: 't-alice-1', basic: 'open', contact: 'sip:alice@127.0.0.1', priority: 0.8, note: 'Online' }],
  });
  assert.equal(
    xml,
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">' +
      '<tuple id="t-alice-1"><status><basic>open</basic></status>' +
      '<contact priority="0.8">sip:alice@127.0.0.1</contact><note>Online</note></tuple></presence>\n',
  );
  assert.deepEqual(parsePidf(xml), parsePidf(fixtureText('kamailio-single-tuple.xml')));
});

test('the rich dm/rpid document round-trips', () => {
  const expected = parsePidf(fixtureText('rich-dm-rpid.xml'));
  const xml = buildPidf({
    entity: 'sip:alice@example.com',
    tuples: [
      {
        id: 't8a7f2c1',
        basic: 'open',
        contact: 'sip:alice@192.0.2.10:5060;transport=udp',
        priority: 0.8,
        note: 'Online',
        timestamp: new Date('2026-11-27T04:03:00Z'),
      },
    ],
    persons: [{ id: 'p1a2b3', activities: ['on-the-phone'], note: 'On the phone' }],
    devices: [{ id: 'd9f8e7', deviceId: 'urn:uuid:3c8e1f5a-0b7d-4c2e-9a61-5d2f7b8c9e10' }],
  });
  const doc = parsePidf(xml);
  // Date.toISOString() writes milliseconds; everything else is identical.
  assert.equal(doc.tuples[0]!.timestamp, '2026-11-27T04:03:00.000Z');
  doc.tuples[0]!.timestamp = expected.tuples[0]!.timestamp;
  assert.deepEqual(doc, expected);
});

test('RPID values: known ones as elements, others as <rpid:other>; namespaces declared only when used', () => {
  const xml = buildPidf({
    entity: 'sip:a@b',
    persons: [
      {
        id: 'p',
        activities: ['away', 'Walking the dog'],
        mood: ['happy', 'meh'],
        placeType: ['office', 'spaceship'],
        notes: [{ text: 'Bonjour', lang: 'fr' }],
        timestamp: '2026-01-01T00:00:00Z',
      },
    ],
  });
  assert.match(xml, /<rpid:away\/><rpid:other>Walking the dog<\/rpid:other>/);
  assert.match(xml, /<lt:office\/><rpid:other>spaceship<\/rpid:other>/);
  assert.match(xml, /xmlns:lt="urn:ietf:params:xml:ns:location-type"/);
  const person = parsePidf(xml).persons[0]!;
  assert.deepEqual(person.activities, ['away', 'Walking the dog']);
  assert.deepEqual(person.mood, ['happy', 'meh']);
  assert.deepEqual(person.placeType, ['office', 'spaceship']);
  assert.deepEqual(person.notes, [{ text: 'Bonjour', lang: 'fr' }]);
  assert.equal(person.timestamp, '2026-01-01T00:00:00Z');

  const plain = buildPidf({ entity: 'sip:a@b', tuples: [{ id: 't', basic: 'closed' }] });
  assert.doesNotMatch(plain, /xmlns:(dm|rpid|lt)/);
});

test('escaping: markup, quotes, CR/TAB/LF in attributes, characters XML cannot carry', () => {
  const entity = 'sip:"a"&<b>@c\t\n\r';
  const note = '<tag> & "quotes" ]]> \r\n\u0001 \uD800 \u{1F600}';
  const xml = buildPidf({ entity, tuples: [{ id: 'i"d', basic: 'open', note, contact: 'sip:x@y;a=<1>' }] });
  const doc = parsePidf(xml);
  assert.deepEqual(doc.warnings, []);
  assert.equal(doc.entity, entity.trim()); // the entity is trimmed when read
  assert.equal(doc.tuples[0]!.id, 'i"d');
  assert.equal(doc.tuples[0]!.notes[0]!.text, '<tag> & "quotes" ]]> \r\n\uFFFD \uFFFD \u{1F600}');
  assert.equal(doc.tuples[0]!.contact?.uri, 'sip:x@y;a=<1>');
});

test('extensions are written verbatim and read back as raw elements', () => {
  const source = parsePidf(fixtureText('extensions.xml'));
  const tuple = source.tuples[0]!;
  const xml = buildPidf({
    entity: source.entity,
    tuples: [
      {
        id: tuple.id,
        basic: tuple.basic,
        notes: tuple.notes,
        contact: tuple.contact?.uri,
        deviceId: tuple.deviceId,
        statusExtensions: tuple.statusExtensions,
        extensions: tuple.extensions,
      },
    ],
    extensions: source.extensions,
  });
  const doc = parsePidf(xml);
  assert.deepEqual(doc.tuples[0]!.statusExtensions, tuple.statusExtensions);
  assert.deepEqual(doc.tuples[0]!.extensions, tuple.extensions);
  assert.deepEqual(doc.extensions, source.extensions);
});

test('priority: qvalue with at most three decimals; out of range or bad Date is refused', () => {
  const read = (priority: number): number | undefined =>
    parsePidf(buildPidf({ entity: 'e', tuples: [{ id: 't', contact: 'sip:x', priority }] })).tuples[0]!.contact
      ?.priority;
  assert.equal(read(0), 0);
  assert.equal(read(1), 1);
  assert.equal(read(0.12345), 0.123);
  for (const bad of [-0.1, 1.5, Number.NaN]) {
    assert.throws(
      () => buildPidf({ entity: 'e', tuples: [{ id: 't', contact: 'sip:x', priority: bad }] }),
      (error: unknown) => error instanceof PidfError && error.code === 'PIDF_ERR_ARGUMENT',
    );
  }
  assert.throws(
    () => buildPidf({ entity: 'e', tuples: [{ id: 't', timestamp: new Date(Number.NaN) }] }),
    (error: unknown) => error instanceof PidfError && error.code === 'PIDF_ERR_ARGUMENT',
  );
});

/** Strings after a write/read: what XML cannot carry becomes U+FFFD. */
function carried(value: string): string {
  return value.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF\uD800-\uDFFF]/gu, '\uFFFD');
}

test('property: buildPidf → parsePidf gives back what was written', () => {
  const text = fc.string({ unit: 'binary', maxLength: 40 });
  const token = fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).filter((s) => s.trim() === s && s !== '');
  const tupleArb: fc.Arbitrary<PidfTupleInput> = fc.record(
    {
      id: token,
      basic: fc.constantFrom<'open' | 'closed'>('open', 'closed'),
      notes: fc.array(fc.record({ text, lang: fc.constantFrom('en', 'fr', 'de-CH') }, { requiredKeys: ['text'] }), {
        maxLength: 3,
      }),
      contact: token,
      priority: fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000),
      deviceId: token,
    },
    { requiredKeys: ['id'] },
  );
  fc.assert(
    fc.property(token, fc.array(tupleArb, { maxLength: 4 }), (entity, tuples) => {
      const doc = parsePidf(buildPidf({ entity, tuples }));
      assert.equal(doc.entity, carried(entity));
      assert.equal(doc.tuples.length, tuples.length);
      tuples.forEach((input, i) => {
        const out = doc.tuples[i]!;
        assert.equal(out.id, carried(input.id));
        assert.equal(out.basic, input.basic);
        assert.deepEqual(
          out.notes,
          (input.notes ?? []).map((n) =>
            typeof n === 'string' ? { text: carried(n) } : { ...n, text: carried(n.text) },
          ),
        );
        assert.equal(out.contact?.uri, input.contact === undefined ? undefined : carried(input.contact));
        if (input.contact !== undefined) assert.equal(out.contact?.priority, input.priority);
        assert.equal(out.deviceId, input.deviceId === undefined ? undefined : carried(input.deviceId));
      });
      assert.deepEqual(doc.warnings, []);
    }),
    { numRuns: 300, seed: 4711 },
  );
});
