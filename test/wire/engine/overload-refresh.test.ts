/**
 * After an overload period of the transport (docs/hostile-input.md, "Floods"),
 * every active dialog is refreshed once, T2 + 1 s (8·T1 + 1000 ms) after its
 * end: the server answers with its current state, or with 481 for a
 * subscription it dropped while its NOTIFYs could not reach us (Kamailio's
 * timeout_rm_subs), and then a new dialog is made. The engine is told by the
 * B2BUA (PresenceEngine.overloadStarted/overloadEnded); here the test tells
 * it, on the injected clock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { T1, accept, callIdOf, establish, expectNothing, expectSubscribe, header, notify, startHarness, stateOf, takeMessage, toTagOf, waitForState } from './harness.js';

const SWEEP_DELAY_MS = 8 * T1 + 1000;

test('after an overload period: one in-dialog refresh T2 + 1 s after its end; its NOTIFY brings the current state', async () => {
  const h = await startHarness();
  try {
    const { handle, subscribe } = await establish(h);
    h.b2b.engine.overloadEnded();
    h.clock.advance(SWEEP_DELAY_MS - 1);
    await expectNothing(h);
    assert.equal(h.b2b.engine.stats.subscribesSent, 1, 'nothing before T2 + 1 s');
    h.clock.advance(1);
    const refresh = await expectSubscribe(h.peer);
    assert.equal(toTagOf(refresh), 'srv1', 'in the dialog');
    assert.equal(callIdOf(refresh), callIdOf(subscribe));
    assert.equal(header(refresh, 'CSeq'), '2 SUBSCRIBE');
    assert.equal(h.b2b.engine.stats.refreshesAfterOverload, 1);
    await accept(h.peer, refresh);
    await notify(h, subscribe, { cseq: 3 });
    assert.ok(await waitForState(h, handle, 'active'));
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'active');
    // Once only: no further refresh until the ordinary one.
    h.clock.advance(60_000);
    await expectNothing(h);
    assert.equal(h.b2b.engine.stats.refreshesAfterOverload, 1);
  } finally {
    await h.close();
  }
});

test('after an overload period: a 481 to that refresh (the server dropped the subscription) makes a new dialog', async () => {
  const h = await startHarness();
  try {
    const { handle, subscribe } = await establish(h);
    h.b2b.engine.overloadEnded();
    h.clock.advance(SWEEP_DELAY_MS);
    const refresh = await expectSubscribe(h.peer);
    await h.peer.reply(refresh, 481);
    const status = await takeMessage(h.queue);
    assert.equal(status.reason, 'resubscribing');
    assert.equal(stateOf(h, handle), 'waiting');
    h.clock.advance(3000);
    const fresh = await expectSubscribe(h.peer);
    assert.notEqual(callIdOf(fresh), callIdOf(subscribe), 'a new dialog');
    assert.equal(toTagOf(fresh), undefined);
  } finally {
    await h.close();
  }
});

test('a new overload period before the refresh postpones it to T2 + 1 s after its own end', async () => {
  const h = await startHarness();
  try {
    await establish(h);
    h.b2b.engine.overloadEnded();
    h.clock.advance(SWEEP_DELAY_MS - 1000);
    h.b2b.engine.overloadStarted();
    h.clock.advance(10_000);
    await expectNothing(h);
    assert.equal(h.b2b.engine.stats.subscribesSent, 1, 'no refresh while shedding');
    h.b2b.engine.overloadEnded();
    h.clock.advance(SWEEP_DELAY_MS - 1);
    await expectNothing(h);
    h.clock.advance(1);
    await expectSubscribe(h.peer);
    assert.equal(h.b2b.engine.stats.refreshesAfterOverload, 1);
  } finally {
    await h.close();
  }
});
