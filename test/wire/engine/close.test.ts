/**
 * Shutdown: close() unSUBSCRIBEs every dialog (SER sent none, docs/ser-presence-b2b.md §5 item
 * 13) and resolves within its bound; nothing is left (dialogs, timers).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accept,
  callIdOf,
  establish,
  expectNothing,
  expectSubscribe,
  header,
  notify,
  quiesce,
  settle,
  startHarness,
  takeMessage,
} from './harness.js';

test('close(): Expires: 0 for every dialog; resolves once each is answered and terminated; no timer left', async () => {
  const h = await startHarness();
  try {
    const alice = await establish(h);
    const carol = await establish(h, { record: h.record('carol') });
    // A third one waiting for its retry: it just goes, silently.
    h.subscribe(h.record('dave'));
    const dave = await expectSubscribe(h.peer);
    await h.peer.reply(dave, 404);
    await takeMessage(h.queue);

    let closed = false;
    const closing = h.b2b.close(5000).then(() => {
      closed = true;
    });
    const unsubs = [await expectSubscribe(h.peer), await expectSubscribe(h.peer)];
    await expectNothing(h);
    assert.deepEqual(unsubs.map((u) => header(u, 'Expires')), ['0', '0']);
    assert.deepEqual(unsubs.map(callIdOf).sort(), [callIdOf(alice.subscribe), callIdOf(carol.subscribe)].sort());
    for (const u of unsubs) await h.peer.reply(u, 200, { headers: [['Expires', '0']] });
    await settle(() => h.b2b.engine.list().every((d) => d.state === 'terminating'));
    assert.equal(closed, false, 'waits for the terminating NOTIFYs');
    await notify(h, alice.subscribe, { cseq: 2, subscriptionState: 'terminated;reason=timeout', body: '' });
    await notify(h, carol.subscribe, { cseq: 2, subscriptionState: 'terminated;reason=timeout', body: '' });
    assert.ok(await settle(() => closed), 'close() resolved without the clock moving');
    await closing;
    assert.equal(h.b2b.engine.size, 0);
    assert.equal(h.scheduler.size, 0, 'no live timer after close()');
    assert.equal(h.queue.poll(), undefined, 'nothing reached the queue while closing');
  } finally {
    await h.close();
  }
});

test('close(): a silent server does not hold it past its bound', async () => {
  const h = await startHarness();
  try {
    await establish(h);
    h.subscribe(h.record('erin'));
    const pending = await expectSubscribe(h.peer); // still subscribing when close() starts
    let closed = false;
    const closing = h.b2b.close(2000).then(() => {
      closed = true;
    });
    const unsub = await expectSubscribe(h.peer);
    assert.equal(header(unsub, 'Expires'), '0');
    // The subscribing one waits for its answer: a 2xx makes it send Expires: 0 too.
    await accept(h.peer, pending);
    const second = await expectSubscribe(h.peer);
    assert.equal(header(second, 'Expires'), '0');
    assert.equal(callIdOf(second), callIdOf(pending));
    h.clock.advance(1999);
    await quiesce(h);
    assert.equal(closed, false);
    h.clock.advance(1);
    assert.ok(await settle(() => closed), 'resolved at the bound');
    await closing;
    assert.equal(h.b2b.engine.size, 0);
    assert.equal(h.scheduler.size, 0, 'no live timer after close()');
    h.peer.discardPending();
  } finally {
    await h.close();
  }
});

test('close() with nothing to do resolves at once; subscribing afterwards does nothing', async () => {
  const h = await startHarness();
  try {
    await h.b2b.close(1000);
    assert.equal(h.scheduler.size, 0);
    const queue = h.b2b.qsa.createQueue();
    h.b2b.qsa.subscribe({ record: h.record(), subscriber: 'sip:bob@example.com', queue });
    assert.equal(h.b2b.engine.size, 0);
    await expectNothing(h);
  } finally {
    await h.close();
  }
});

test('close() called twice: both calls resolve, and only once everything is closed', async () => {
  const h = await startHarness();
  try {
    await establish(h);
    const done: string[] = [];
    const first = h.b2b.close(1000).then(() => done.push('first'));
    const second = h.b2b.close(1000).then(() => done.push('second'));
    await expectSubscribe(h.peer);
    await quiesce(h);
    assert.deepEqual(done, [], 'neither resolves before the unsubscribe is over');
    h.clock.advance(1000);
    assert.ok(await settle(() => done.length === 2), `both resolved: ${done}`);
    await Promise.all([first, second]);
    assert.equal(h.scheduler.size, 0);
  } finally {
    await h.close();
  }
});

test('engine.close() called twice: both promises resolve at the bound', async () => {
  const h = await startHarness();
  try {
    await establish(h);
    const done: string[] = [];
    const first = h.b2b.engine.close(1000).then(() => done.push('first'));
    const second = h.b2b.engine.close(1000).then(() => done.push('second'));
    await expectSubscribe(h.peer);
    h.clock.advance(1000);
    assert.ok(await settle(() => done.length === 2), `both resolved: ${done}`);
    await Promise.all([first, second]);
    assert.equal(h.b2b.engine.size, 0);
  } finally {
    await h.close();
  }
});
