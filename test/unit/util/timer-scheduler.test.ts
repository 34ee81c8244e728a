import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../src/util/clock.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';

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
