/**
 * Refresh timing (issue 9): a refresh never lands after the expiry and never
 * loops, whatever the grant and the settings.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { REFRESH_TICK_MS, delayToRefreshTick, refreshDelaySeconds } from '../../../src/subscription/refresh-delay.js';
import type { Random } from '../../../src/util/random.js';
import { engineHarness } from './engine-harness.js';

/** A Random whose next() is `value`: the jitter's two ends are checked exactly. */
function fixedRandom(value: number): Random {
  return { next: () => value, token: (length) => 'x'.repeat(length) };
}

const DEFAULTS = { resubscribeDelta: 30, minResubscribeTime: 30, refreshJitter: 5 };

test('defect: min_resubscribe_time 0 and a 20 s grant: one refresh at half the grant, not a zero-delay loop', () => {
  const h = engineHarness({ minResubscribeTime: 0, resubscribeDelta: 30 });
  const handle = h.subscribe();
  const sub = h.ua.take();
  sub.accept({ expires: 20 });
  h.ua.notify(sub);
  h.statuses();
  assert.deepEqual(h.ua.unseen().map((s) => s.describe()), [], 'no refresh before the clock moves');
  h.clock.advance(9_999);
  h.assertQuiet();
  h.clock.advance(1);
  const refresh = h.ua.take();
  assert.equal(refresh.cseq, 2);
  refresh.accept({ expires: 20 });
  h.assertQuiet();
  assert.equal(h.stateOf(handle), 'active');
  h.clock.advance(10_000);
  assert.equal(h.ua.take().cseq, 3);
});

test('a 60 s grant with the defaults: the jitter, with no room earlier, spreads the refresh over 30–35 s', () => {
  // granted − resubscribe_delta is 30 s, which is also min_resubscribe_time and half the grant.
  assert.equal(refreshDelaySeconds(60, DEFAULTS, fixedRandom(0)), 35);
  assert.equal(refreshDelaySeconds(60, DEFAULTS, fixedRandom(0.5)), 32.5);
  assert.equal(refreshDelaySeconds(60, DEFAULTS, fixedRandom(0.999999)), 30.000005);
});

test('a 3600 s grant with the defaults: the jitter is taken earlier, 3565–3570 s, as before', () => {
  assert.equal(refreshDelaySeconds(3600, DEFAULTS, fixedRandom(0)), 3570);
  assert.equal(refreshDelaySeconds(3600, DEFAULTS, fixedRandom(0.5)), 3567.5);
});

test('a 20 s grant: at most a quarter of the time left before the expiry is taken later (10–12.5 s)', () => {
  assert.equal(refreshDelaySeconds(20, DEFAULTS, fixedRandom(0)), 12.5);
  assert.equal(refreshDelaySeconds(20, DEFAULTS, fixedRandom(0.5)), 11.25);
});

test('property: the refresh lands before the expiry, within refresh_jitter of the planned time, never under the floor', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 100_000 }),
      fc.integer({ min: 0, max: 3_600 }),
      fc.integer({ min: 0, max: 3_600 }),
      fc.integer({ min: 0, max: 600 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (granted, resubscribeDelta, minResubscribeTime, refreshJitter, draw) => {
        const settings = { resubscribeDelta, minResubscribeTime, refreshJitter };
        const delay = refreshDelaySeconds(granted, settings, fixedRandom(draw));
        const planned = refreshDelaySeconds(granted, { ...settings, refreshJitter: 0 }, fixedRandom(draw));
        const floor = Math.min(planned, Math.max(minResubscribeTime, granted / 2));
        // resubscribe_delta 0 asks for the refresh at the expiry itself; the jitter never adds to that.
        assert.ok(delay < granted || delay === planned, `refresh at ${delay} s of a ${granted} s grant`);
        assert.ok(delay >= floor, `refresh at ${delay} s under the floor ${floor} s`);
        assert.ok(Math.abs(delay - planned) <= refreshJitter, `refresh at ${delay} s, planned ${planned} s`);
        // Three quarters of the margin before the expiry stay for retransmissions.
        assert.ok(granted - delay >= ((granted - planned) * 3) / 4 - 1e-9);
      },
    ),
    { numRuns: 2_000 },
  );
});

test('refreshes fall due on the 100 ms grid: a 2xx at 37 ms granting 600 s is refreshed at 570,100 ms', () => {
  const h = engineHarness({});
  h.clock.advance(37);
  h.subscribe();
  const sub = h.ua.take();
  sub.accept({ expires: 600 });
  h.ua.notify(sub);
  h.statuses();
  h.clock.advance(570_100 - 37 - 1);
  h.assertQuiet();
  h.clock.advance(1);
  assert.equal(h.ua.take().cseq, 2, 'refresh on the grid, 63 ms after granted − resubscribe_delta');
});

test('property: the delay to the refresh grid is the asked delay lengthened by less than one tick', () => {
  fc.assert(
    // The clock is performance.now(): fractional ms, up to years of uptime. Float sums round: 1 µs of slack.
    fc.property(fc.double({ min: 0, max: 1e11, noNaN: true }), fc.double({ min: 0, max: 1e8, noNaN: true }), (now, delayMs) => {
      const aligned = delayToRefreshTick(now, delayMs);
      const due = now + aligned;
      assert.ok(Math.abs(due - Math.round(due / REFRESH_TICK_MS) * REFRESH_TICK_MS) < 1e-3, `due at ${due}`);
      assert.ok(aligned >= delayMs - 1e-3 && aligned - delayMs <= REFRESH_TICK_MS + 1e-3, `${delayMs} → ${aligned}`);
    }),
    { numRuns: 2_000 },
  );
});
