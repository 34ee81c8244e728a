/**
 * Failures of a SUBSCRIBE (docs/ser-presence-b2b.md §2.3 "≥ 400, local 408" and "3xx" columns,
 * §6 items 21–24; README "Behaviour on each answer"): the subscriber is told
 * (rejected/terminated, reason, error code, retryAfter when a retry is
 * scheduled), the dialog is dropped; a final answer is not retried, a failure
 * is, with a fresh subscription to the original record after the backoff;
 * Timer F and Timer N.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SIXTY_FOUR_T1,
  accept,
  advanceUntilSubscribe,
  assertNoLeaks,
  assertQueueEmpty,
  callIdOf,
  expectNothing,
  expectSubscribe,
  fromTagOf,
  header,
  notify,
  startHarness,
  stateOf,
  takeMessage,
  toTagOf,
  waitForState,
} from './harness.js';

/** The first retry: on_error_retry_time (120 s) ±20 %. */
const RETRY_MS = 120_000;
const RETRY_MAX_MS = 1.2 * RETRY_MS;

/** `waited` (ms) lies in base ±20 % (plus the clock step). */
function assertBackoff(waited: number | undefined, baseMs: number, what: string): void {
  assert.ok(waited !== undefined && waited >= 0.8 * baseMs && waited <= 1.2 * baseMs + 100, `${what}: after ${waited} ms, expected ${baseMs} ±20 %`);
}

test('final answers (403, 603, 489, 401 without credentials, 404, 410, 604): told once, no retryAfter, never retried', async () => {
  const cases = [
    { status: 403, state: 'rejected', reason: 'rejected', code: 'B2B_ERR_SUBSCRIBE_REJECTED' },
    { status: 603, state: 'rejected', reason: 'rejected', code: 'B2B_ERR_SUBSCRIBE_REJECTED' },
    { status: 489, state: 'rejected', reason: 'bad-event', code: 'B2B_ERR_SUBSCRIBE_REJECTED' },
    { status: 401, state: 'rejected', reason: 'unauthorized', code: 'B2B_ERR_AUTH_FAILED' },
    { status: 404, state: 'terminated', reason: 'noresource', code: 'B2B_ERR_SUBSCRIBE_FAILED' },
    { status: 410, state: 'terminated', reason: 'noresource', code: 'B2B_ERR_SUBSCRIBE_FAILED' },
    { status: 604, state: 'terminated', reason: 'noresource', code: 'B2B_ERR_SUBSCRIBE_FAILED' },
  ] as const;
  const h = await startHarness();
  try {
    for (const c of cases) {
      const handle = h.subscribe(h.record(`user${c.status}`));
      const sub = await expectSubscribe(h.peer);
      assert.equal(sub.message.uri, h.record(`user${c.status}`));
      const headers: Array<readonly [string, string]> = c.status === 401 ? [['WWW-Authenticate', 'Digest realm="example.com", nonce="n1", algorithm=MD5']] : [];
      await h.peer.reply(sub, c.status, { headers });
      const status = await takeMessage(h.queue);
      assert.equal(status.state, c.state, `${c.status}: state`);
      assert.equal(status.reason, c.reason, `${c.status}: reason`);
      assert.equal(status.retryAfter, undefined, `${c.status}: no retry scheduled`);
      assert.equal(status.error?.code, c.code, `${c.status}: error code`);
      assert.match(status.error?.message ?? '', new RegExp(`^${c.status} `));
      assert.equal(stateOf(h, handle), 'final');
    }
    h.clock.advance(24 * 3_600_000);
    await expectNothing(h);
    await assertQueueEmpty(h);
    assert.equal(h.b2b.engine.stats.subscribesSent, cases.length);
  } finally {
    await h.close();
  }
});

test('failures (other 4xx, 5xx, 6xx but 603/604): terminated/error with retryAfter; consecutive ones back off on_error_retry_time × 2^(n−1) ±20 %', async () => {
  const h = await startHarness();
  try {
    const handle = h.subscribe();
    let sub = await expectSubscribe(h.peer);
    const callIds = new Set<string>();
    let base = RETRY_MS;
    for (const code of [480, 500, 600, 606, 488]) {
      callIds.add(callIdOf(sub));
      assert.equal(sub.message.uri, h.record(), `${code}: to the original record`);
      assert.equal(header(sub, 'CSeq'), '1 SUBSCRIBE');
      assert.equal(toTagOf(sub), undefined);
      await h.peer.reply(sub, code);
      const status = await takeMessage(h.queue);
      assert.equal(status.state, 'terminated', `${code}: state`);
      assert.equal(status.reason, 'error', `${code}: reason`);
      assert.equal(status.error?.code, 'B2B_ERR_SUBSCRIBE_FAILED', `${code}: error code`);
      assert.match(status.error?.message ?? '', new RegExp(`^${code} `));
      assert.equal(stateOf(h, handle), 'waiting');
      const waited = advanceUntilSubscribe(h, 1.3 * base, 100);
      assertBackoff(waited, base, String(code));
      assert.ok(Math.abs((status.retryAfter ?? 0) * 1000 - (waited ?? 0)) <= 1000, `${code}: retryAfter ${status.retryAfter} s`);
      sub = await expectSubscribe(h.peer);
      assert.ok(!callIds.has(callIdOf(sub)), `${code}: a fresh Call-ID`);
      base *= 2;
    }
  } finally {
    await h.close();
  }
});

