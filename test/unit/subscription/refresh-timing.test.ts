/**
 * Refresh timing (issue 9): a refresh never lands after the expiry and never
 * loops, whatever the grant and the settings.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { engineHarness } from './engine-harness.js';

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
