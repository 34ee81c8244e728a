import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../../src/util/clock.js';
import { type Timer, TimerScheduler } from '../../../src/util/timer-scheduler.js';

test('timers fire in deadline order on a manual clock, with one clock wake-up at a time', () => {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const fired: string[] = [];
  scheduler.after(300, () => fired.push('c'));
  scheduler.after(100, () => fired.push('a'));
  scheduler.after(200, () => fired.push('b'));
  assert.equal(clock.pendingTimers(), 1);
  clock.advance(150);
  assert.deepEqual(fired, ['a']);
  clock.advance(1000);
  assert.deepEqual(fired, ['a', 'b', 'c']);
  assert.equal(scheduler.size, 0);
});

test('a cancelled timer never fires and ties fire in creation order', () => {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const fired: number[] = [];
  const t = scheduler.after(10, () => fired.push(0));
  scheduler.after(10, () => fired.push(1));
  scheduler.after(10, () => fired.push(2));
  t.cancel();
  t.cancel();
  assert.equal(t.pending, false);
  clock.advance(10);
  assert.deepEqual(fired, [1, 2]);
});

test('a timer set from a timer callback runs at its own deadline', () => {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const at: number[] = [];
  scheduler.after(5, () => {
    at.push(clock.now());
    scheduler.after(5, () => at.push(clock.now()));
  });
  clock.advance(100);
  assert.deepEqual(at, [5, 10]);
});

test('holds 200k timers and cancels most of them cheaply', () => {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const timers = [];
  let fired = 0;
  for (let i = 0; i < 200_000; i++) timers.push(scheduler.after(1000 + (i % 5000), () => fired++));
  for (let i = 0; i < 200_000; i += 2) timers[i]!.cancel();
  assert.equal(scheduler.size, 100_000);
  clock.advance(10_000);
  assert.equal(fired, 100_000);
});

test('a timer callback that throws goes to onError; the other timers due at the same time still run', () => {
  const clock = new ManualClock();
  const errors: unknown[] = [];
  const scheduler = new TimerScheduler(clock, { onError: (error) => errors.push(error) });
  const ran: string[] = [];
  scheduler.after(10, () => {
    throw new Error('timer bug');
  });
  scheduler.after(10, () => ran.push('second'));
  clock.advance(10);
  assert.deepEqual(ran, ['second']);
  assert.equal(errors.length, 1);
  assert.equal((errors[0] as Error).message, 'timer bug');
  scheduler.close();
  assert.throws(() => scheduler.after(1, () => {}), { code: 'B2B_ERR_CLOSED', message: 'TimerScheduler is closed' });
});

test('a cancelled timer leaves the heap at once: a timer re-armed per subscription leaves no dead entry behind', () => {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const first: Timer[] = [];
  for (let i = 0; i < 5000; i++) first.push(scheduler.afterCall(3_600_000 + i, () => {}, i));
  // As a first NOTIFY re-arms the refresh timer the 2xx armed: cancel, then a new one.
  for (let i = 0; i < 5000; i++) {
    first[i]!.cancel();
    scheduler.afterCall(3_500_000 + i, () => {}, i);
  }
  assert.equal(scheduler.size, 5000);
  assert.equal(scheduler.heapEntries, 5000);
});

test('close() from a timer callback stops the batch: nothing else fires, and the scheduler stays closed', () => {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const ran: number[] = [];
  scheduler.after(10, () => {
    ran.push(1);
    scheduler.close();
  });
  scheduler.after(10, () => ran.push(2));
  scheduler.after(20, () => ran.push(3));
  clock.advance(100);
  assert.deepEqual(ran, [1]);
  assert.equal(scheduler.size, 0);
});

test('against a plain model: any mix of arming, cancelling (also from callbacks) and time passing fires the same timers in the same order (property)', () => {
  type Op =
    | { kind: 'arm'; delay: number; target: number | undefined }
    | { kind: 'cancel'; pick: number }
    | { kind: 'advance'; ms: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('arm' as const), delay: fc.integer({ min: 0, max: 400 }), target: fc.option(fc.nat(200), { nil: undefined }) }), weight: 5 },
    { arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }), weight: 3 },
    { arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 60 }) }), weight: 1 },
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const clock = new ManualClock();
      const scheduler = new TimerScheduler(clock);
      // The model: each live timer's deadline and the timer its callback cancels, if any; ids are creation order.
      const live = new Map<number, { at: number; target: number | undefined }>();
      const timers: Timer[] = [];
      const fired: number[] = [];
      const expected: number[] = [];
      for (const o of ops) {
        if (o.kind === 'arm') {
          const id = timers.length;
          const target = o.target;
          live.set(id, { at: clock.now() + o.delay, target });
          timers.push(
            scheduler.after(o.delay, () => {
              fired.push(id);
              if (target !== undefined) timers[target]?.cancel();
            }),
          );
        } else if (o.kind === 'cancel') {
          const ids = [...live.keys()];
          if (ids.length === 0) continue;
          const id = ids[o.pick % ids.length]!;
          live.delete(id);
          timers[id]!.cancel();
        } else {
          const until = clock.now() + o.ms;
          // Earliest deadline first, creation order among equals; a callback cancels its target if still live.
          for (;;) {
            let next: number | undefined;
            for (const [id, t] of live) if (t.at <= until && (next === undefined || t.at < live.get(next)!.at)) next = id;
            if (next === undefined) break;
            const { target } = live.get(next)!;
            live.delete(next);
            expected.push(next);
            if (target !== undefined) live.delete(target);
          }
          clock.advance(o.ms);
          assert.deepEqual(fired, expected);
        }
        assert.equal(scheduler.size, live.size);
        assert.equal(scheduler.heapEntries, live.size);
        for (const [id] of live) assert.equal(timers[id]!.pending, true);
      }
    }),
    { numRuns: 300 },
  );
});

test('cancelling a timer deep in the heap moves the last entry up when it is earlier than its new parent', () => {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const fired: number[] = [];
  // Pushed in this order the heap is [1, 100, 3, 101, 102, 151, 4]; 101 leaves and 4 (the last) takes
  // its place under 100, so it must move up: left there, 100 reaches the top first and 4 fires late.
  const timers = new Map<number, Timer>();
  for (const at of [1, 100, 3, 101, 102, 151, 4]) timers.set(at, scheduler.after(at, () => fired.push(at)));
  timers.get(101)!.cancel();
  clock.advance(4);
  assert.deepEqual(fired, [1, 3, 4]);
  clock.advance(200);
  assert.deepEqual(fired, [1, 3, 4, 100, 102, 151]);
});
