/**
 * The classification table (README, "Behaviour on each answer") row by row
 * over the FakeUserAgent: what is sent next, when (exact, or within the
 * ±20 % jitter), and what the subscribers are told.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffDelayMs, serverRetryDelayMs } from '../../../src/subscription/retry-backoff.js';
import { SeededRandom } from '../../../src/util/random.js';
import { brief, engineHarness, type EngineHarness, RECORD, SIXTY_FOUR_T1 } from './engine-harness.js';

const CHALLENGE = 'Digest realm="example.com", nonce="n1", algorithm=MD5, qop="auth"';
const STALE = 'Digest realm="example.com", nonce="n2", algorithm=MD5, qop="auth", stale=true';
const BOB = { username: 'bob', password: 'secret' };

/** Advances until the next request; checks its delay lies in base ±20 %. */
function expectBackoff(h: EngineHarness, baseMs: number): number {
  const waited = h.advanceUntilSent(1.3 * baseMs);
  assert.ok(waited !== undefined && waited >= 0.8 * baseMs && waited <= 1.2 * baseMs, `after ${waited} ms, expected ${baseMs} ±20 %`);
  return waited;
}

describe('the backoff schedule', () => {
  test('on_error_retry_time × 2^(n−1), capped by max_error_retry_time, ±20 %; Retry-After capped', () => {
    const settings = { onErrorRetryTime: 120, maxErrorRetryTime: 3600 };
    const random = new SeededRandom(7);
    for (let n = 1; n <= 12; n++) {
      const base = Math.min(120 * 2 ** (n - 1), 3600) * 1000;
      for (let i = 0; i < 50; i++) {
        const delay = backoffDelayMs(n, settings, random);
        assert.ok(delay >= 0.8 * base && delay <= 1.2 * base, `n=${n}: ${delay}`);
      }
    }
    assert.ok(backoffDelayMs(1000, settings, random) <= 1.2 * 3_600_000, 'no overflow for a huge n');
    assert.equal(serverRetryDelayMs(2, settings), 2000);
    assert.equal(serverRetryDelayMs(86_400, settings), 3_600_000);
  });
});

