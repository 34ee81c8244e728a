/**
 * Identical (record, subscriber) subscriptions share one dialog
 * (share_identical_subscriptions, default on; SER made one per handle,
 * docs/ser-presence-b2b.md §5 item 1), and what sharing must not mix up.
 */
import { presenceOf } from '../../../src/presence/index.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SUBSCRIBER,
  accept,
  assertNoLeaks,
  assertQueueEmpty,
  callIdOf,
  expectNothing,
  expectSubscribe,
  header,
  notify,
  startHarness,
  stateOf,
  takeMessage,
} from './harness.js';

test('identical subscriptions share one dialog; every queue gets each status; a late joiner gets the last status at once', async () => {
  const h = await startHarness();
  try {
    const q2 = h.b2b.qsa.createQueue();
    const q3 = h.b2b.qsa.createQueue();
    const a = h.subscribe();
    const b = h.subscribe(h.record(), q2);
    const sub = await expectSubscribe(h.peer);
    await expectNothing(h);
    assert.equal(h.b2b.engine.size, 1);
    assert.equal(h.b2b.engine.dialogOf(a.id)?.id, h.b2b.engine.dialogOf(b.id)?.id);
    await accept(h.peer, sub);
    assert.equal((await notify(h, sub, { cseq: 1 })).message.status, 200);
    const m1 = await takeMessage(h.queue);
    const m2 = await takeMessage(q2);
    assert.equal(m1.subscriptionId, a.id);
    assert.equal(m2.subscriptionId, b.id);
    assert.equal(presenceOf(m1)?.tuples[0]?.basic, 'open');
    assert.equal(presenceOf(m2)?.tuples[0]?.basic, 'open');

    const c = h.subscribe(h.record(), q3);
    const m3 = await takeMessage(q3);
    assert.equal(m3.subscriptionId, c.id);
    assert.equal(m3.state, 'active', 'the joiner learns the current state at once');
    await expectNothing(h);

    // One leaves: nothing on the wire, the others still hear.
    h.b2b.qsa.unsubscribe(a);
    await expectNothing(h);
    assert.equal((await notify(h, sub, { cseq: 2, subscriptionState: 'active;expires=500', body: '' })).message.status, 200);
    assert.equal((await takeMessage(q2)).expires, 500);
    assert.equal((await takeMessage(q3)).expires, 500);
    await assertQueueEmpty(h);

    // The last one leaves: Expires: 0.
    h.b2b.qsa.unsubscribe(b);
    await expectNothing(h);
    h.b2b.qsa.unsubscribe(c);
    const unsub = await expectSubscribe(h.peer);
    assert.equal(header(unsub, 'Expires'), '0');
    assert.equal(callIdOf(unsub), callIdOf(sub));
    await h.peer.reply(unsub, 200, { headers: [['Expires', '0']] });
    await notify(h, sub, { cseq: 3, subscriptionState: 'terminated;reason=timeout', body: '' });
    assert.equal(h.b2b.engine.size, 0);
    assertNoLeaks(h);
  } finally {
    await h.close();
  }
});

test('a subscription identical to one being unsubscribed gets a new dialog', async () => {
  const h = await startHarness();
  try {
    const a = h.subscribe();
    const first = await expectSubscribe(h.peer);
    await accept(h.peer, first);
    await notify(h, first, { cseq: 1 });
    await takeMessage(h.queue);
    h.b2b.qsa.unsubscribe(a);
    const unsub = await expectSubscribe(h.peer);
    assert.equal(header(unsub, 'Expires'), '0');
    const b = h.subscribe();
    const fresh = await expectSubscribe(h.peer);
    assert.equal(header(fresh, 'Expires'), '600');
    assert.notEqual(callIdOf(fresh), callIdOf(first));
    assert.equal(h.b2b.engine.size, 2);
    assert.equal(stateOf(h, b), 'subscribing');
    // A NOTIFY on the dying dialog does not reach the new subscriber.
    assert.equal((await notify(h, first, { cseq: 2 })).message.status, 200);
    await assertQueueEmpty(h);
  } finally {
    await h.close();
  }
});

