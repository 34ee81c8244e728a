import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PACE_TICK_MS, SubscribePacer } from '../../../src/subscription/subscribe-pacer.js';

test('a burst of one second’s worth goes at once, the rest at the rate', () => {
  const pacer = new SubscribePacer(10);
  const delays = Array.from({ length: 13 }, () => pacer.reserve(0));
  assert.deepEqual(delays.slice(0, 10), Array(10).fill(0));
  assert.deepEqual(delays.slice(10).map(Math.round), [100, 200, 300]);
});

test('an idle pacer refills: after a quiet second a full burst goes again', () => {
  const pacer = new SubscribePacer(10);
  for (let i = 0; i < 10; i++) pacer.reserve(0);
  assert.equal(Math.round(pacer.reserve(0)), 100);
  // The reserved slot ran until 1100 ms; by 2100 ms a whole second's burst is back.
  const later = Array.from({ length: 10 }, () => pacer.reserve(2100));
  assert.deepEqual(later, Array(10).fill(0));
});

test('rate 0 is unlimited', () => {
  const pacer = new SubscribePacer(0);
  for (let i = 0; i < 100_000; i++) assert.equal(pacer.reserve(0), 0);
});

test('past the burst, the waiting ones leave on the 10 ms grid: ten per tick at 1,000/s', () => {
  const pacer = new SubscribePacer(1000);
  for (let i = 0; i < 1000; i++) assert.equal(pacer.reserve(3), 0);
  const delays = Array.from({ length: 100 }, () => pacer.reserve(3));
  for (const d of delays) assert.equal((3 + d) % PACE_TICK_MS, 0, `due at ${3 + d} ms`);
  const perTick = new Map<number, number>();
  for (const d of delays) perTick.set(3 + d, (perTick.get(3 + d) ?? 0) + 1);
  assert.ok([...perTick.values()].every((n) => n <= 10), 'no tick takes more than its ten slots');
  assert.ok(Math.max(...delays) <= 100 + PACE_TICK_MS, 'the rate holds: 100 more within about 100 ms');
});
