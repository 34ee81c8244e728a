/**
 * Unsubscribing in every state (docs/ser-presence-b2b.md §2.3 "destroy" column, §2.7, §6 items
 * 26–31): what goes on the wire, what reaches the queue (nothing), and that
 * no dialog and no timer is left behind.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SUBSCRIBER,
  accept,
  assertNoLeaks,
  assertQueueEmpty,
  callIdOf,
  establish,
  expectNothing,
  expectSubscribe,
  fromTagOf,
  header,
  notify,
  settle,
  startHarness,
  stateOf,
  takeMessage,
  text,
  waitForState,
} from './harness.js';

test('waiting (start delay): unsubscribe sends nothing, ever, and leaves no timer', async () => {
  const h = await startHarness({ maxSubscribeDelay: 10 });
  try {
    const handle = h.subscribe();
    assert.equal(stateOf(h, handle), 'waiting');
    h.clock.advance(500);
    h.b2b.qsa.unsubscribe(handle);
    assert.equal(h.b2b.engine.size, 0);
    assert.equal(h.scheduler.size, 0, 'the start-delay timer is cancelled');
    h.clock.advance(20_000);
    await expectNothing(h);
    assert.equal(h.b2b.engine.stats.subscribesSent, 0);
    await assertQueueEmpty(h);
  } finally {
    await h.close();
  }
});

test('waiting (error retry): unsubscribe cancels the retry; nothing more is sent', async () => {
  const h = await startHarness();
  try {
    const handle = h.subscribe();
    const sub = await expectSubscribe(h.peer);
    await h.peer.reply(sub, 503);
    await takeMessage(h.queue);
    assert.equal(stateOf(h, handle), 'waiting');
    h.b2b.qsa.unsubscribe(handle);
    h.clock.advance(200_000);
    await expectNothing(h);
    assertNoLeaks(h);
  } finally {
    await h.close();
  }
});

test('subscribing, then 2xx: an in-dialog Expires: 0 goes out (exact octets), then wait_for_term_notify, then gone', async () => {
  const h = await startHarness();
  try {
    const handle = h.subscribe();
    const sub = await expectSubscribe(h.peer);
    h.b2b.qsa.unsubscribe(handle);
    assert.equal(h.b2b.engine.size, 1, 'waits for the answer');
    await expectNothing(h);
    await accept(h.peer, sub);
    const unsub = await expectSubscribe(h.peer);
    const wire = text(unsub);
    const branch = /;branch=(z9hG4bK[0-9a-z]+);rport\r\n/.exec(wire)?.[1];
    assert.equal(
      wire,
      `SUBSCRIBE ${h.peer.uri('ps')} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP 127.0.0.1:${h.ourPort};branch=${branch};rport\r\n` +
        `From: <${SUBSCRIBER}>;tag=${fromTagOf(sub)}\r\n` +
        `To: <${h.record()}>;tag=srv1\r\n` +
        `Call-ID: ${callIdOf(sub)}\r\n` +
        'CSeq: 2 SUBSCRIBE\r\n' +
        'Max-Forwards: 70\r\n' +
        'Event: presence\r\n' +
        'Accept: application/pidf+xml\r\n' +
        'Expires: 0\r\n' +
        `Contact: <sip:b2b@127.0.0.1:${h.ourPort}>\r\n` +
        'User-Agent: presence-b2b-test/1\r\n' +
        'Content-Length: 0\r\n' +
        '\r\n',
    );
    // A NOTIFY (the first one, active) is answered but reaches nobody.
    assert.equal((await notify(h, sub, { cseq: 1 })).message.status, 200);
    assert.equal(h.b2b.engine.stats.notifiesAfterUnsubscribe, 1, 'counted: a status the application no longer wanted');
    await h.peer.reply(unsub, 200, { headers: [['Expires', '0']] });
    assert.ok(await waitForState(h, handle, 'terminating'));
    h.clock.advance(9_999);
    assert.equal(h.b2b.engine.size, 1, 'waits wait_for_term_notify for the terminated NOTIFY');
    h.clock.advance(1);
    assert.equal(h.b2b.engine.size, 0);
    await assertQueueEmpty(h);
    await expectNothing(h);
    assertNoLeaks(h);
  } finally {
    await h.close();
  }
});

test('subscribing, then an error: destroyed, nothing on the wire', async () => {
  const h = await startHarness();
  try {
    const handle = h.subscribe();
    const sub = await expectSubscribe(h.peer);
    h.b2b.qsa.unsubscribe(handle);
    await h.peer.reply(sub, 404);
    assert.ok(await settle(() => h.b2b.engine.size === 0));
    h.clock.advance(200_000);
    await expectNothing(h);
    await assertQueueEmpty(h);
    assertNoLeaks(h);
  } finally {
    await h.close();
  }
});

test('subscribing, then a local 408 (Timer F): destroyed, no retry', async () => {
  const h = await startHarness();
  try {
    const handle = h.subscribe();
    await expectSubscribe(h.peer);
    h.b2b.qsa.unsubscribe(handle);
    h.clock.advance(32_000);
    assert.equal(h.b2b.engine.size, 0);
    h.peer.discardPending();
    h.clock.advance(200_000);
    await assertQueueEmpty(h);
    assertNoLeaks(h);
    h.peer.discardPending();
  } finally {
    await h.close();
  }
});

test('active: Expires: 0 at once; NOTIFYs still answered 200 and nothing queued; terminated NOTIFY after the 2xx ends it at once', async () => {
  const h = await startHarness();
  try {
    const { handle, subscribe } = await establish(h);
    h.clock.advance(60_000);
    h.b2b.qsa.unsubscribe(handle);
    const unsub = await expectSubscribe(h.peer);
    assert.equal(header(unsub, 'Expires'), '0');
    assert.equal(header(unsub, 'CSeq'), '2 SUBSCRIBE');
    assert.equal(header(unsub, 'To'), `<${h.record()}>;tag=srv1`);
    assert.equal(stateOf(h, handle), 'unsubscribing');
    assert.equal((await notify(h, subscribe, { cseq: 2, subscriptionState: 'active;expires=100' })).message.status, 200);
    await h.peer.reply(unsub, 200, { headers: [['Expires', '0']] });
    assert.ok(await waitForState(h, handle, 'terminating'));
    assert.equal((await notify(h, subscribe, { cseq: 3, subscriptionState: 'terminated;reason=timeout', body: '' })).message.status, 200);
    assert.equal(h.b2b.engine.size, 0);
    await assertQueueEmpty(h);
    // No refresh timer survives: nothing at 570 s.
    h.clock.advance(600_000);
    await expectNothing(h);
    assertNoLeaks(h);
  } finally {
    await h.close();
  }
});

test('active: a terminated NOTIFY before the 2xx to the unsubscribe destroys at once; the late 2xx is ignored', async () => {
  const h = await startHarness();
  try {
    const { handle, subscribe } = await establish(h);
    h.b2b.qsa.unsubscribe(handle);
    const unsub = await expectSubscribe(h.peer);
    assert.equal(header(unsub, 'Expires'), '0');
    assert.equal((await notify(h, subscribe, { cseq: 2, subscriptionState: 'terminated;reason=timeout', body: '' })).message.status, 200);
    assert.equal(h.b2b.engine.size, 0, 'destroyed at once (docs/ser-presence-b2b.md §2.7 step 4)');
    await h.peer.reply(unsub, 200, { headers: [['Expires', '0']] });
    await expectNothing(h);
    // A retransmitted terminated NOTIFY now gets 481.
    assert.equal((await notify(h, subscribe, { cseq: 3, subscriptionState: 'terminated;reason=timeout', body: '' })).message.status, 481);
    await assertQueueEmpty(h);
    assertNoLeaks(h);
  } finally {
    await h.close();
  }
});

test('active: an error to the unsubscribe ends it; so does no answer at all (Timer F)', async () => {
  const h = await startHarness();
  try {
    const a = await establish(h);
    h.b2b.qsa.unsubscribe(a.handle);
    const unsub = await expectSubscribe(h.peer);
    await h.peer.reply(unsub, 481);
    assert.ok(await settle(() => h.b2b.engine.size === 0));

    const b = await establish(h, { record: h.record('dave') });
    h.b2b.qsa.unsubscribe(b.handle);
    await expectSubscribe(h.peer);
    h.clock.advance(31_999);
    assert.equal(h.b2b.engine.size, 1);
    h.clock.advance(1);
    assert.equal(h.b2b.engine.size, 0);
    h.peer.discardPending();
    await assertQueueEmpty(h);
    assertNoLeaks(h);
    h.peer.discardPending();
  } finally {
    await h.close();
  }
});

test('refreshing: unsubscribe waits for the refresh answer, then sends Expires: 0 (CSeq 3)', async () => {
  const h = await startHarness();
  try {
    const { handle, subscribe } = await establish(h);
    h.clock.advance(570_000);
    const refresh = await expectSubscribe(h.peer);
    assert.equal(stateOf(h, handle), 'refreshing');
    h.b2b.qsa.unsubscribe(handle);
    await expectNothing(h);
    await accept(h.peer, refresh);
    const unsub = await expectSubscribe(h.peer);
    assert.equal(header(unsub, 'Expires'), '0');
    assert.equal(header(unsub, 'CSeq'), '3 SUBSCRIBE');
    assert.equal(callIdOf(unsub), callIdOf(subscribe));
    await h.peer.reply(unsub, 200, { headers: [['Expires', '0']] });
    assert.ok(await waitForState(h, handle, 'terminating'));
    assert.equal((await notify(h, subscribe, { cseq: 2, subscriptionState: 'terminated', body: '' })).message.status, 200);
    assert.equal(h.b2b.engine.size, 0);
    await assertQueueEmpty(h);
    assertNoLeaks(h);
  } finally {
    await h.close();
  }
});

test('refreshing: unsubscribe, then the refresh fails: destroyed with nothing more on the wire', async () => {
  const h = await startHarness();
  try {
    const { handle } = await establish(h);
    h.clock.advance(570_000);
    const refresh = await expectSubscribe(h.peer);
    h.b2b.qsa.unsubscribe(handle);
    await h.peer.reply(refresh, 481);
    assert.ok(await settle(() => h.b2b.engine.size === 0));
    h.clock.advance(10_000);
    await expectNothing(h);
    await assertQueueEmpty(h);
    assertNoLeaks(h);
  } finally {
    await h.close();
  }
});

test('after unsubscribe nothing reaches the queue, even what was queued before', async () => {
  const h = await startHarness();
  try {
    const { handle, subscribe } = await establish(h);
    assert.equal((await notify(h, subscribe, { cseq: 2 })).message.status, 200);
    assert.equal(h.queue.depth, 1);
    h.b2b.qsa.unsubscribe(handle);
    assert.equal(h.queue.depth, 0, 'purged');
    await expectSubscribe(h.peer);
    assert.equal((await notify(h, subscribe, { cseq: 3 })).message.status, 200);
    assert.equal((await notify(h, subscribe, { cseq: 4, subscriptionState: 'pending' })).message.status, 200);
    await assertQueueEmpty(h);
  } finally {
    await h.close();
  }
});

test('subscribing: a terminated NOTIFY before the 2xx ends it; a late 2xx granting time gets an Expires: 0 in its dialog, nothing more', async () => {
  const h = await startHarness();
  try {
    const handle = h.subscribe();
    const sub = await expectSubscribe(h.peer);
    h.b2b.qsa.unsubscribe(handle);
    assert.equal((await notify(h, sub, { cseq: 1, subscriptionState: 'terminated;reason=deactivated', body: '' })).message.status, 200);
    assert.equal(h.b2b.engine.size, 0);
    await accept(h.peer, sub);
    // No orphan can be left at the server, whatever it made of the 2xx: an unSUBSCRIBE, answered or not, ends it.
    const unsub = await expectSubscribe(h.peer);
    assert.equal(header(unsub, 'Expires'), '0');
    assert.equal(callIdOf(unsub), callIdOf(sub));
    assert.equal(header(unsub, 'CSeq'), '2 SUBSCRIBE');
    await h.peer.reply(unsub, 481);
    await expectNothing(h);
    await assertQueueEmpty(h);
    assertNoLeaks(h);
  } finally {
    await h.close();
  }
});

test('subscribing: a 3xx after the unsubscribe is not followed', async () => {
  const h = await startHarness();
  try {
    const handle = h.subscribe();
    const sub = await expectSubscribe(h.peer);
    h.b2b.qsa.unsubscribe(handle);
    await h.peer.reply(sub, 302, { headers: [['Contact', `<${h.record('elsewhere')}>`]] });
    assert.ok(await settle(() => h.b2b.engine.size === 0));
    await expectNothing(h);
    assertNoLeaks(h);
  } finally {
    await h.close();
  }
});

test('unsubscribing: a terminated NOTIFY while the Expires: 0 goes unanswered; its transaction still ends by Timer F, leaving nothing', async () => {
  const h = await startHarness();
  try {
    const { handle, subscribe } = await establish(h);
    h.b2b.qsa.unsubscribe(handle);
    await expectSubscribe(h.peer);
    await notify(h, subscribe, { cseq: 2, subscriptionState: 'terminated', body: '' });
    assert.equal(h.b2b.engine.size, 0);
    assertNoLeaks(h);
    h.peer.discardPending();
  } finally {
    await h.close();
  }
});
