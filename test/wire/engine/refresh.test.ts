/**
 * Refreshes on the wire: timing max(granted − resubscribe_delta,
 * min_resubscribe_time) minus jitter (docs/ser-presence-b2b.md §2.6), the in-dialog request
 * (RFC 3261 §12.2.1.1), a lower expiry from a NOTIFY (RFC 6665 §4.1.2.1),
 * 481 to a refresh and 423 Min-Expires.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SUBSCRIBER,
  accept,
  advanceUntilSubscribe,
  assertQueueEmpty,
  callIdOf,
  establish,
  expectNothing,
  expectSubscribe,
  fromTagOf,
  header,
  notify,
  startHarness,
  stateOf,
  takeMessage,
  text,
  toTagOf,
  waitForState,
} from './harness.js';

test('refresh: in-dialog, exact octets (CSeq+1, R-URI = 2xx Contact, To-tag, Route = Record-Route reversed) at granted − delta', async () => {
  const h = await startHarness();
  try {
    const p = h.peer.address.port;
    const far = `<sip:127.0.0.1:${p};lr;n=far>`;
    const near = `<sip:127.0.0.1:${p};lr;n=near>`;
    const { handle, subscribe } = await establish(h, { recordRoute: [far, near] });
    assert.equal(stateOf(h, handle), 'active');
    h.clock.advance(569_999);
    assert.equal(h.b2b.engine.stats.subscribesSent, 1, 'no refresh before 600 − 30 s');
    h.clock.advance(1);
    assert.equal(h.b2b.engine.stats.subscribesSent, 2, 'refresh at exactly 570 s (refreshJitter 0)');
    const refresh = await expectSubscribe(h.peer);
    const wire = text(refresh);
    const branch = /;branch=(z9hG4bK[0-9a-z]+);rport\r\n/.exec(wire)?.[1];
    assert.notEqual(branch, undefined);
    assert.equal(
      wire,
      `SUBSCRIBE ${h.peer.uri('ps')} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP 127.0.0.1:${h.ourPort};branch=${branch};rport\r\n` +
        `Route: ${near}\r\n` +
        `Route: ${far}\r\n` +
        `From: <${SUBSCRIBER}>;tag=${fromTagOf(subscribe)}\r\n` +
        `To: <${h.record()}>;tag=srv1\r\n` +
        `Call-ID: ${callIdOf(subscribe)}\r\n` +
        'CSeq: 2 SUBSCRIBE\r\n' +
        'Max-Forwards: 70\r\n' +
        'Event: presence\r\n' +
        'Accept: application/pidf+xml\r\n' +
        'Expires: 600\r\n' +
        `Contact: <sip:b2b@127.0.0.1:${h.ourPort}>\r\n` +
        'User-Agent: presence-b2b-test/1\r\n' +
        'Content-Length: 0\r\n' +
        '\r\n',
    );
    assert.equal(stateOf(h, handle), 'refreshing');
    await accept(h.peer, refresh);
    assert.ok(await waitForState(h, handle, 'active'));
    await assertQueueEmpty(h);
    // The 2xx to the refresh re-arms the timer: the next one 570 s later, CSeq 3.
    assert.equal(advanceUntilSubscribe(h, 570_000, 1000), 570_000);
    const second = await expectSubscribe(h.peer);
    assert.equal(header(second, 'CSeq'), '3 SUBSCRIBE');
  } finally {
    await h.close();
  }
});

test('refresh timing: the granted Expires (lower than asked) − resubscribe_delta; half the grant when it is under twice resubscribe_delta (never after the expiry)', async () => {
  for (const [granted, expectedMs] of [
    [300, 270_000],
    [60, 30_000],
    [45, 22_500],
    [10, 5_000],
  ] as const) {
    const h = await startHarness();
    try {
      await establish(h, { expires: granted });
      h.clock.advance(expectedMs - 1);
      assert.equal(h.b2b.engine.stats.subscribesSent, 1, `granted ${granted}: nothing before ${expectedMs} ms`);
      h.clock.advance(1);
      assert.equal(h.b2b.engine.stats.subscribesSent, 2, `granted ${granted}: refresh at ${expectedMs} ms`);
      const refresh = await expectSubscribe(h.peer);
      assert.equal(header(refresh, 'Expires'), '600', 'a refresh asks for default_expiration again');
    } finally {
      await h.close();
    }
  }
});

/**
 * With refresh_jitter 5, for each seed: establish (granting `expires`, the harness's default when
 * undefined), then the refresh's delay, asserted within [lowest, highest] ms. Returns the delays seen.
 */
async function jitteredRefreshDelays(seeds: number[], expires: number | undefined, lowest: number, highest: number): Promise<Set<number>> {
  const seen = new Set<number>();
  for (const seed of seeds) {
    const h = await startHarness({ refreshJitter: 5 }, seed);
    try {
      await establish(h, expires === undefined ? {} : { expires });
      const delay = advanceUntilSubscribe(h, highest, 1);
      assert.ok(delay !== undefined && delay >= lowest && delay <= highest, `seed ${seed}: refresh after ${delay} ms`);
      seen.add(delay);
    } finally {
      await h.close();
    }
  }
  return seen;
}

