/**
 * Answers that may not have reached the server (docs/behaviour.md §3.7): a
 * NOTIFY that comes again after we answered it, or a SUBSCRIBE making a
 * dialog answered only after two retransmissions. The server drops a
 * subscription whose NOTIFY times out (RFC 6665 §4.2.2, RFC 3261 §17.1.2.2
 * Timer F) without a word to us, so the engine brings the dialog's refresh
 * forward to 64·T1 + 1 s: a 481 to it makes a new dialog. On the injected clock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SIXTY_FOUR_T1,
  T1,
  accept,
  callIdOf,
  expectNothing,
  expectSubscribe,
  header,
  quiesce,
  startHarness,
  stateOf,
  takeMessage,
  toTagOf,
  type Harness,
} from './harness.js';
import type { ReceivedRequest } from '../../support/scripted-peer.js';

const CONFIRM_AFTER_MS = SIXTY_FOUR_T1 + 1000;

/** Up to active with a first NOTIFY; returns the SUBSCRIBE and the NOTIFY's exact octets (to send them again). */
async function establishKeepingNotify(h: Harness): Promise<{ subscribe: ReceivedRequest; notifyBytes: Buffer; handle: ReturnType<Harness['subscribe']> }> {
  const handle = h.subscribe();
  const subscribe = await expectSubscribe(h.peer);
  await accept(h.peer, subscribe);
  const notifyBytes = await h.peer.sendNotify({ address: '127.0.0.1', port: h.ourPort }, { ...h.peer.notifyOptionsFor(subscribe, 'srv1'), cseq: 1 });
  assert.equal((await h.peer.expectResponse({ method: 'NOTIFY' })).message.status, 200);
  assert.equal((await takeMessage(h.queue)).state, 'active');
  return { subscribe, notifyBytes, handle };
}

/** The same NOTIFY again (same branch: a retransmission); the stack answers it with the same 200. */
async function retransmit(h: Harness, bytes: Buffer): Promise<void> {
  await h.peer.sendRaw(bytes, { address: '127.0.0.1', port: h.ourPort });
  assert.equal((await h.peer.expectResponse({ method: 'NOTIFY' })).message.status, 200);
}

test('a NOTIFY retransmitted after our 200: one in-dialog refresh 64·T1 + 1 s later, once however many copies come; a copy after that confirms again', async () => {
  const h = await startHarness();
  try {
    const { subscribe, notifyBytes } = await establishKeepingNotify(h);
    await retransmit(h, notifyBytes);
    h.clock.advance(2 * 500);
    await retransmit(h, notifyBytes);
    h.clock.advance(CONFIRM_AFTER_MS - 1000 - 1);
    await expectNothing(h);
    assert.equal(h.b2b.engine.stats.subscribesSent, 1, 'nothing before 64·T1 + 1 s after the first copy');
    h.clock.advance(1);
    const refresh = await expectSubscribe(h.peer);
    assert.equal(callIdOf(refresh), callIdOf(subscribe), 'in the dialog');
    assert.equal(toTagOf(refresh), 'srv1');
    assert.equal(header(refresh, 'CSeq'), '2 SUBSCRIBE');
    assert.equal(h.b2b.engine.stats.confirmingRefreshes, 1);
    assert.equal(h.b2b.ua.stats().responseRetransmissions, 2, 'both copies answered again by the transaction layer');
    await accept(h.peer, refresh);
    await quiesce(h); // the 200 is in before the clock moves
    h.clock.advance(CONFIRM_AFTER_MS);
    await expectNothing(h);
    assert.equal(h.b2b.engine.stats.subscribesSent, 2, 'one refresh only');
    // The refresh's NOTIFY comes again too: confirmed again, 64·T1 + 1 s after that copy.
    const again = await h.peer.sendNotify({ address: '127.0.0.1', port: h.ourPort }, { ...h.peer.notifyOptionsFor(subscribe, 'srv1'), cseq: 2 });
    assert.equal((await h.peer.expectResponse({ method: 'NOTIFY' })).message.status, 200);
    await retransmit(h, again);
    await quiesce(h);
    h.clock.advance(CONFIRM_AFTER_MS);
    const second = await expectSubscribe(h.peer);
    assert.equal(header(second, 'CSeq'), '3 SUBSCRIBE');
    assert.equal(h.b2b.engine.stats.confirmingRefreshes, 2);
  } finally {
    await h.close();
  }
});

test('a NOTIFY retransmitted after our 200, and the server had dropped the subscription: the refresh gets 481, a new dialog follows', async () => {
  const h = await startHarness();
  try {
    const { subscribe, notifyBytes, handle } = await establishKeepingNotify(h);
    await retransmit(h, notifyBytes);
    h.clock.advance(CONFIRM_AFTER_MS);
    const refresh = await expectSubscribe(h.peer);
    await h.peer.reply(refresh, 481);
    assert.equal((await takeMessage(h.queue)).reason, 'resubscribing');
    assert.equal(stateOf(h, handle), 'waiting');
    h.clock.advance(3000);
    const fresh = await expectSubscribe(h.peer);
    assert.notEqual(callIdOf(fresh), callIdOf(subscribe), 'a new dialog');
    assert.equal(toTagOf(fresh), undefined);
  } finally {
    await h.close();
  }
});

