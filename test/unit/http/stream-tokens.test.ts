import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STREAM_TOKEN_TTL_SECONDS, StreamTokens } from '../../../src/http/stream-tokens.js';
import { ManualClock } from '../../../src/util/clock.js';

test('a stream token is valid for its lifetime, then expired', () => {
  const clock = new ManualClock();
  const tokens = new StreamTokens(clock);
  const { token, expiresIn } = tokens.issue();
  assert.equal(expiresIn, STREAM_TOKEN_TTL_SECONDS);
  assert.equal(tokens.check(token), 'valid');
  clock.advance(STREAM_TOKEN_TTL_SECONDS * 1000 - 1);
  assert.equal(tokens.check(token), 'valid', 'reusable until it expires (EventSource reconnects)');
  clock.advance(1);
  assert.equal(tokens.check(token), 'expired');
});

test('a forged, altered or foreign token is invalid', () => {
  const clock = new ManualClock();
  const tokens = new StreamTokens(clock);
  const { token } = tokens.issue();
  const [expiry, mac] = token.split('.') as [string, string];
  // A later expiry with the old MAC: the MAC covers the expiry.
  assert.equal(tokens.check(`${(Number.parseInt(expiry, 36) + 1000).toString(36)}.${mac}`), 'invalid');
  assert.equal(tokens.check(`${expiry}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`), 'invalid');
  // Every other spelling of the last character, including those that differ only in the
  // padding bits (decoded, they would give the same MAC).
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (const other of alphabet) {
    if (other === mac.at(-1)) continue;
    assert.equal(tokens.check(`${expiry}.${mac.slice(0, -1)}${other}`), 'invalid', `last character ${other}`);
  }
  assert.equal(tokens.check(''), 'invalid');
  assert.equal(tokens.check('not a token'), 'invalid');
  assert.equal(tokens.check(`${expiry}.${mac}.x`), 'invalid');
  // Another daemon (another key), or this one after a restart.
  assert.equal(new StreamTokens(clock).check(token), 'invalid');
});