test('a failure on a shared dialog reaches every member; the retry serves them all', async () => {
  const h = await startHarness();
  try {
    const q2 = h.b2b.qsa.createQueue();
    h.subscribe();
    h.subscribe(h.record(), q2);
    const sub = await expectSubscribe(h.peer);
    await h.peer.reply(sub, 500);
    assert.equal((await takeMessage(h.queue)).state, 'terminated');
    assert.equal((await takeMessage(q2)).state, 'terminated');
    h.clock.advance(144_000);
    const retry = await expectSubscribe(h.peer);
    await expectNothing(h);
    assert.equal(h.b2b.engine.size, 1);
    await accept(h.peer, retry);
    await notify(h, retry, { cseq: 1 });
    assert.equal((await takeMessage(h.queue)).state, 'active');
    assert.equal((await takeMessage(q2)).state, 'active');
  } finally {
    await h.close();
  }
});

test('a final answer on a shared dialog reaches every member once; a new identical subscription starts afresh', async () => {
  const h = await startHarness();
  try {
    const q2 = h.b2b.qsa.createQueue();
    const q3 = h.b2b.qsa.createQueue();
    const a = h.subscribe();
    h.subscribe(h.record(), q2);
    const sub = await expectSubscribe(h.peer);
    await h.peer.reply(sub, 403);
    assert.equal((await takeMessage(h.queue)).state, 'rejected');
    assert.equal((await takeMessage(q2)).state, 'rejected');
    assert.equal(stateOf(h, a), 'final');
    h.clock.advance(3_600_000);
    await expectNothing(h);
    // Subscribing again: a dialog of its own, a new SUBSCRIBE; the final one stays as it was.
    const c = h.subscribe(h.record(), q3);
    const again = await expectSubscribe(h.peer);
    assert.notEqual(callIdOf(again), callIdOf(sub));
    assert.equal(stateOf(h, c), 'subscribing');
    assert.equal(stateOf(h, a), 'final');
    assert.equal(h.b2b.engine.size, 2);
    await assertQueueEmpty(h);
    await assertQueueEmpty(h, q2);
  } finally {
    await h.close();
  }
});

test('share_identical_subscriptions=false: one dialog per subscription, each NOTIFY reaches only its own queue', async () => {
  const h = await startHarness({ shareIdenticalSubscriptions: false });
  try {
    const q2 = h.b2b.qsa.createQueue();
    const a = h.subscribe();
    const b = h.subscribe(h.record(), q2);
    const received = [await expectSubscribe(h.peer), await expectSubscribe(h.peer)];
    assert.equal(h.b2b.engine.size, 2);
    const callA = h.b2b.engine.dialogOf(a.id)?.callId;
    const callB = h.b2b.engine.dialogOf(b.id)?.callId;
    assert.ok(callA !== undefined && callB !== undefined && callA !== callB, 'two Call-IDs');
    const subA = received.find((r) => callIdOf(r) === callA);
    const subB = received.find((r) => callIdOf(r) === callB);
    assert.ok(subA !== undefined && subB !== undefined);
    await accept(h.peer, subA);
    await accept(h.peer, subB, { toTag: 'srv2' });
    await notify(h, subA, { cseq: 1 });
    assert.equal((await takeMessage(h.queue)).subscriptionId, a.id);
    await assertQueueEmpty(h, q2);
    await notify(h, subB, { cseq: 1, serverTag: 'srv2', subscriptionState: 'pending' });
    const mb = await takeMessage(q2);
    assert.equal(mb.subscriptionId, b.id);
    assert.equal(mb.state, 'pending');
    await assertQueueEmpty(h);
    // Each leaves on its own: two Expires: 0, one per dialog.
    h.b2b.qsa.unsubscribe(a);
    h.b2b.qsa.unsubscribe(b);
    const unsubs = [await expectSubscribe(h.peer), await expectSubscribe(h.peer)];
    assert.deepEqual(unsubs.map((u) => header(u, 'Expires')), ['0', '0']);
    assert.deepEqual(unsubs.map(callIdOf).sort(), [callA, callB].sort());
  } finally {
    await h.close();
  }
});

test('different subscribers of the same record get separate dialogs (each as itself)', async () => {
  const h = await startHarness();
  try {
    h.subscribe(h.record(), h.queue, SUBSCRIBER);
    h.subscribe(h.record(), h.queue, 'sip:carol@example.com');
    const froms = [header(await expectSubscribe(h.peer), 'From'), header(await expectSubscribe(h.peer), 'From')].map((f) => f?.replace(/;tag=.*/, '')).sort();
    assert.deepEqual(froms, ['<sip:bob@example.com>', '<sip:carol@example.com>']);
    assert.equal(h.b2b.engine.size, 2);
  } finally {
    await h.close();
  }
});

