/**
 * The restart pacer (issue 10): what a restart owes leaves evenly spaced at
 * max_subscribe_rate, never more than that in any second, never in a burst,
 * in random order; skipped turns cost no slot.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RestartPacer } from '../../../src/subscription/restart-pacer.js';
import { ManualClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';

function setup(rate: number) {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const pacer = new RestartPacer(rate, scheduler, new SeededRandom(7));
  const sent: Array<{ at: number; id: number }> = [];
  const turn = (id: number, sends = true) => () => {
    if (sends) sent.push({ at: clock.now(), id });
    return sends;
  };
  return { clock, scheduler, pacer, sent, turn };
}

/** The most turns within any window [t, t + 1000). */
function maxPerSecond(times: number[]): number {
  let best = 0;
  let j = 0;
  for (let i = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 1000) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

test('evenly spaced at the rate from the first one; no burst; all of them', () => {
  const { clock, pacer, sent, turn } = setup(100);
  for (let i = 0; i < 1000; i++) pacer.push(turn(i));
  assert.equal(sent.length, 0, 'nothing leaves inside push()');
  clock.advance(20_000);
  assert.equal(sent.length, 1000);
  assert.equal(sent[0]!.at, 0);
  for (let i = 1; i < sent.length; i++) assert.ok(sent[i]!.at - sent[i - 1]!.at >= 10 - 1e-9);
  assert.equal(maxPerSecond(sent.map((s) => s.at)), 100);
  assert.equal(pacer.sent, 1000);
  assert.equal(pacer.waiting, 0);
});

test('random order: the turns queued together do not leave in the order queued', () => {
  const { clock, pacer, sent, turn } = setup(1000);
  for (let i = 0; i < 200; i++) pacer.push(turn(i));
  clock.advance(1000);
  const ids = sent.map((s) => s.id);
  assert.deepEqual([...ids].sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i));
  assert.notDeepEqual(ids, Array.from({ length: 200 }, (_, i) => i));
});

test('a late wake-up catches up at most 50 ms worth, and never more than the rate in a second', () => {
  const { clock, pacer, sent, turn } = setup(1000);
  for (let i = 0; i < 5000; i++) pacer.push(turn(i));
  // Time jumps in steps of 200 ms: each wake-up is late by up to 200 ms.
  for (let t = 0; t < 10_000 && sent.length < 5000; t += 200) clock.advance(200);
  const perWake = new Map<number, number>();
  for (const s of sent) perWake.set(s.at, (perWake.get(s.at) ?? 0) + 1);
  assert.ok(Math.max(...perWake.values()) <= 51, `at most 51 at one wake-up, got ${Math.max(...perWake.values())}`);
  assert.ok(maxPerSecond(sent.map((s) => s.at)) <= 1000);
});

test('the sliding second holds even when every wake-up catches up', () => {
  const { clock, pacer, sent, turn } = setup(50);
  for (let i = 0; i < 500; i++) pacer.push(turn(i));
  for (let t = 0; t < 30_000 && sent.length < 500; t += 37) clock.advance(37);
  assert.equal(sent.length, 500);
  assert.ok(maxPerSecond(sent.map((s) => s.at)) <= 50);
});

test('a turn that sends nothing gives its slot to the next one', () => {
  const { clock, pacer, sent, turn } = setup(10);
  pacer.push(turn(1, false));
  pacer.push(turn(2, false));
  pacer.push(turn(3));
  clock.advance(0);
  assert.deepEqual(sent, [{ at: 0, id: 3 }]);
  assert.equal(pacer.sent, 1);
});

test('a turn may queue another (a fallback): it waits for its own slot', () => {
  const { clock, pacer, sent, turn } = setup(10);
  pacer.push(() => {
    sent.push({ at: clock.now(), id: 1 });
    pacer.push(turn(2));
    return true;
  });
  clock.advance(0);
  assert.deepEqual(sent, [{ at: 0, id: 1 }]);
  clock.advance(100);
  assert.deepEqual(sent, [
    { at: 0, id: 1 },
    { at: 100, id: 2 },
  ]);
});

test('after a pause the schedule starts from now: idle time earns no burst', () => {
  const { clock, pacer, sent, turn } = setup(10);
  pacer.push(turn(1));
  clock.advance(5000);
  for (let i = 2; i < 6; i++) pacer.push(turn(i));
  clock.advance(1000);
  assert.deepEqual(
    sent.map((s) => s.at),
    [0, 5000, 5100, 5200, 5300],
  );
});

test('rate 0 (unlimited) runs each turn at once', () => {
  const { pacer, sent, turn, scheduler } = setup(0);
  for (let i = 0; i < 10; i++) pacer.push(turn(i));
  assert.equal(sent.length, 10);
  assert.equal(scheduler.size, 0);
});

test('close() drops the turns waiting and the timer', () => {
  const { clock, pacer, sent, turn, scheduler } = setup(10);
  for (let i = 0; i < 10; i++) pacer.push(turn(i));
  clock.advance(150);
  pacer.close();
  assert.equal(scheduler.size, 0);
  clock.advance(5000);
  pacer.push(turn(99));
  assert.equal(sent.length, 2);
});

test('at 1,000/s the turns leave in wake-ups on the 10 ms grid, ten at a time, within the rate', () => {
  const { clock, pacer, sent, turn, scheduler } = setup(1000);
  for (let i = 0; i < 3000; i++) pacer.push(turn(i));
  for (let t = 0; t < 10_000 && sent.length < 3000; t += 1) clock.advance(1);
  assert.equal(sent.length, 3000);
  const perWake = new Map<number, number>();
  for (const s of sent) perWake.set(s.at, (perWake.get(s.at) ?? 0) + 1);
  assert.ok([...perWake.keys()].slice(1).every((at) => at % 10 === 0), 'after the first, every wake-up is on the grid');
  assert.ok(Math.max(...perWake.values()) <= 10, `at most 10 per wake-up, got ${Math.max(...perWake.values())}`);
  assert.ok(perWake.size <= 310, `${perWake.size} wake-ups for 3,000 turns`);
  assert.ok(maxPerSecond(sent.map((s) => s.at)) <= 1000);
  assert.equal(scheduler.size, 0);
});
