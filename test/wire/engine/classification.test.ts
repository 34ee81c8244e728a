/**
 * The classification table (README, "Behaviour on each answer") on the wire:
 * the rows the other engine wire tests do not cover already, each with the
 * exact request that follows and its delay within the jitter bounds
 * (injected clock; on_error_retry_time 120 s, so a first backoff is 96–144 s).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accept,
  advanceUntilSubscribe,
  callIdOf,
  establish,
  expectNothing,
  expectSubscribe,
  header,
  notify,
  startHarness,
  stateOf,
  takeMessage,
  toTagOf,
} from './harness.js';

/** `waited` (ms) lies in base ±20 % (plus the clock step). */
function assertBackoff(waited: number | undefined, baseMs: number, what: string): void {
  assert.ok(waited !== undefined && waited >= 0.8 * baseMs && waited <= 1.2 * baseMs + 100, `${what}: after ${waited} ms, expected ${baseMs} ±20 %`);
}

test('2xx without a To tag, or with an unusable Record-Route: a failure, nothing sent in it, a new subscription after the backoff', async () => {
  const h = await startHarness();
  try {
    const broken: Array<{ toTag?: string; headers: Array<readonly [string, string]> }> = [
      { headers: [['Expires', '600'], ['Contact', '<sip:ps@127.0.0.1>']] },
      { toTag: 'srv1', headers: [['Expires', '600'], ['Contact', '<sip:ps@127.0.0.1>'], ['Record-Route', '<sip:p1;lr']] },
    ];
    const handle = h.subscribe();
    let sub = await expectSubscribe(h.peer);
    let base = 120_000;
    for (const b of broken) {
      // createResponse adds no To tag unless asked: the first 2xx has none.
      await h.peer.reply(sub, 200, { ...(b.toTag !== undefined ? { toTag: b.toTag } : {}), headers: b.headers });
      const status = await takeMessage(h.queue);
      assert.equal(status.state, 'terminated');
      assert.equal(status.error?.code, 'B2B_ERR_UNUSABLE_DIALOG');
      assert.match(status.error?.message ?? '', /^200 OK: /);
      assert.equal(stateOf(h, handle), 'waiting');
      await expectNothing(h);
      assertBackoff(advanceUntilSubscribe(h, 1.3 * base, 100), base, status.error?.message ?? '');
      const next = await expectSubscribe(h.peer);
      assert.notEqual(callIdOf(next), callIdOf(sub));
      assert.equal(header(next, 'CSeq'), '1 SUBSCRIBE');
      assert.equal(toTagOf(next), undefined);
      sub = next;
      base *= 2;
    }
  } finally {
    await h.close();
  }
});

test('Retry-After beyond max_error_retry_time is capped; a success (2xx + NOTIFY) resets the backoff', async () => {
  const h = await startHarness({ maxErrorRetryTime: 600 });
  try {
    const handle = h.subscribe();
    let sub = await expectSubscribe(h.peer);
    await h.peer.reply(sub, 503, { headers: [['Retry-After', '100000']] });
    assert.equal((await takeMessage(h.queue)).retryAfter, 600);
    assert.equal(advanceUntilSubscribe(h, 700_000, 1000), 600_000);
    sub = await expectSubscribe(h.peer);
    await h.peer.reply(sub, 500); // the second failure in a row: 240 s ±20 %
    await takeMessage(h.queue);
    assertBackoff(advanceUntilSubscribe(h, 300_000, 100), 240_000, 'second failure');
    sub = await expectSubscribe(h.peer);
    await accept(h.peer, sub);
    await notify(h, sub, { cseq: 1 });
    assert.equal((await takeMessage(h.queue)).state, 'active');
    h.clock.advance(570_000);
    const refresh = await expectSubscribe(h.peer);
    await h.peer.reply(refresh, 500); // the first failure since the success: 120 s ±20 % again
    await takeMessage(h.queue);
    assertBackoff(advanceUntilSubscribe(h, 200_000, 100), 120_000, 'after a success');
    const fresh = await expectSubscribe(h.peer);
    assert.notEqual(callIdOf(fresh), callIdOf(sub));
    assert.equal(stateOf(h, handle), 'subscribing');
  } finally {
    await h.close();
  }
});