describe('failures: retried with backoff', () => {
  test('408, Timer F, transport error, 5xx and 6xx but 603/604 in a row: 120, 240, 480, 960, 1920, 3600 (cap) s ±20 %', () => {
    const h = engineHarness();
    const handle = h.subscribe();
    const answers: Array<(s: ReturnType<EngineHarness['ua']['take']>) => void> = [
      (s) => s.reply(408),
      (s) => s.timeout(),
      (s) => s.transportError(),
      (s) => s.reply(502),
      (s) => s.reply(600),
      (s) => s.reply(606),
      (s) => s.reply(500),
    ];
    let base = 120_000;
    for (const answer of answers) {
      const sub = h.ua.take();
      assert.equal(sub.cseq, 1);
      assert.equal(sub.request.uri, RECORD);
      answer(sub);
      const status = h.status();
      assert.equal(status.state, 'terminated');
      assert.equal(h.stateOf(handle), 'waiting');
      const waited = expectBackoff(h, base);
      assert.equal(status.retryAfter, Math.ceil(waited / 1000));
      assert.notEqual(h.ua.unseen()[0]?.callId, sub.callId, 'a new dialog');
      base = Math.min(2 * base, 3_600_000);
    }
  });

  test('Retry-After on the response is honoured exactly; 0 means at once, still one SUBSCRIBE per 2 s at most', () => {
    const h = engineHarness();
    h.subscribe();
    h.ua.take().reply(503, { headers: [['Retry-After', '30 (maintenance);duration=60']] });
    assert.equal(h.status().retryAfter, 30);
    assert.equal(h.advanceUntilSent(40_000, 1), 30_000);
    // Retry-After: 0 is "at once": 0.5–1 s, and one SUBSCRIBE per 2 s at most.
    h.ua.take().reply(500, { headers: [['Retry-After', '0']] });
    assert.equal(h.status().retryAfter, 3);
    const waited = h.advanceUntilSent(10_000, 1);
    assert.ok(waited !== undefined && waited >= 2500 && waited <= 3000, `${waited} ms`);
  });

  test('the count resets after a success (a 2xx and a NOTIFY that does not end it), not after a 2xx alone', () => {
    const h = engineHarness();
    h.subscribe();
    h.ua.take().reply(500);
    h.statuses();
    expectBackoff(h, 120_000);
    const second = h.ua.take();
    second.accept();
    h.clock.advance(SIXTY_FOUR_T1); // Timer N: a 2xx without NOTIFY is no success
    assert.equal(h.status().error?.code, 'B2B_ERR_NO_NOTIFY');
    expectBackoff(h, 240_000);
    const third = h.ua.take();
    third.accept();
    h.ua.notify(third);
    h.statuses();
    h.clock.advance(570_000);
    h.ua.take().reply(500);
    h.statuses();
    expectBackoff(h, 120_000);
  });

  test('a 2xx that cannot make a dialog: nothing sent in it; after an unsubscribe it is simply gone', () => {
    const h = engineHarness();
    const handle = h.subscribe();
    h.ua.take().accept({ contact: '<sip:ps@192.0.2.9;lr' });
    assert.deepEqual(brief(h.status()), { state: 'terminated', reason: 'error', code: 'B2B_ERR_UNUSABLE_DIALOG' });
    assert.equal(h.stateOf(handle), 'waiting');
    h.assertQuiet();
    expectBackoff(h, 120_000);
    const again = h.ua.take();
    h.unsubscribe(handle);
    again.accept({ contact: '*' });
    h.assertNoLeaks();
    h.assertQuiet();
  });

  test('423 with Min-Expires not above what we asked (or none): a failure', () => {
    const h = engineHarness();
    h.subscribe();
    h.ua.take().reply(423, { headers: [['Min-Expires', '600']] });
    assert.deepEqual(brief(h.status()), { state: 'terminated', reason: 'error', code: 'B2B_ERR_SUBSCRIBE_FAILED' });
    expectBackoff(h, 120_000);
    h.ua.take().reply(423);
    h.statuses();
    expectBackoff(h, 240_000);
  });

  test('401/407 with stale=true: answered twice in a row, the third is a failure (B2B_ERR_AUTH_STALE); a non-stale challenge in between starts the count again', () => {
    const h = engineHarness({}, { credentials: () => BOB });
    h.subscribe();
    h.ua.take().reply(401, { headers: [['WWW-Authenticate', CHALLENGE]] });
    h.ua.take().reply(407, { headers: [['Proxy-Authenticate', STALE]] });
    h.ua.take().reply(401, { headers: [['WWW-Authenticate', STALE]] });
    const third = h.ua.take();
    assert.equal(third.cseq, 4);
    third.reply(401, { headers: [['WWW-Authenticate', STALE]] });
    const status = h.status();
    assert.deepEqual(brief(status), { state: 'terminated', reason: 'error', code: 'B2B_ERR_AUTH_STALE' });
    assert.match(status.error?.message ?? '', /stale=true 3 times in a row/);
    h.assertQuiet();
    expectBackoff(h, 120_000);
  });
});

describe('final answers: reported once, no retry (unless final_retry_time)', () => {
  for (const code of [403, 603, 489, 404, 410, 604]) {
    test(`${code}: final`, () => {
      const h = engineHarness();
      const handle = h.subscribe();
      h.ua.take().reply(code);
      const status = h.status();
      assert.equal(status.retryAfter, undefined);
      assert.equal(h.stateOf(handle), 'final');
      assert.equal(h.scheduler.size, 0);
      h.clock.advance(7 * 24 * 3_600_000);
      h.assertQuiet();
    });
  }

  test('401/407 that our credentials do not satisfy: rejected, final', () => {
    const h = engineHarness({}, { credentials: () => BOB });
    const handle = h.subscribe();
    h.ua.take().reply(407, { headers: [['Proxy-Authenticate', CHALLENGE]] });
    h.ua.take().reply(407, { headers: [['Proxy-Authenticate', CHALLENGE]] });
    assert.deepEqual(brief(h.status()), { state: 'rejected', reason: 'unauthorized', code: 'B2B_ERR_AUTH_FAILED' });
    assert.equal(h.stateOf(handle), 'final');
  });

  test('final_retry_time: retried after exactly that; the status says when', () => {
    const h = engineHarness({ finalRetryTime: 3000 });
    const handle = h.subscribe();
    h.ua.take().reply(404);
    assert.equal(h.status().retryAfter, 3000);
    assert.equal(h.stateOf(handle), 'waiting');
    assert.equal(h.advanceUntilSent(4_000_000, 1000), 3_000_000);
    assert.equal(h.ua.take().cseq, 1);
  });

  test('a final subscription stays until unsubscribed; its subscribers are told once', () => {
    const h = engineHarness();
    const second = h.broker.createQueue();
    const { handle, subscribe } = h.establish();
    const joined = h.subscribe(RECORD, undefined, second);
    h.statuses(second);
    h.ua.notify(subscribe, { state: 'terminated;reason=noresource', body: '' });
    assert.deepEqual(brief(h.status()), { state: 'terminated', reason: 'noresource' });
    assert.deepEqual(brief(h.status(second)), { state: 'terminated', reason: 'noresource' });
    h.clock.advance(24 * 3_600_000);
    h.assertQuiet();
    assert.deepEqual(h.statuses(second), []);
    h.unsubscribe(handle);
    assert.equal(h.engine.size, 1);
    h.unsubscribe(joined);
    h.assertNoLeaks();
    h.assertQuiet();
  });
});

