import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { EventRing } from '../../../src/http/event-ring.js';

test('keeps the newest events, replays after an id, reports what was missed', () => {
  const ring = new EventRing<string>(3);
  for (let id = 1; id <= 5; id++) ring.push({ id, value: `e${id}` });
  assert.deepEqual(ring.since(undefined).map((e) => e.id), [3, 4, 5]);
  assert.deepEqual(ring.since(3).map((e) => e.value), ['e4', 'e5']);
  assert.deepEqual(ring.since(5), []);
  assert.equal(ring.missedAfter(1), true);
  assert.equal(ring.missedAfter(2), false);
  assert.deepEqual([ring.oldestId, ring.newestId, ring.size], [3, 5, 3]);
});

test('ids must increase', () => {
  const ring = new EventRing<number>(2);
  ring.push({ id: 4, value: 0 });
  assert.throws(() => ring.push({ id: 4, value: 1 }), { code: 'B2B_ERR_INVALID_OPTION', message: /event\.id: expected an id after/ });
});

test('listeners see every push until they unsubscribe', () => {
  const ring = new EventRing<number>(2);
  const seen: number[] = [];
  const off = ring.subscribe((e) => seen.push(e.id));
  ring.push({ id: 1, value: 0 });
  ring.push({ id: 2, value: 0 });
  off();
  ring.push({ id: 3, value: 0 });
  assert.deepEqual(seen, [1, 2]);
  assert.equal(ring.listenerCount, 0);
});

test('property: since(x) is exactly the kept events after x, with gaps in the ids', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 40 }), fc.integer({ min: 0, max: 130 }), (capacity, steps, after) => {
      const ring = new EventRing<number>(capacity);
      const ids: number[] = [];
      let id = 0;
      for (const step of steps) {
        id += step;
        ids.push(id);
        ring.push({ id, value: id });
      }
      const kept = ids.slice(-capacity);
      assert.deepEqual(ring.since(after).map((e) => e.id), kept.filter((k) => k > after));
      const dropped = ids.slice(0, Math.max(0, ids.length - capacity));
      assert.equal(ring.missedAfter(after), dropped.some((d) => d > after));
    }),
    { numRuns: 200 },
  );
});

test('isAhead: an id beyond every id issued, counted from the first id the ring may hold', () => {
  const ring = new EventRing<number>(2, 101);
  assert.equal(ring.isAhead(100), false, 'below the first id: an old id (from before a restart)');
  assert.equal(ring.isAhead(101), true, 'not issued yet');
  assert.throws(() => ring.push({ id: 100, value: 0 }), { code: 'B2B_ERR_INVALID_OPTION' });
  ring.push({ id: 101, value: 0 });
  ring.push({ id: 105, value: 0 });
  ring.push({ id: 106, value: 0 });
  assert.equal(ring.isAhead(106), false);
  assert.equal(ring.isAhead(107), true);
  assert.equal(ring.isAhead(101), false, 'dropped, not ahead (missedAfter says it)');
  assert.throws(() => new EventRing<number>(2, 0), { code: 'B2B_ERR_INVALID_OPTION' });
});
