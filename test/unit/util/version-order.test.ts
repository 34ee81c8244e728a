import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sameValue } from '../../../src/util/same-value.js';
import { needsResync, VersionOrder } from '../../../src/util/version-order.js';

test('VersionOrder: full state applies unless older; partial only one above, after full state', () => {
  const order = new VersionOrder();
  assert.equal(order.awaitingFullState, true);
  assert.equal(order.check(3, false), 'no-full-state');
  assert.equal(order.check(3, true), 'apply');
  order.accepted(3, true);
  assert.equal(order.awaitingFullState, false);
  assert.equal(order.check(3, true), 'apply', 'the same version in full state (Kamailio reginfo: always 0)');
  assert.equal(order.check(2, true), 'stale');
  assert.equal(order.check(4, false), 'apply');
  assert.equal(order.check(5, false), 'gap');
  assert.equal(order.check(3, false), 'not-newer');
  assert.equal(order.check(2, false), 'not-newer');
  order.refused();
  assert.equal(order.check(4, false), 'no-full-state');
  assert.equal(order.check(0, true), 'apply', 'after a resync any full state is taken');
  order.reset();
  assert.equal(order.version, undefined);
  assert.deepEqual(
    (['apply', 'stale', 'gap', 'not-newer', 'no-full-state'] as const).map(needsResync),
    [false, false, true, true, true],
  );
  assert.match(order.describe('gap', 9), /version 9/);
});

test('sameValue: plain data, byte arrays, undefined keys as absent', () => {
  assert.ok(sameValue({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }));
  assert.ok(sameValue({ a: 1, b: undefined }, { a: 1 }));
  assert.ok(sameValue({ a: 1 }, { a: 1, b: undefined }));
  assert.ok(sameValue(new Uint8Array([1, 2]), Buffer.from([1, 2])));
  assert.ok(!sameValue(new Uint8Array([1, 2]), new Uint8Array([1, 3])));
  assert.ok(!sameValue(new Uint8Array([1]), [1]));
  assert.ok(!sameValue([1], { 0: 1 }));
  assert.ok(!sameValue({ a: 1 }, { a: 1, b: 0 }));
  assert.ok(!sameValue(null, {}));
  assert.ok(!sameValue('1', 1));
});