test('refresh jitter: the refresh falls within [base − refresh_jitter, base] and never below min_resubscribe_time, else later', async () => {
  const seen = await jitteredRefreshDelays([1, 2, 3, 4], undefined, 565_000, 570_000);
  assert.ok(seen.size > 1, 'the jitter varies');
  // 40 < 2 × 30: half the grant, 20 s, below min_resubscribe_time: no room earlier, so the jitter is
  // taken later, by at most a quarter of the 20 s left before the expiry (20–25 s).
  const later = await jitteredRefreshDelays([9, 10, 11], 40, 20_000, 25_000);
  assert.ok(later.size > 1, 'the jitter varies');
});

test('a NOTIFY with Subscription-State active;expires= lowers the granted time (refresh at expires − delta after it)', async () => {
  const h = await startHarness();
  try {
    const { subscribe } = await establish(h);
    h.clock.advance(10_000);
    const ok = await notify(h, subscribe, { cseq: 2, subscriptionState: 'active;expires=100' });
    assert.equal(ok.message.status, 200);
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'active');
    assert.equal(status.expires, 100);
    assert.equal(advanceUntilSubscribe(h, 600_000, 1), 70_000, 'max(100 − 30, 30) s after the NOTIFY');
    // A NOTIFY never raises it: expires=3600 after a 600 s grant changes nothing.
    const refresh = await expectSubscribe(h.peer);
    await accept(h.peer, refresh);
    await notify(h, subscribe, { cseq: 3, subscriptionState: 'active;expires=3600' });
    await takeMessage(h.queue);
    assert.equal(advanceUntilSubscribe(h, 600_000, 1000), 570_000);
  } finally {
    await h.close();
  }
});

test('481 to a refresh: the subscriber hears pending/resubscribing and a new dialog (new Call-ID) starts within 3 s', async () => {
  const h = await startHarness();
  try {
    const { handle, subscribe } = await establish(h);
    h.clock.advance(570_000);
    const refresh = await expectSubscribe(h.peer);
    await h.peer.reply(refresh, 481);
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'pending');
    assert.equal(status.reason, 'resubscribing');
    assert.equal(stateOf(h, handle), 'waiting');
    const delay = advanceUntilSubscribe(h, 5000, 10);
    assert.ok(delay !== undefined && delay >= 2000 && delay <= 3000, `new SUBSCRIBE after ${delay} ms (2 s gap + 0.5–1 s)`);
    const fresh = await expectSubscribe(h.peer);
    assert.notEqual(callIdOf(fresh), callIdOf(subscribe), 'a new Call-ID');
    assert.notEqual(fromTagOf(fresh), fromTagOf(subscribe), 'a new From-tag');
    assert.equal(toTagOf(fresh), undefined, 'out of dialog');
    assert.equal(header(fresh, 'CSeq'), '1 SUBSCRIBE');
    assert.equal(fresh.message.uri, h.record(), 'to the original record');
    // The old dialog is gone: a NOTIFY in it gets 481.
    const stale = await notify(h, subscribe, { cseq: 5 });
    assert.equal(stale.message.status, 481);
  } finally {
    await h.close();
  }
});

test('423 with Min-Expires: re-SUBSCRIBE at once with that Expires, kept for refreshes', async () => {
  const h = await startHarness();
  try {
    h.subscribe();
    const first = await expectSubscribe(h.peer);
    await h.peer.reply(first, 423, { headers: [['Min-Expires', '1800']] });
    const second = await expectSubscribe(h.peer);
    assert.equal(header(second, 'Expires'), '1800');
    assert.equal(callIdOf(second), callIdOf(first), 'same Call-ID (RFC 3261 §8.1.3.5)');
    assert.equal(header(second, 'CSeq'), '2 SUBSCRIBE');
    assert.equal(toTagOf(second), undefined);
    await accept(h.peer, second);
    await notify(h, second, { cseq: 1 });
    assert.equal((await takeMessage(h.queue)).state, 'active');
    assert.equal(advanceUntilSubscribe(h, 1_800_000, 1000), 1_770_000);
    const refresh = await expectSubscribe(h.peer);
    assert.equal(header(refresh, 'Expires'), '1800', 'Min-Expires kept');
    assert.equal(header(refresh, 'CSeq'), '3 SUBSCRIBE');
  } finally {
    await h.close();
  }
});

test('423 whose Min-Expires is not above what we asked is an ordinary error', async () => {
  const h = await startHarness();
  try {
    h.subscribe();
    const first = await expectSubscribe(h.peer);
    await h.peer.reply(first, 423, { headers: [['Min-Expires', '60']] });
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'terminated');
    assert.equal(status.error?.code, 'B2B_ERR_SUBSCRIBE_FAILED');
    await expectNothing(h);
  } finally {
    await h.close();
  }
});