test('no answer: Timer F (64·T1) gives a local 408 → terminated/timeout, then a fresh SUBSCRIBE after the backoff', async () => {
  const h = await startHarness();
  try {
    h.subscribe();
    const first = await expectSubscribe(h.peer);
    h.clock.advance(SIXTY_FOUR_T1 - 1);
    await assertQueueEmpty(h);
    h.clock.advance(1);
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'terminated');
    assert.equal(status.reason, 'timeout');
    assert.ok(status.retryAfter !== undefined && status.retryAfter >= 96 && status.retryAfter <= 144, `retryAfter ${status.retryAfter}`);
    assert.equal(status.error?.code, 'B2B_ERR_SUBSCRIBE_TIMEOUT');
    // RFC 3261 §17.1.2.2: 10 retransmissions (T1 doubling to T2) before Timer F.
    for (let i = 0; i < 10; i++) {
      const copy = await expectSubscribe(h.peer);
      assert.equal(copy.raw.toString(), first.raw.toString(), 'retransmissions are identical');
    }
    await expectNothing(h);
    assertBackoff(advanceUntilSubscribe(h, RETRY_MAX_MS + 1000, 100), RETRY_MS, 'retry');
    const fresh = await expectSubscribe(h.peer);
    assert.notEqual(callIdOf(fresh), callIdOf(first));
  } finally {
    await h.close();
  }
});

test('Timer N: a 2xx and no NOTIFY within 64·T1 → terminated/timeout (B2B_ERR_NO_NOTIFY) and a retry', async () => {
  const h = await startHarness();
  try {
    const handle = h.subscribe();
    const first = await expectSubscribe(h.peer);
    await accept(h.peer, first);
    assert.ok(await waitForState(h, handle, 'active'));
    h.clock.advance(SIXTY_FOUR_T1 - 1);
    await assertQueueEmpty(h);
    h.clock.advance(1);
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'terminated');
    assert.equal(status.reason, 'timeout');
    assert.equal(status.error?.code, 'B2B_ERR_NO_NOTIFY');
    assert.ok(status.retryAfter !== undefined && status.retryAfter >= 96 && status.retryAfter <= 144, `retryAfter ${status.retryAfter}`);
    assert.equal(stateOf(h, handle), 'waiting');
    // A late NOTIFY in the dropped dialog is not ours any more.
    assert.equal((await notify(h, first, { cseq: 1 })).message.status, 481);
    h.clock.advance(RETRY_MAX_MS);
    const fresh = await expectSubscribe(h.peer);
    assert.notEqual(callIdOf(fresh), callIdOf(first));
    assert.equal(fresh.message.uri, h.record());
  } finally {
    await h.close();
  }
});

test('3xx: the best-q Contact becomes To and Request-URI of a new SUBSCRIBE (no P-Hint); the subscriber hears nothing', async () => {
  const h = await startHarness();
  try {
    h.subscribe();
    const first = await expectSubscribe(h.peer);
    const low = h.record('alice-old');
    const best = h.record('alice-new');
    await h.peer.reply(first, 302, { headers: [['Contact', `<${low}>;q=0.2, <${best}>;q=0.9`]] });
    const second = await expectSubscribe(h.peer);
    assert.equal(second.message.uri, best);
    assert.equal(header(second, 'To'), `<${best}>`);
    assert.equal(header(second, 'P-Hint'), undefined);
    assert.equal(header(second, 'CSeq'), '1 SUBSCRIBE');
    assert.notEqual(callIdOf(second), callIdOf(first));
    assert.notEqual(fromTagOf(second), fromTagOf(first));
    await assertQueueEmpty(h);
    await accept(h.peer, second);
    assert.equal((await notify(h, second, { cseq: 1 })).message.status, 200);
    assert.equal((await takeMessage(h.queue)).state, 'active');
  } finally {
    await h.close();
  }
});

test('3xx: at most max_redirects are followed; then an error and a retry to the original record', async () => {
  const h = await startHarness({ maxRedirects: 2 });
  try {
    h.subscribe();
    let sub = await expectSubscribe(h.peer);
    for (const hop of ['a1', 'a2']) {
      await h.peer.reply(sub, 302, { headers: [['Contact', `<${h.record(hop)}>`]] });
      sub = await expectSubscribe(h.peer);
      assert.equal(sub.message.uri, h.record(hop));
    }
    await h.peer.reply(sub, 302, { headers: [['Contact', `<${h.record('a3')}>`]] });
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'terminated');
    assert.equal(status.reason, 'error');
    assert.equal(status.error?.code, 'B2B_ERR_SUBSCRIBE_FAILED');
    await expectNothing(h);
    h.clock.advance(RETRY_MAX_MS);
    const retry = await expectSubscribe(h.peer);
    assert.equal(retry.message.uri, h.record(), 'the retry goes to the original record');
    // The redirect budget is per attempt: it follows two again.
    await h.peer.reply(retry, 302, { headers: [['Contact', `<${h.record('b1')}>`]] });
    assert.equal((await expectSubscribe(h.peer)).message.uri, h.record('b1'));
  } finally {
    await h.close();
  }
});

