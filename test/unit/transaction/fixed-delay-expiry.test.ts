import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FixedDelayExpiry } from '../../../src/sip/transaction/fixed-delay-expiry.js';
import { ManualClock } from '../../../src/util/clock.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';

function queue(delayMs: number) {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const expired: Array<{ item: object; at: number }> = [];
  const fifo = new FixedDelayExpiry<object>(scheduler, delayMs, (item) => expired.push({ item, at: clock.now() }));
  return { clock, scheduler, fifo, expired };
}

test('FixedDelayExpiry: a cancelled item never expires; the others do, each delayMs after it was added', () => {
  const { clock, fifo, expired } = queue(1000);
  const items = Array.from({ length: 10 }, () => ({}));
  const tickets = items.map((item) => {
    const ticket = fifo.add(item);
    clock.advance(10);
    return ticket;
  });
  fifo.cancel(tickets[0]!, items[0]!);
  fifo.cancel(tickets[5]!, items[5]!);
  clock.advance(2000);
  assert.deepEqual(
    expired.map((e) => e.item),
    items.filter((_, i) => i !== 0 && i !== 5),
  );
  assert.deepEqual(
    expired.map((e) => e.at),
    [1, 2, 3, 4, 6, 7, 8, 9].map((i) => 1000 + i * 10),
  );
});

test('FixedDelayExpiry: cancel after expiry, twice, or with another item is a no-op', () => {
  const { clock, fifo, expired } = queue(100);
  const a = {};
  const b = {};
  const ta = fifo.add(a);
  const tb = fifo.add(b);
  fifo.cancel(ta, b); // not the item of that ticket
  clock.advance(100);
  assert.deepEqual(
    expired.map((e) => e.item),
    [a, b],
  );
  fifo.cancel(ta, a);
  fifo.cancel(tb, b);
  const c = {};
  const tc = fifo.add(c);
  fifo.cancel(tc, c);
  fifo.cancel(tc, c);
  clock.advance(1000);
  assert.equal(expired.length, 2);
});

test('FixedDelayExpiry: tickets keep naming their item after the consumed prefix is dropped; cancelled heads are not waited for', () => {
  const { clock, scheduler, fifo, expired } = queue(1000);
  const kept: Array<{ item: object; ticket: number }> = [];
  // 3,000 items 1 ms apart, all cancelled but every 100th: the queue drops prefixes as it goes.
  for (let i = 0; i < 3000; i++) {
    const item = { i };
    const ticket = fifo.add(item);
    if (i % 100 !== 0) fifo.cancel(ticket, item);
    else kept.push({ item, ticket });
    clock.advance(1);
  }
  // Cancel a few of the kept ones late, after part of the queue expired and was dropped.
  clock.advance(500);
  const late = kept.slice(26, 29);
  for (const { item, ticket } of late) fifo.cancel(ticket, item);
  clock.advance(3000);
  const want = kept.filter((k) => !late.includes(k)).map((k) => k.item);
  assert.deepEqual(
    expired.map((e) => e.item),
    want,
  );
  for (const e of expired) assert.equal(e.at, (e.item as { i: number }).i + 1000);
  assert.equal(scheduler.size, 0);
  assert.equal(fifo.size, 0);
});

test('FixedDelayExpiry: cancelling the last item waiting lets the scheduler timer go; a throwing onExpire does not stop the others', () => {
  const { clock, scheduler, fifo } = queue(100);
  const a = {};
  const b = {};
  const ta = fifo.add(a);
  const tb = fifo.add(b);
  assert.equal(scheduler.size, 1);
  fifo.cancel(ta, a);
  assert.equal(scheduler.size, 1, 'b still waits');
  fifo.cancel(tb, b);
  assert.equal(scheduler.size, 0, 'nothing waits: no timer');
  assert.equal(fifo.size, 0);

  const errors: unknown[] = [];
  const clock2 = new ManualClock();
  const scheduler2 = new TimerScheduler(clock2, { onError: (e) => errors.push(e) });
  const seen: number[] = [];
  const throwing = new FixedDelayExpiry<{ n: number }>(scheduler2, 100, (item) => {
    seen.push(item.n);
    if (item.n === 1) throw new Error('bug in a callback');
  });
  throwing.add({ n: 1 });
  throwing.add({ n: 2 });
  clock2.advance(10);
  throwing.add({ n: 3 });
  clock2.advance(200);
  assert.deepEqual(seen, [1, 2, 3]);
  assert.equal(errors.length, 1);
  assert.equal(scheduler2.size, 0);
  clock.advance(1000);
});
