/**
 * The presence engine's state machine over a FakeUserAgent: no socket, no
 * real time. Each test walks one path of the SER presence_b2b table (as
 * improved; README "Behaviour on each answer") and checks what is sent, what
 * the subscriber is told, the dialog's state and that no timer is left.
 * The wire tests (test/wire/engine) check the same paths byte for byte.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { presenceOf } from '../../../src/presence/index.js';
import { FAKE_SERVER_CONTACT } from '../../support/fake-user-agent.js';
import { brief, engineHarness, RECORD, SIXTY_FOUR_T1, SUBSCRIBER } from './engine-harness.js';

const CHALLENGE = 'Digest realm="example.com", nonce="n1", algorithm=MD5, qop="auth"';
const BOB = { username: 'bob', password: 'secret' };

describe('subscribing', () => {
  test('one SUBSCRIBE as the subscriber to the record; our Contact is left to the UA', () => {
    const h = engineHarness();
    const handle = h.subscribe();
    const sub = h.ua.take();
    assert.equal(sub.request.uri, RECORD);
    assert.equal(sub.header('To'), `<${RECORD}>`);
    assert.match(sub.header('From') ?? '', /^<sip:bob@example\.com>;tag=[0-9a-z]+$/);
    assert.equal(sub.header('Event'), 'presence');
    assert.equal(sub.expires, 600);
    assert.equal(sub.cseq, 1);
    assert.deepEqual(sub.options?.contact, { user: 'b2b' }, 'the UA writes the Contact for the transport it picks');
    assert.equal(sub.header('Contact'), '<sip:b2b@127.0.0.1:5060>');
    assert.equal(h.stateOf(handle), 'subscribing');
    assert.equal(h.engine.stats.subscribesSent, 1);
  });

  test('2xx then NOTIFY: active, the subscriber gets the PIDF; refresh in the dialog at granted − resubscribe_delta', () => {
    const h = engineHarness();
    const { handle, subscribe } = h.establish();
    h.clock.advance(569_999);
    h.assertQuiet();
    h.clock.advance(1);
    const refresh = h.ua.take();
    assert.equal(h.stateOf(handle), 'refreshing');
    assert.equal(refresh.callId, subscribe.callId);
    assert.equal(refresh.cseq, 2);
    assert.equal(refresh.request.uri, /<(.*)>/.exec(FAKE_SERVER_CONTACT)?.[1], 'Request-URI = the 2xx Contact');
    assert.equal(refresh.header('To'), `<${RECORD}>;tag=srv1`);
    refresh.accept();
    assert.equal(h.stateOf(handle), 'active');
    assert.equal(h.engine.dialogOf(handle.id)?.expiresIn, 600);
  });

  test('the status carries the parsed PIDF; a later NOTIFY (closed) is delivered too', () => {
    const h = engineHarness();
    const handle = h.subscribe();
    const sub = h.ua.take();
    sub.accept();
    h.ua.notify(sub, { basic: 'open' });
    assert.equal(presenceOf(h.status())?.tuples[0]?.basic, 'open');
    assert.equal(h.ua.notify(sub, { basic: 'closed' })?.status, 200);
    const closed = h.status();
    assert.equal(closed.state, 'active');
    assert.equal(presenceOf(closed)?.tuples[0]?.basic, 'closed');
    assert.equal(h.stateOf(handle), 'active');
  });

  test('a NOTIFY lowering the expiry brings the refresh forward (RFC 6665 §4.1.2.1); one raising it does not', () => {
    const h = engineHarness();
    const { subscribe } = h.establish();
    h.ua.notify(subscribe, { state: 'active;expires=100' });
    h.ua.notify(subscribe, { state: 'active;expires=3000' });
    assert.equal(h.statuses().length, 2);
    h.clock.advance(69_999);
    h.assertQuiet();
    h.clock.advance(1);
    assert.equal(h.ua.take().cseq, 2, 'refresh at max(100 − 30, 30) s');
  });

  test('a NOTIFY before the 2xx creates the dialog (RFC 6665 §4.1.2.4); the 2xx then only confirms it', () => {
    const h = engineHarness();
    const handle = h.subscribe();
    const sub = h.ua.take();
    assert.equal(h.ua.notify(sub, { basic: 'open' })?.status, 200);
    assert.equal(h.status().state, 'active');
    assert.equal(h.stateOf(handle), 'subscribing');
    sub.accept();
    assert.equal(h.stateOf(handle), 'active');
    h.clock.advance(SIXTY_FOUR_T1);
    h.assertQuiet(); // the NOTIFY came already: Timer N does not fire
  });

  test('max_subscribe_delay: the first SUBSCRIBE waits a whole number of seconds in 1..N', () => {
    const h = engineHarness({ maxSubscribeDelay: 5 });
    const handle = h.subscribe();
    assert.equal(h.stateOf(handle), 'waiting');
    let waited = 0;
    while (h.ua.count() === 0 && waited < 5000) {
      h.clock.advance(1000);
      waited += 1000;
    }
    assert.equal(h.ua.count(), 1);
    assert.ok(waited >= 1000 && waited <= 5000, `${waited} ms`);
    assert.equal(h.stateOf(handle), 'subscribing');
  });

  test('max_subscribe_rate: new SUBSCRIBEs beyond one second’s burst wait their turn', () => {
    const h = engineHarness({ maxSubscribeRate: 2 });
    const handles = ['a', 'b', 'c'].map((user) => h.subscribe(`sip:${user}@example.com`));
    assert.equal(h.ua.count(), 2, 'a burst of 2');
    assert.equal(h.stateOf(handles[2]!), 'waiting');
    h.clock.advance(499);
    assert.equal(h.ua.count(), 2);
    h.clock.advance(1);
    assert.equal(h.ua.count(), 3);
  });
});

describe('failures: the subscriber is told; a final answer stays, a failure is retried after the backoff', () => {
  const finals = [
    { answer: 403, expected: { state: 'rejected', reason: 'rejected', code: 'B2B_ERR_SUBSCRIBE_REJECTED' } },
    { answer: 489, expected: { state: 'rejected', reason: 'bad-event', code: 'B2B_ERR_SUBSCRIBE_REJECTED' } },
    { answer: 401, expected: { state: 'rejected', reason: 'unauthorized', code: 'B2B_ERR_AUTH_FAILED' } },
    { answer: 404, expected: { state: 'terminated', reason: 'noresource', code: 'B2B_ERR_SUBSCRIBE_FAILED' } },
  ] as const;
  for (const c of finals) {
    test(`${c.answer} → ${c.expected.state}/${c.expected.reason}, final: no retryAfter, no retry`, () => {
      const h = engineHarness();
      const handle = h.subscribe();
      h.ua.take().reply(c.answer, c.answer === 401 ? { headers: [['WWW-Authenticate', CHALLENGE]] } : {});
      const status = h.status();
      assert.deepEqual(brief(status), c.expected);
      assert.equal(status.retryAfter, undefined);
      assert.equal(h.stateOf(handle), 'final');
      assert.equal(h.scheduler.size, 0, 'no timer');
      h.clock.advance(24 * 3_600_000);
      h.assertQuiet();
    });
  }
  const failures = [
    { answer: 500, expected: { state: 'terminated', reason: 'error', code: 'B2B_ERR_SUBSCRIBE_FAILED' } },
    { answer: 'timeout', expected: { state: 'terminated', reason: 'timeout', code: 'B2B_ERR_SUBSCRIBE_TIMEOUT' } },
    { answer: 'transport error', expected: { state: 'terminated', reason: 'error', code: 'B2B_ERR_TRANSPORT' } },
  ] as const;
  for (const c of failures) {
    test(`${c.answer} → ${c.expected.state}/${c.expected.reason}, retried after on_error_retry_time ±20 %`, () => {
      const h = engineHarness();
      const handle = h.subscribe();
      const first = h.ua.take();
      if (c.answer === 'timeout') first.timeout();
      else if (c.answer === 'transport error') first.transportError();
      else first.reply(c.answer);
      const status = h.status();
      assert.deepEqual(brief(status), c.expected);
      assert.equal(h.stateOf(handle), 'waiting');
      const waited = h.advanceUntilSent(200_000);
      assert.ok(waited !== undefined && waited >= 96_000 && waited <= 144_000, `${waited} ms`);
      assert.equal(status.retryAfter, Math.ceil(waited / 1000));
      const retry = h.ua.take();
      assert.notEqual(retry.callId, first.callId, 'a new dialog');
      assert.equal(retry.cseq, 1);
      assert.equal(h.stateOf(handle), 'subscribing');
    });
  }

  test('Timer N: a 2xx without a NOTIFY within 64·T1 is a failure (terminated/timeout)', () => {
    const h = engineHarness();
    const handle = h.subscribe();
    h.ua.take().accept();
    h.clock.advance(SIXTY_FOUR_T1 - 1);
    h.assertQuiet();
    h.clock.advance(1);
    assert.deepEqual(brief(h.status()), { state: 'terminated', reason: 'timeout', code: 'B2B_ERR_NO_NOTIFY' });
    assert.equal(h.stateOf(handle), 'waiting');
    h.clock.advance(144_000);
    assert.equal(h.ua.take().cseq, 1);
  });

  test('a 2xx granting Expires: 0 is an error', () => {
    const h = engineHarness();
    h.subscribe();
    h.ua.take().accept({ expires: 0 });
    assert.deepEqual(brief(h.status()), { state: 'terminated', reason: 'error', code: 'B2B_ERR_SUBSCRIBE_FAILED' });
  });

  test('401 with the subscriber’s credentials: one authenticated re-SUBSCRIBE; a second challenge → rejected', () => {
    const h = engineHarness({}, { credentials: (subscriber, realm) => (subscriber === SUBSCRIBER && realm === 'example.com' ? BOB : undefined) });
    h.subscribe();
    const first = h.ua.take();
    first.reply(401, { headers: [['WWW-Authenticate', CHALLENGE]] });
    const second = h.ua.take();
    assert.equal(second.callId, first.callId);
    assert.equal(second.cseq, 2);
    assert.match(second.header('Authorization') ?? '', /^Digest username="bob", realm="example.com", nonce="n1"/);
    h.assertQuiet();
    second.reply(401, { headers: [['WWW-Authenticate', CHALLENGE]] });
    assert.deepEqual(brief(h.status()), { state: 'rejected', reason: 'unauthorized', code: 'B2B_ERR_AUTH_FAILED' });
  });

  test('423: at once again with the Min-Expires named, which the refreshes keep', () => {
    const h = engineHarness();
    const handle = h.subscribe();
    h.ua.take().reply(423, { headers: [['Min-Expires', '1200']] });
    const again = h.ua.take();
    assert.equal(again.expires, 1200);
    again.accept();
    h.ua.notify(again);
    h.statuses();
    h.clock.advance(1_170_000);
    assert.equal(h.ua.take().expires, 1200);
    assert.equal(h.stateOf(handle), 'refreshing');
  });

  test('3xx: the best-q Contact becomes Request-URI and To of a new SUBSCRIBE; the subscriber hears nothing', () => {
    const h = engineHarness();
    h.subscribe();
    const first = h.ua.take();
    first.reply(302, { headers: [['Contact', '<sip:low@example.net>;q=0.2, <sip:best@example.net>;q=0.9']] });
    const redirected = h.ua.take();
    assert.equal(redirected.request.uri, 'sip:best@example.net');
    assert.equal(redirected.header('To'), '<sip:best@example.net>');
    assert.notEqual(redirected.callId, first.callId);
    assert.deepEqual(h.statuses(), []);
  });

  test('3xx: at most max_redirects are followed, then it is an error', () => {
    const h = engineHarness({ maxRedirects: 2 });
    h.subscribe();
    for (let hop = 0; hop < 2; hop++) h.ua.take().reply(302, { headers: [['Contact', `<sip:hop${hop}@example.net>`]] });
    h.ua.take().reply(302, { headers: [['Contact', '<sip:hop2@example.net>']] });
    assert.deepEqual(brief(h.status()), { state: 'terminated', reason: 'error', code: 'B2B_ERR_SUBSCRIBE_FAILED' });
    assert.equal(h.ua.pending().length, 0);
  });
});

describe('the server ends or forgets the subscription', () => {
  test('481 to a refresh: pending/resubscribing, then a new subscription 2.5–3 s after the refresh (one SUBSCRIBE per 2 s at most)', () => {
    const h = engineHarness();
    const { handle, subscribe } = h.establish();
    h.clock.advance(570_000);
    h.ua.take().reply(481);
    assert.deepEqual(brief(h.status()), { state: 'pending', reason: 'resubscribing' });
    assert.equal(h.stateOf(handle), 'waiting');
    h.clock.advance(2499);
    h.assertQuiet();
    h.clock.advance(501);
    const fresh = h.ua.take();
    assert.notEqual(fresh.callId, subscribe.callId);
    assert.equal(fresh.cseq, 1);
  });

  test('terminated;reason=deactivated: forwarded, dialog dropped, a new subscription at once (after the 2 s guard)', () => {
    const h = engineHarness();
    const { handle, subscribe } = h.establish();
    h.clock.advance(10_000);
    assert.equal(h.ua.notify(subscribe, { state: 'terminated;reason=deactivated', body: '' })?.status, 200);
    assert.deepEqual(brief(h.status()), { state: 'terminated', reason: 'deactivated' });
    assert.equal(h.stateOf(handle), 'waiting');
    assert.equal(h.ua.notify(subscribe, { body: '' })?.status, 481, 'the old dialog matches no more');
    h.clock.advance(499);
    h.assertQuiet();
    h.clock.advance(501);
    assert.notEqual(h.ua.take().callId, subscribe.callId);
  });

  test('terminated;reason=rejected: the subscriber is told rejected, once; final', () => {
    const h = engineHarness();
    const { handle, subscribe } = h.establish();
    h.ua.notify(subscribe, { state: 'terminated;reason=rejected', body: '' });
    assert.deepEqual(brief(h.status()), { state: 'rejected', reason: 'rejected' });
    assert.equal(h.stateOf(handle), 'final');
    h.clock.advance(24 * 3_600_000);
    h.assertQuiet();
    h.unsubscribe(handle);
    h.assertNoLeaks();
  });
});

describe('NOTIFY matching (handleNotify; 481 from attachPresenceEngine when not ours)', () => {
  test('in the dialog → 200; another event → 489 with Allow-Events; a lower CSeq → 500; a second fork → 481', () => {
    const h = engineHarness();
    const { subscribe } = h.establish();
    assert.equal(h.ua.notify(subscribe, { cseq: 5 })?.status, 200);
    const rejected = [h.ua.notify(subscribe, { event: 'dialog' }), h.ua.notify(subscribe, { cseq: 4 }), h.ua.notify(subscribe, { serverTag: 'fork2' })];
    assert.deepEqual(
      rejected.map((r) => r?.status),
      [489, 500, 481],
    );
    assert.equal(rejected[0]?.headers.get('Allow-Events'), 'presence');
    assert.equal(h.statuses().length, 1, 'only the accepted NOTIFY reaches the subscriber');
    assert.deepEqual([h.engine.stats.notifiesAccepted, h.engine.stats.notifiesRejected], [2, 3]);
  });

  test('a NOTIFY for no dialog of ours: -1 from handleNotify, 481 on the wire, counted unmatched', () => {
    const h = engineHarness();
    h.subscribe();
    const sub = h.ua.take();
    assert.equal(h.ua.notify(sub, { callId: 'not-ours@example.org' })?.status, 481);
    assert.equal(h.engine.stats.notifiesUnmatched, 1);
    assert.deepEqual(h.statuses(), []);
  });
});

describe('unsubscribe, in every state: nothing more reaches the subscriber, nothing is left', () => {
  test('waiting (start delay): nothing is ever sent', () => {
    const h = engineHarness({ maxSubscribeDelay: 10 });
    const handle = h.subscribe();
    h.unsubscribe(handle);
    h.assertNoLeaks();
    h.clock.advance(20_000);
    assert.equal(h.ua.count(), 0);
  });

  test('waiting (error retry): the retry is cancelled', () => {
    const h = engineHarness();
    const handle = h.subscribe();
    h.ua.take().reply(503);
    h.statuses();
    h.unsubscribe(handle);
    h.assertNoLeaks();
    h.clock.advance(200_000);
    h.assertQuiet();
  });

  test('subscribing, then 2xx: Expires: 0 in the new dialog, then wait_for_term_notify, then gone', () => {
    const h = engineHarness();
    const handle = h.subscribe();
    const sub = h.ua.take();
    h.unsubscribe(handle);
    assert.equal(h.engine.size, 1, 'waits for the answer');
    sub.accept();
    const unsub = h.ua.take();
    assert.equal(unsub.expires, 0);
    assert.equal(unsub.callId, sub.callId);
    assert.equal(unsub.header('To'), `<${RECORD}>;tag=srv1`);
    unsub.accept({ expires: 0 });
    assert.equal(h.engine.list()[0]?.state, 'terminating');
    h.clock.advance(9_999);
    assert.equal(h.engine.size, 1);
    h.clock.advance(1);
    h.assertNoLeaks();
    h.assertQuiet();
  });

  test('subscribing, then an error: destroyed, nothing sent, no retry', () => {
    const h = engineHarness();
    const handle = h.subscribe();
    const sub = h.ua.take();
    h.unsubscribe(handle);
    sub.reply(404);
    h.assertNoLeaks();
    h.clock.advance(200_000);
    h.assertQuiet();
  });

  test('active: Expires: 0; the terminated NOTIFY ends it at once, even before the 2xx (which is then ignored)', () => {
    const h = engineHarness();
    const { handle, subscribe } = h.establish();
    h.unsubscribe(handle);
    const unsub = h.ua.take();
    assert.equal(unsub.expires, 0);
    assert.equal(h.ua.notify(subscribe, { state: 'terminated;reason=timeout', body: '' })?.status, 200);
    h.assertNoLeaks();
    unsub.accept({ expires: 0 });
    h.assertQuiet();
  });

  test('refreshing: the refresh is answered first, then Expires: 0', () => {
    const h = engineHarness();
    const { handle } = h.establish();
    h.clock.advance(570_000);
    const refresh = h.ua.take();
    h.unsubscribe(handle);
    h.assertQuiet();
    refresh.accept();
    const unsub = h.ua.take();
    assert.equal(unsub.expires, 0);
    unsub.reply(481);
    h.assertNoLeaks();
  });

  test('unsubscribing with credentials: a challenge to the Expires: 0 is answered with Expires: 0', () => {
    const h = engineHarness({}, { credentials: () => BOB });
    const { handle } = h.establish();
    h.unsubscribe(handle);
    h.ua.take().reply(407, { headers: [['Proxy-Authenticate', CHALLENGE]] });
    const again = h.ua.take();
    assert.equal(again.expires, 0);
    assert.match(again.header('Proxy-Authorization') ?? '', /^Digest /);
    again.accept({ expires: 0 });
    h.clock.advance(10_000);
    h.assertNoLeaks();
  });
});

describe('identical subscriptions share one dialog (share_identical_subscriptions)', () => {
  test('one SUBSCRIBE for both; a late joiner learns the last status at once; the dialog ends with its last member', () => {
    const h = engineHarness();
    const second = h.broker.createQueue();
    const { handle: first } = h.establish();
    const joined = h.subscribe(RECORD, SUBSCRIBER, second);
    assert.equal(h.ua.count(), 1, 'no second SUBSCRIBE');
    assert.equal(h.status(second).state, 'active', 'the current state, at once');
    assert.equal(h.engine.dialogOf(joined.id)?.id, h.engine.dialogOf(first.id)?.id);
    h.unsubscribe(first);
    h.assertQuiet();
    h.unsubscribe(joined);
    assert.equal(h.ua.take().expires, 0);
  });

  test('a subscription arriving while the shared dialog unsubscribes gets a dialog of its own', () => {
    const h = engineHarness();
    const { handle } = h.establish();
    h.unsubscribe(handle);
    const unsub = h.ua.take();
    const fresh = h.subscribe();
    const sub = h.ua.take();
    assert.equal(sub.cseq, 1);
    assert.notEqual(sub.callId, unsub.callId);
    assert.equal(h.engine.size, 2);
    assert.equal(h.stateOf(fresh), 'subscribing');
  });

  test('sharing off: one dialog per subscription', () => {
    const h = engineHarness({ shareIdenticalSubscriptions: false });
    h.subscribe();
    h.subscribe();
    assert.equal(h.ua.pending().length, 2);
    assert.equal(h.engine.size, 2);
  });
});

describe('close()', () => {
  test('Expires: 0 for every dialog; resolves once each ended; later subscriptions are ignored', async () => {
    const h = engineHarness();
    const { subscribe: alice } = h.establish();
    const { subscribe: carol } = h.establish('sip:carol@example.com');
    h.subscribe('sip:dave@example.com');
    h.ua.take().reply(503); // waiting for its retry: it just goes
    h.subscribe('sip:frank@example.com');
    h.ua.take().reply(404); // final: it just goes
    h.statuses();
    let closed = false;
    const closing = h.engine.close(5000).then(() => {
      closed = true;
    });
    const unsubs = h.ua.takeAll();
    assert.deepEqual(unsubs.map((u) => [u.callId, u.expires]), [
      [alice.callId, 0],
      [carol.callId, 0],
    ]);
    for (const u of unsubs) u.accept({ expires: 0 });
    h.ua.notify(alice, { state: 'terminated;reason=timeout', body: '' });
    await Promise.resolve();
    assert.equal(closed, false);
    h.ua.notify(carol, { state: 'terminated;reason=timeout', body: '' });
    await closing;
    h.assertNoLeaks();
    h.assertQuiet();
    h.subscribe('sip:erin@example.com');
    assert.equal(h.engine.size, 0);
  });

  test('a silent server does not hold it past its bound', async () => {
    const h = engineHarness();
    h.establish();
    const closing = h.engine.close(2000);
    h.ua.take();
    h.clock.advance(2000);
    await closing;
    h.assertNoLeaks();
  });
});
