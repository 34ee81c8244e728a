/**
 * The failure-path defects of issue 9, one test each, on the wire (scripted
 * presence server, injected clock): each failed before its fix.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
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

const CHALLENGE_STALE = 'Digest realm="example.com", nonce="n-stale", algorithm=MD5, qop="auth", stale=true';

test('defect: a 2xx with an unusable Contact → terminated with an error code, nothing sent in that dialog, retried with backoff', async () => {
  const h = await startHarness();
  try {
    const handle = h.subscribe();
    const first = await expectSubscribe(h.peer);
    await h.peer.reply(first, 200, { toTag: 'srv1', headers: [['Expires', '600'], ['Contact', '<sip:ps@127.0.0.1;lr']] });
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'terminated');
    assert.equal(status.reason, 'error');
    assert.equal(status.error?.code, 'B2B_ERR_UNUSABLE_DIALOG');
    assert.equal(stateOf(h, handle), 'waiting');
    assert.ok(status.retryAfter !== undefined && status.retryAfter >= 96 && status.retryAfter <= 144, `retryAfter ${status.retryAfter}`);
    await expectNothing(h);
    const waited = advanceUntilSubscribe(h, 150_000, 100);
    assert.ok(waited !== undefined && waited >= 96_000 && waited <= 144_000, `first retry after ${waited} ms`);
    const retry = await expectSubscribe(h.peer);
    assert.notEqual(callIdOf(retry), callIdOf(first));
    assert.equal(toTagOf(retry), undefined);
  } finally {
    await h.close();
  }
});

test('defect: a 503 with Retry-After: 2 is retried after 2 s, not on_error_retry_time', async () => {
  const h = await startHarness();
  try {
    h.subscribe();
    const first = await expectSubscribe(h.peer);
    await h.peer.reply(first, 503, { headers: [['Retry-After', '2']] });
    const status = await takeMessage(h.queue);
    assert.equal(status.retryAfter, 2);
    h.clock.advance(1999);
    await expectNothing(h);
    h.clock.advance(1);
    const retry = await expectSubscribe(h.peer);
    assert.notEqual(callIdOf(retry), callIdOf(first));
  } finally {
    await h.close();
  }
});

test('defect: 503s in a row back off exponentially (on_error_retry_time × 2^(n−1), ±20 %)', async () => {
  const h = await startHarness();
  try {
    h.subscribe();
    let sub = await expectSubscribe(h.peer);
    for (const base of [120_000, 240_000, 480_000, 960_000]) {
      await h.peer.reply(sub, 503);
      const status = await takeMessage(h.queue);
      assert.equal(status.error?.code, 'B2B_ERR_SUBSCRIBE_FAILED');
      const waited = advanceUntilSubscribe(h, 1.3 * base, 100);
      assert.ok(waited !== undefined && waited >= 0.8 * base && waited <= 1.2 * base + 100, `after ${waited} ms, expected ${base} ±20 %`);
      assert.ok(Math.abs((status.retryAfter ?? 0) * 1000 - waited) <= 1000, `retryAfter ${status.retryAfter} s says when (${waited} ms)`);
      sub = await expectSubscribe(h.peer);
    }
  } finally {
    await h.close();
  }
});

test('defect: a NOTIFY terminated;reason=noresource is final: told once, never retried', async () => {
  const h = await startHarness();
  try {
    const { handle, subscribe } = await establish(h);
    assert.equal((await notify(h, subscribe, { cseq: 2, subscriptionState: 'terminated;reason=noresource', body: '' })).message.status, 200);
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'terminated');
    assert.equal(status.reason, 'noresource');
    assert.equal(status.retryAfter, undefined);
    assert.equal(stateOf(h, handle), 'final');
    for (let i = 0; i < 24; i++) h.clock.advance(3_600_000);
    await expectNothing(h);
    assert.equal(h.queue.poll(), undefined);
  } finally {
    await h.close();
  }
});

test('defect: 401 with stale=true is answered again at most twice in a row, then a failure (the clock does not move)', async () => {
  const h = await startHarness({ credentials: () => ({ username: 'bob', password: 'secret' }) });
  try {
    h.subscribe();
    for (let i = 0; i < 3; i++) {
      const sub = await expectSubscribe(h.peer);
      await h.peer.reply(sub, 401, { headers: [['WWW-Authenticate', CHALLENGE_STALE]] });
    }
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'terminated');
    assert.equal(status.error?.code, 'B2B_ERR_AUTH_STALE');
    await expectNothing(h);
    assert.equal(h.b2b.engine.stats.subscribesSent, 3);
  } finally {
    await h.close();
  }
});

test('defect: with the default settings a 20 s grant is refreshed at half of it, before it expires', async () => {
  const h = await startHarness({ resubscribeDelta: 30, minResubscribeTime: 30 });
  try {
    const { subscribe } = await establish(h, { expires: 20 });
    h.clock.advance(9_999);
    await expectNothing(h);
    h.clock.advance(1);
    const refresh = await expectSubscribe(h.peer);
    assert.equal(callIdOf(refresh), callIdOf(subscribe));
    assert.equal(header(refresh, 'CSeq'), '2 SUBSCRIBE');
  } finally {
    await h.close();
  }
});

test('defect: a dropped dialog abandons its SUBSCRIBE (no retransmission); its late 2xx gets Expires: 0 in that dialog', async () => {
  const h = await startHarness();
  try {
    const { subscribe } = await establish(h);
    h.clock.advance(570_000);
    const refresh = await expectSubscribe(h.peer);
    // The server ends the subscription while our refresh is in flight: a final reason, no new subscription.
    assert.equal((await notify(h, subscribe, { cseq: 2, subscriptionState: 'terminated;reason=rejected', body: '' })).message.status, 200);
    assert.equal((await takeMessage(h.queue)).state, 'rejected');
    h.clock.advance(500); // Timer E would retransmit now
    await expectNothing(h);
    await h.peer.reply(refresh, 200, { toTag: 'srv1', headers: [['Expires', '600'], ['Contact', `<${h.peer.uri('ps2')}>`]] });
    const unsubscribe = await expectSubscribe(h.peer);
    assert.equal(header(unsubscribe, 'Expires'), '0');
    assert.equal(callIdOf(unsubscribe), callIdOf(subscribe));
    assert.equal(toTagOf(unsubscribe), 'srv1');
    assert.equal(unsubscribe.message.uri, h.peer.uri('ps2'));
    assert.equal(header(unsubscribe, 'CSeq'), '3 SUBSCRIBE');
  } finally {
    await h.close();
  }
});

test('defect: a malformed Subscription-State is answered 400 and changes nothing', async () => {
  const h = await startHarness();
  try {
    const { handle, subscribe } = await establish(h);
    const answer = await notify(h, subscribe, { cseq: 5, subscriptionState: ';expires=60' });
    assert.equal(answer.message.status, 400);
    assert.equal(h.queue.poll(), undefined);
    assert.equal(stateOf(h, handle), 'active');
    // The dialog is as it was: CSeq 2 (below the refused 5) is still in order.
    assert.equal((await notify(h, subscribe, { cseq: 2, subscriptionState: 'active;expires=500' })).message.status, 200);
    assert.equal((await takeMessage(h.queue)).state, 'active');
  } finally {
    await h.close();
  }
});