describe('NOTIFY terminated', () => {
  for (const reason of ['deactivated', 'timeout', undefined]) {
    test(`${reason ?? 'no reason'}: a running subscription is renewed at once (0.5–1 s, ≥ 2 s after the last SUBSCRIBE)`, () => {
      const h = engineHarness();
      const { subscribe } = h.establish();
      h.clock.advance(60_000);
      h.ua.notify(subscribe, { state: reason === undefined ? 'terminated' : `terminated;reason=${reason}`, body: '' });
      const status = h.status();
      assert.equal(status.retryAfter, 1);
      const waited = h.advanceUntilSent(5000, 1);
      assert.ok(waited !== undefined && waited >= 500 && waited <= 1000, `${waited} ms`);
      assert.notEqual(h.ua.take().callId, subscribe.callId);
    });
  }

  test('deactivated with a retry-after: after it', () => {
    const h = engineHarness();
    const { subscribe } = h.establish();
    h.ua.notify(subscribe, { state: 'terminated;reason=deactivated;retry-after=40', body: '' });
    assert.equal(h.status().retryAfter, 40);
    assert.equal(h.advanceUntilSent(50_000, 1), 40_000);
  });

  test('a server that ends each new subscription before it runs: the backoff, not a 2 s loop', () => {
    const h = engineHarness();
    const { subscribe } = h.establish();
    h.ua.notify(subscribe, { state: 'terminated;reason=deactivated', body: '' });
    h.statuses();
    let waited = h.advanceUntilSent(5000, 1);
    assert.ok(waited !== undefined && waited <= 3000);
    let base = 120_000;
    for (let round = 0; round < 4; round++) {
      const sub = h.ua.take();
      sub.accept();
      h.ua.notify(sub, { state: 'terminated;reason=deactivated', body: '' });
      h.statuses();
      waited = expectBackoff(h, base);
      base *= 2;
    }
    assert.equal(h.engine.stats.subscribesSent, 6);
  });

  test('probation and giveup: after retry-after (capped by max_error_retry_time), else the backoff', () => {
    const h = engineHarness({ maxErrorRetryTime: 1000 });
    let { subscribe } = h.establish();
    h.ua.notify(subscribe, { state: 'terminated;reason=probation;retry-after=5000', body: '' });
    assert.equal(h.status().retryAfter, 1000);
    assert.equal(h.advanceUntilSent(1_100_000, 1000), 1_000_000);
    subscribe = h.ua.take();
    subscribe.accept();
    h.ua.notify(subscribe);
    h.statuses();
    h.ua.notify(subscribe, { state: 'terminated;reason=giveup', body: '' });
    h.statuses();
    expectBackoff(h, 120_000);
  });

  test('an unknown reason: the backoff (RFC 6665 §4.1.3 leaves the time to us)', () => {
    const h = engineHarness();
    const { subscribe } = h.establish();
    h.ua.notify(subscribe, { state: 'terminated;reason=moved-elsewhere', body: '' });
    assert.equal(h.status().reason, 'moved-elsewhere');
    expectBackoff(h, 120_000);
  });

  for (const reason of ['rejected', 'noresource', 'invariant']) {
    test(`${reason}: final`, () => {
      const h = engineHarness();
      const { handle, subscribe } = h.establish();
      h.ua.notify(subscribe, { state: `terminated;reason=${reason};retry-after=5`, body: '' });
      const status = h.status();
      assert.equal(status.state, reason === 'rejected' ? 'rejected' : 'terminated');
      assert.equal(status.retryAfter, undefined);
      assert.equal(h.stateOf(handle), 'final');
      h.clock.advance(24 * 3_600_000);
      h.assertQuiet();
    });
  }
});

