import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { trimString } from '../../../src/util/trim-string.js';

// Every character String.prototype.trim() removes, and neighbours of the range trimString lets through.
const EDGE_CHARACTERS = [
  '\t', '\n', '\v', '\f', '\r', ' ', '\u0085', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f',
  '\u3000', '\ufeff', '!', '~', '\u007f', '\u009f', '\u00a1', 'a', '\u00e9', '\u{1f600}',
];

test('property: trimString gives what String.prototype.trim() gives', () => {
  const piece = fc.oneof(fc.constantFrom(...EDGE_CHARACTERS), fc.string({ maxLength: 3 }), fc.string({ unit: 'grapheme', maxLength: 3 }));
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 6 }), (pieces) => {
      const value = pieces.join('');
      assert.equal(trimString(value), value.trim());
    }),
    { numRuns: 5000, seed: 4475 },
  );
  for (const c of EDGE_CHARACTERS) assert.equal(trimString(`${c}x${c}`), `${c}x${c}`.trim(), JSON.stringify(c));
});

test('trimString hands back the same string when there is nothing to cut', () => {
  const value = ['urn:ietf:params:xml:ns:', 'pidf'].join('');
  assert.equal(trimString(value), value);
  assert.equal(trimString(''), '');
});