test('3xx without a Contact is an error', async () => {
  const h = await startHarness();
  try {
    h.subscribe();
    const first = await expectSubscribe(h.peer);
    await h.peer.reply(first, 302);
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'terminated');
    assert.equal(status.error?.code, 'B2B_ERR_SUBSCRIBE_FAILED');
    await expectNothing(h);
  } finally {
    await h.close();
  }
});

test('an error on a refresh drops the dialog, tells the subscriber and retries after the backoff', async () => {
  const h = await startHarness();
  try {
    const handle = h.subscribe();
    const first = await expectSubscribe(h.peer);
    await accept(h.peer, first);
    await notify(h, first, { cseq: 1 });
    await takeMessage(h.queue);
    h.clock.advance(570_000);
    const refresh = await expectSubscribe(h.peer);
    await h.peer.reply(refresh, 503);
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'terminated');
    assert.equal(status.reason, 'error');
    assert.equal(stateOf(h, handle), 'waiting');
    h.clock.advance(RETRY_MAX_MS);
    const fresh = await expectSubscribe(h.peer);
    assert.notEqual(callIdOf(fresh), callIdOf(first));
    assert.equal(toTagOf(fresh), undefined);
    h.b2b.qsa.unsubscribe(handle);
    // Still subscribing: the answer decides. An error ends it with nothing more on the wire.
    await h.peer.reply(fresh, 500);
    await expectNothing(h);
    assertNoLeaks(h);
  } finally {
    await h.close();
  }
});


test('401/407 with the subscriber\'s credentials: one authenticated re-SUBSCRIBE per challenge; a second challenge → rejected/unauthorized', async () => {
  const h = await startHarness({
    credentials: (subscriber, realm) => (subscriber === 'sip:bob@example.com' && realm === 'example.com' ? { username: 'bob', password: 'secret' } : undefined),
  });
  try {
    h.subscribe();
    const first = await expectSubscribe(h.peer);
    await h.peer.reply(first, 401, { headers: [['WWW-Authenticate', 'Digest realm="example.com", nonce="n1", algorithm=MD5, qop="auth"']] });
    const second = await expectSubscribe(h.peer);
    assert.equal(callIdOf(second), callIdOf(first));
    assert.equal(header(second, 'CSeq'), '2 SUBSCRIBE');
    const authorization = header(second, 'Authorization') ?? '';
    assert.match(authorization, /^Digest /);
    assert.match(authorization, /username="bob"/);
    assert.match(authorization, /realm="example.com"/);
    assert.match(authorization, /nonce="n1"/);
    assert.ok(authorization.includes(`uri="${h.record()}"`), authorization);
    assert.match(authorization, /response="[0-9a-f]{32}"/);
    await assertQueueEmpty(h);
    // Wrong password (a fresh, non-stale challenge): give up, final.
    await h.peer.reply(second, 407, { headers: [['Proxy-Authenticate', 'Digest realm="example.com", nonce="n2", algorithm=MD5']] });
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'rejected');
    assert.equal(status.reason, 'unauthorized');
    assert.equal(status.error?.code, 'B2B_ERR_AUTH_FAILED');
    assert.equal(status.retryAfter, undefined);
    h.clock.advance(24 * 3_600_000);
    await expectNothing(h);
  } finally {
    await h.close();
  }
});

test('401 with a stale nonce does not count as a failed attempt', async () => {
  const h = await startHarness({ credentials: () => ({ username: 'bob', password: 'secret' }) });
  try {
    h.subscribe();
    const first = await expectSubscribe(h.peer);
    await h.peer.reply(first, 401, { headers: [['WWW-Authenticate', 'Digest realm="example.com", nonce="n1"']] });
    const second = await expectSubscribe(h.peer);
    await h.peer.reply(second, 401, { headers: [['WWW-Authenticate', 'Digest realm="example.com", nonce="n2", stale=true']] });
    const third = await expectSubscribe(h.peer);
    assert.match(header(third, 'Authorization') ?? '', /nonce="n2"/);
    assert.equal(header(third, 'CSeq'), '3 SUBSCRIBE');
    await accept(h.peer, third);
    await notify(h, third, { cseq: 1 });
    assert.equal((await takeMessage(h.queue)).state, 'active');
    // The refresh carries credentials for the same nonce, with the next nonce count.
    h.clock.advance(570_000);
    const refresh = await expectSubscribe(h.peer);
    assert.match(header(refresh, 'Authorization') ?? '', /nonce="n2"/);
  } finally {
    await h.close();
  }
});