test('a NOTIFY before the 2xx, retransmitted after our 200: the 2xx brings the refresh forward to 64·T1 + 1 s', async () => {
  const h = await startHarness();
  try {
    h.subscribe();
    const subscribe = await expectSubscribe(h.peer);
    // A busy server sends its first NOTIFY before the 2xx (RFC 6665 §4.1.2.4 allows it).
    const notifyBytes = await h.peer.sendNotify({ address: '127.0.0.1', port: h.ourPort }, { ...h.peer.notifyOptionsFor(subscribe, 'srv1'), cseq: 1 });
    assert.equal((await h.peer.expectResponse({ method: 'NOTIFY' })).message.status, 200);
    await retransmit(h, notifyBytes);
    await accept(h.peer, subscribe);
    assert.equal((await takeMessage(h.queue)).state, 'active');
    await quiesce(h);
    h.clock.advance(CONFIRM_AFTER_MS - 1);
    await expectNothing(h);
    h.clock.advance(1);
    const refresh = await expectSubscribe(h.peer);
    assert.equal(callIdOf(refresh), callIdOf(subscribe));
    assert.equal(header(refresh, 'CSeq'), '2 SUBSCRIBE');
    assert.equal(h.b2b.engine.stats.confirmingRefreshes, 1);
  } finally {
    await h.close();
  }
});

/** A new dialog whose SUBSCRIBE is answered `afterMs` after it was sent (the copies Timer E sent meanwhile taken), then its NOTIFY. */
async function establishLate(h: Harness, afterMs: number, copies: number): Promise<ReceivedRequest> {
  h.subscribe();
  const subscribe = await expectSubscribe(h.peer);
  h.clock.advance(afterMs);
  for (let i = 0; i < copies; i++) assert.equal(callIdOf(await expectSubscribe(h.peer)), callIdOf(subscribe), 'a retransmission');
  await accept(h.peer, subscribe);
  await h.peer.sendNotify({ address: '127.0.0.1', port: h.ourPort }, { ...h.peer.notifyOptionsFor(subscribe, 'srv1'), cseq: 1 });
  assert.equal((await h.peer.expectResponse({ method: 'NOTIFY' })).message.status, 200);
  assert.equal((await takeMessage(h.queue)).state, 'active');
  await quiesce(h);
  return subscribe;
}

test('the SUBSCRIBE making a dialog answered only after two retransmissions (4·T1): the refresh comes 64·T1 + 1 s after the 2xx', async () => {
  const h = await startHarness();
  try {
    const subscribe = await establishLate(h, 4 * T1, 2); // copies at T1 and 3·T1 (RFC 3261 §17.1.2.2)
    h.clock.advance(CONFIRM_AFTER_MS - 1);
    await expectNothing(h);
    h.clock.advance(1);
    const refresh = await expectSubscribe(h.peer);
    assert.equal(callIdOf(refresh), callIdOf(subscribe));
    assert.equal(header(refresh, 'CSeq'), '2 SUBSCRIBE');
    assert.equal(h.b2b.engine.stats.confirmingRefreshes, 1);
    // That refresh answered late too: no confirmation of a refresh (no loop with a slow server).
    h.clock.advance(4 * T1);
    await expectSubscribe(h.peer);
    await expectSubscribe(h.peer);
    await accept(h.peer, refresh);
    await quiesce(h);
    h.clock.advance(CONFIRM_AFTER_MS * 2);
    await expectNothing(h);
    assert.equal(h.b2b.engine.stats.confirmingRefreshes, 1);
  } finally {
    await h.close();
  }
});

test('the SUBSCRIBE making a dialog answered after one retransmission only: no confirmation', async () => {
  const h = await startHarness();
  try {
    await establishLate(h, 2 * T1, 1);
    h.clock.advance(CONFIRM_AFTER_MS * 3);
    await expectNothing(h);
    assert.equal(h.b2b.engine.stats.confirmingRefreshes, 0);
  } finally {
    await h.close();
  }
});

test('a NOTIFY answered once, never retransmitted: the refresh stays where the grant put it', async () => {
  const h = await startHarness();
  try {
    await establishKeepingNotify(h);
    h.clock.advance(CONFIRM_AFTER_MS * 3);
    await expectNothing(h);
    assert.equal(h.b2b.engine.stats.subscribesSent, 1);
    assert.equal(h.b2b.engine.stats.confirmingRefreshes, 0);
  } finally {
    await h.close();
  }
});
