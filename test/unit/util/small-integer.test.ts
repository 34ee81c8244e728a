import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { KeptStatus } from '../../../src/qsa/kept-status.js';
import { createStatusMessage, type QsaSubscriptionHandle } from '../../../src/qsa/status-message.js';
import { asSmallInteger } from '../../../src/util/small-integer.js';

// %IsSmi tells whether V8 holds a number as a small integer (no box of its own).
setFlagsFromString('--allow-natives-syntax');
const isSmi = new Function('value', 'return %IsSmi(value)') as (value: number) => boolean;

test('asSmallInteger: the same value; a whole number in the 32-bit range becomes a small integer, anything else is returned as it is', () => {
  const epoch = Math.floor(Date.now());
  const later = epoch + 1234;
  const distance = later - epoch;
  assert.equal(asSmallInteger(distance), 1234);
  assert.equal(isSmi(asSmallInteger(distance)), true);
  for (const n of [0, -5, 0x7fffffff, -0x80000000]) {
    assert.equal(asSmallInteger(n), n);
    assert.equal(isSmi(asSmallInteger(n)), true);
  }
  for (const n of [0x80000000, -0x80000001, 1.5, -0.25, 2 ** 53, Number.POSITIVE_INFINITY]) assert.equal(asSmallInteger(n), n);
  assert.ok(Number.isNaN(asSmallInteger(Number.NaN)));
  assert.ok(Object.is(asSmallInteger(-0), 0), 'minus zero becomes 0 (a distance of 0 ms)');
});

const subscription = { id: 's1', package: 'presence', record: 'sip:a@x', subscriber: 'sip:b@x' } as unknown as QsaSubscriptionHandle;

test('KeptStatus: the timestamp comes back exactly, whole (near the epoch or far from it) or with a fraction', () => {
  const epoch = Math.floor(Date.now());
  for (const timestamp of [epoch, epoch + 1, epoch + 86_400_000, epoch + 2 ** 31 + 7, epoch - 5, epoch + 0.5, 1_700_000_000_000.25]) {
    const kept = new KeptStatus();
    kept.write(createStatusMessage(subscription, { state: 'active', expires: 60 }, 3, timestamp), epoch, undefined);
    const message = kept.message(subscription, epoch);
    assert.equal(message.timestamp, timestamp);
    assert.equal(message.sequence, 3);
  }
});

test('KeptStatus: a whole timestamp after the epoch is kept as two small integers (no heap number per held subscription), also after other forms were kept', () => {
  const epoch = Math.floor(Date.now());
  for (const distance of [4321, 2 ** 31 + 7, 3 * 2 ** 30, 2 ** 45 + 1]) {
    const kept = new KeptStatus();
    kept.write(createStatusMessage(subscription, { state: 'active' }, 1, epoch + distance), epoch, undefined);
    assert.equal(isSmi(kept.time), true);
    assert.equal(isSmi(kept.timeHigh), true);
    assert.equal(kept.timeHigh * 2 ** 30 + kept.time, distance);
    assert.equal(kept.rare, undefined, 'nothing rare about it');
    assert.equal(kept.message(subscription, epoch).timestamp, epoch + distance);
  }
});
