import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PidfError } from '../../../src/presence/pidf-error.js';
import { parsePidf } from '../../../src/presence/pidf-parser.js';
import { fixtureText } from './fixtures.js';

/** Parses and demands that any failure is a PidfError. */
function parseOrPidfError(input: string | Uint8Array): void {
  try {
    parsePidf(input, { maxBytes: 4096 });
  } catch (error) {
    if (!(error instanceof PidfError)) throw error;
  }
}

const FIXTURES = [
  'kamailio-single-tuple.xml',
  'kamailio-merged-tuples.xml',
  'rich-dm-rpid.xml',
  'baresip-basic-unknown.xml',
  'extensions.xml',
].map(fixtureText);

test('property: arbitrary strings and bytes never throw anything but PidfError', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), parseOrPidfError), {
    numRuns: 500,
    seed: 1,
  });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), parseOrPidfError), { numRuns: 500, seed: 2 });
});

test('property: XML-ish soup of PIDF fragments never throws anything but PidfError', () => {
  const fragment = fc.constantFrom(
    '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="e">',
    '</presence>',
    '<tuple id="t">',
    '</tuple>',
    '<status>',
    '</status>',
    '<basic>',
    '</basic>',
    'open',
    '?',
    '<contact priority="0.5">',
    '</contact>',
    '<note xml:lang="en">',
    '</note>',
    '<dm:person xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" id="p">',
    '</dm:person>',
    '<rpid:activities xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid">',
    '</rpid:activities>',
    '<rpid:other>',
    '<x:ext xmlns:x="urn:x">',
    '</x:ext>',
    '<![CDATA[',
    ']]>',
    '<!--',
    '-->',
    '<!DOCTYPE x>',
    '&amp;',
    '&bogus;',
    '<?pi x?>',
    '<',
    '>',
    '"',
  );
  fc.assert(
    fc.property(fc.array(fragment, { maxLength: 40 }), (parts) => parseOrPidfError(parts.join(''))),
    { numRuns: 1000, seed: 3 },
  );
});

test('property: fixtures with a random cut or insertion never throw anything but PidfError', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...FIXTURES),
      fc.nat(),
      fc.nat(),
      fc.string({ unit: 'binary', maxLength: 8 }),
      (doc, a, b, insert) => {
        const at = a % (doc.length + 1);
        const cut = b % 16;
        parseOrPidfError(doc.slice(0, at) + insert + doc.slice(at + cut));
      },
    ),
    { numRuns: 1000, seed: 4 },
  );
});

test('a hostile but in-limit document is rejected quickly', () => {
  const started = performance.now();
  const deep = '<a>'.repeat(60_000);
  assert.throws(() => parsePidf(deep), PidfError); // root is not PIDF
  const nested =
    '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="e">' + '<x:a xmlns:x="urn:x">'.repeat(10_000);
  assert.throws(() => parsePidf(nested), (error: unknown) => error instanceof PidfError && error.code === 'PIDF_ERR_LIMIT');
  // Generous bound: the point is "no blow-up", not a benchmark.
  assert.ok(performance.now() - started < 2000);
});