describe('redirects, 423, malformed NOTIFYs', () => {
  test('3xx to a refresh: a new dialog to the best Contact, through max_subscribe_rate', () => {
    const h = engineHarness({ maxSubscribeRate: 1 });
    const { handle, subscribe } = h.establish();
    h.clock.advance(570_000);
    h.ua.take().reply(302, { headers: [['Contact', '<sip:a@other.example.net>;q=0.5, <sip:b@other.example.net>']] });
    // The pacer's slot of this second went to the first SUBSCRIBE long ago: at once.
    const moved = h.ua.take();
    assert.equal(moved.request.uri, 'sip:b@other.example.net');
    assert.equal(moved.header('To'), '<sip:b@other.example.net>');
    assert.equal(moved.cseq, 1);
    assert.notEqual(moved.callId, subscribe.callId);
    assert.equal(h.stateOf(handle), 'subscribing');
    h.assertQuiet();
    // A second redirect within the same second waits for the pacer.
    moved.reply(302, { headers: [['Contact', '<sip:c@other.example.net>']] });
    assert.equal(h.stateOf(handle), 'waiting');
    assert.equal(h.advanceUntilSent(2000, 1), 1000);
    assert.equal(h.ua.take().request.uri, 'sip:c@other.example.net');
  });

  test('423 with a Min-Expires above what we asked: at once with it', () => {
    const h = engineHarness();
    h.subscribe();
    const first = h.ua.take();
    first.reply(423, { headers: [['Min-Expires', '1800']] });
    const again = h.ua.take();
    assert.equal(again.expires, 1800);
    assert.equal(again.callId, first.callId);
    assert.equal(again.cseq, 2);
    assert.equal(again.at, first.at);
  });

  test('NOTIFY with an unparsable or missing Subscription-State: 400, counted, the dialog as it was (CSeq, target, Timer N)', () => {
    const h = engineHarness();
    const handle = h.subscribe();
    const sub = h.ua.take();
    sub.accept();
    for (const state of ['active;expires=', '"quoted"', '']) {
      const answer = h.ua.notify(sub, { cseq: 9, state });
      assert.equal(answer?.status, 400, JSON.stringify(state));
    }
    assert.equal(h.engine.stats.notifiesRejected, 3);
    h.assertQuiet();
    assert.equal(h.ua.notify(sub, { cseq: 2 })?.status, 200, 'CSeq 9 was not taken');
    assert.equal(h.status().state, 'active');
    assert.equal(h.stateOf(handle), 'active');
  });
});

describe('a dropped dialog abandons its SUBSCRIBE', () => {
  test('it stops retransmitting; its late 2xx (Expires > 0) gets an unSUBSCRIBE in the dialog that 2xx makes', () => {
    const h = engineHarness();
    const handle = h.subscribe();
    const sub = h.ua.take();
    // A NOTIFY of fork A creates the dialog and ends it at once (final): the SUBSCRIBE is still in flight.
    h.ua.notify(sub, { serverTag: 'forkA', state: 'terminated;reason=noresource', body: '' });
    assert.equal(h.stateOf(handle), 'final');
    assert.equal(sub.retransmissionsStopped, true);
    h.statuses();
    // The 2xx comes from fork B: a dialog of its own, ended at once.
    sub.accept({ toTag: 'forkB', contact: '<sip:b@192.0.2.77>' });
    const unsub = h.ua.take();
    assert.equal(unsub.expires, 0);
    assert.equal(unsub.callId, sub.callId);
    assert.equal(unsub.header('To'), `<${RECORD}>;tag=forkB`);
    assert.equal(unsub.request.uri, 'sip:b@192.0.2.77');
    assert.equal(unsub.cseq, 2);
    unsub.reply(200);
    h.assertQuiet();
  });

  test('a late 2xx granting Expires: 0, or an error, is left alone', () => {
    const h = engineHarness();
    const { subscribe } = h.establish();
    h.clock.advance(570_000);
    const refresh = h.ua.take();
    h.ua.notify(subscribe, { state: 'terminated;reason=rejected', body: '' });
    h.statuses();
    refresh.accept({ expires: 0 });
    h.assertQuiet();
  });
});
