import assert from 'node:assert/strict';
import { test } from 'node:test';
import { suggestKey, typoDistance } from '../../../src/config/key-suggestion.js';

test('typo distance: insertions, deletions, substitutions and adjacent swaps count one each', () => {
  assert.equal(typoDistance('default_expiraton', 'default_expiration'), 1);
  assert.equal(typoDistance('tokne', 'token'), 1);
  assert.equal(typoDistance('prot', 'port'), 1);
  assert.equal(typoDistance('abc', 'abc'), 0);
  assert.equal(typoDistance('', 'abc'), 3);
});

test('a suggestion only when close and unambiguous; none for long or far keys', () => {
  const known = ['host', 'port', 'token', 'enabled', 'sse_buffer'];
  assert.equal(suggestKey('prot', known), 'port');
  assert.equal(suggestKey('SSE-BUFER', known), 'sse_buffer');
  assert.equal(suggestKey('hots', known), 'host');
  assert.equal(suggestKey('xyz', known), undefined);
  assert.equal(suggestKey('pot', ['pat', 'pit']), undefined, 'two equally close keys: no guess');
  assert.equal(suggestKey('p'.repeat(10_000), known), undefined);
});