test('final_retry_time: a final answer is retried after it, and says so', async () => {
  const h = await startHarness({ finalRetryTime: 900 });
  try {
    const handle = h.subscribe();
    const first = await expectSubscribe(h.peer);
    await h.peer.reply(first, 403);
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'rejected');
    assert.equal(status.retryAfter, 900);
    assert.equal(stateOf(h, handle), 'waiting');
    assert.equal(advanceUntilSubscribe(h, 1_000_000, 1000), 900_000);
    const again = await expectSubscribe(h.peer);
    assert.notEqual(callIdOf(again), callIdOf(first));
    assert.equal(again.message.uri, h.record());
  } finally {
    await h.close();
  }
});

test('terminated;reason=timeout of a running subscription: a new SUBSCRIBE at once (0.5–1 s); one that never ran: the backoff', async () => {
  const h = await startHarness();
  try {
    const { subscribe } = await establish(h);
    h.clock.advance(100_000);
    await notify(h, subscribe, { cseq: 2, subscriptionState: 'terminated;reason=timeout', body: '' });
    const ended = await takeMessage(h.queue);
    assert.equal(ended.reason, 'timeout');
    assert.equal(ended.retryAfter, 1);
    const delay = advanceUntilSubscribe(h, 5000, 10);
    assert.ok(delay !== undefined && delay >= 500 && delay <= 1000, `after ${delay} ms`);
    const fresh = await expectSubscribe(h.peer);
    assert.notEqual(callIdOf(fresh), callIdOf(subscribe));
    assert.equal(header(fresh, 'CSeq'), '1 SUBSCRIBE');
    // The server accepts it and ends it at once: it never ran, so this counts as a failure.
    await accept(h.peer, fresh);
    await notify(h, fresh, { cseq: 1, subscriptionState: 'terminated;reason=deactivated', body: '' });
    const again = await takeMessage(h.queue);
    assert.equal(again.reason, 'deactivated');
    assertBackoff(advanceUntilSubscribe(h, 200_000, 100), 120_000, 'deactivated before it ran');
    assert.ok(again.retryAfter !== undefined && again.retryAfter >= 96 && again.retryAfter <= 144);
    await expectSubscribe(h.peer);
  } finally {
    await h.close();
  }
});

test('terminated;reason=giveup without retry-after: the backoff; probation with a retry-after beyond max_error_retry_time: capped', async () => {
  const h = await startHarness({ maxErrorRetryTime: 300 });
  try {
    const { subscribe } = await establish(h);
    await notify(h, subscribe, { cseq: 2, subscriptionState: 'terminated;reason=giveup', body: '' });
    assert.equal((await takeMessage(h.queue)).reason, 'giveup');
    assertBackoff(advanceUntilSubscribe(h, 200_000, 100), 120_000, 'giveup');
    const second = await expectSubscribe(h.peer);
    await accept(h.peer, second);
    await notify(h, second, { cseq: 1 });
    await takeMessage(h.queue);
    await notify(h, second, { cseq: 2, subscriptionState: 'terminated;reason=probation;retry-after=86400', body: '' });
    const status = await takeMessage(h.queue);
    assert.equal(status.reason, 'probation');
    assert.equal(status.retryAfter, 300);
    assert.equal(advanceUntilSubscribe(h, 400_000, 1000), 300_000);
    await expectSubscribe(h.peer);
  } finally {
    await h.close();
  }
});

test('3xx to a refresh: a new dialog to the best Contact, as for a first SUBSCRIBE; the subscriber hears nothing', async () => {
  const h = await startHarness();
  try {
    const { handle, subscribe } = await establish(h);
    h.clock.advance(570_000);
    const refresh = await expectSubscribe(h.peer);
    const best = h.record('alice-moved');
    await h.peer.reply(refresh, 301, { headers: [['Contact', `<${h.record('old')}>;q=0.1, <${best}>;q=0.8`]] });
    const moved = await expectSubscribe(h.peer);
    assert.equal(moved.message.uri, best);
    assert.equal(header(moved, 'To'), `<${best}>`);
    assert.equal(header(moved, 'CSeq'), '1 SUBSCRIBE');
    assert.equal(header(moved, 'Expires'), '600');
    assert.notEqual(callIdOf(moved), callIdOf(subscribe));
    assert.equal(toTagOf(moved), undefined);
    assert.equal(stateOf(h, handle), 'subscribing');
    await expectNothing(h);
    assert.equal(h.queue.poll(), undefined);
    await accept(h.peer, moved);
    await notify(h, moved, { cseq: 1 });
    assert.equal((await takeMessage(h.queue)).state, 'active');
  } finally {
    await h.close();
  }
});
