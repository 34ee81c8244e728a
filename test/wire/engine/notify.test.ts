/**
 * NOTIFY handling on the wire (docs/ser-presence-b2b.md §2.5, §6 items 10–18, 32): our answers
 * (200/481/500/489, status line and copied headers), Subscription-State
 * reasons (RFC 6665 §4.1.3) and what reaches the queue (PIDF, RFC 3863).
 */
import { presenceOf } from '../../../src/presence/index.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRequest, parseSipMessage } from '../../../src/sip/codec/index.js';
import type { SipRequest, SipResponse } from '../../../src/sip/codec/message.js';
import type { IncomingRequest } from '../../../src/sip/transaction/types.js';
import type { ReceivedRequest, ReceivedResponse } from '../../support/scripted-peer.js';
import { buildNotify } from '../../support/sip-fixtures.js';
import {
  SUBSCRIBER,
  advanceUntilSubscribe,
  assertNoLeaks,
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
  type Harness,
} from './harness.js';

/** The exact answer we must send to `notify`: its Via/From/To/Call-ID/CSeq copied, then Server and Content-Length. */
function expectedAnswer(sent: ReceivedResponse, status: string, extra: string[] = []): string {
  // The copied fields are checked against the NOTIFY by assertCopied(); here: their order and the rest.
  const lines = [`SIP/2.0 ${status}`];
  for (const name of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) lines.push(`${name}: ${header(sent, name)}`);
  lines.push(...extra, 'Server: presence-b2b-test/1', 'Content-Length: 0');
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Checks the copied fields of an answer against the NOTIFY as sent. */
function assertCopied(answer: ReceivedResponse, notifyBytes: Buffer): void {
  const sent = parseSipMessage(notifyBytes) as SipRequest;
  for (const name of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) {
    assert.equal(header(answer, name), sent.headers.get(name), `${name} copied`);
  }
}

async function notifyRaw(h: Harness, subscribe: ReceivedRequest, options: Parameters<typeof notify>[2]): Promise<{ bytes: Buffer; answer: ReceivedResponse }> {
  const { serverTag, ...rest } = options;
  const bytes = await h.peer.sendNotify({ address: '127.0.0.1', port: h.ourPort }, { ...h.peer.notifyOptionsFor(subscribe, serverTag ?? 'srv1'), ...rest });
  const answer = await h.peer.expectResponse({ method: 'NOTIFY' });
  return { bytes, answer };
}

test('200 to an in-dialog NOTIFY: exact octets (status line, Via/From/To/Call-ID/CSeq copied, no new To-tag)', async () => {
  const h = await startHarness();
  try {
    const { subscribe } = await establish(h);
    const { bytes, answer } = await notifyRaw(h, subscribe, { cseq: 2 });
    assertCopied(answer, bytes);
    assert.equal(text(answer), expectedAnswer(answer, '200 OK'));
    assert.equal(header(answer, 'To'), `<${SUBSCRIBER}>;tag=${fromTagOf(subscribe)}`);
    assert.equal(header(answer, 'CSeq'), '2 NOTIFY');
    assert.equal(answer.from.port, h.ourPort, 'answered from our listening socket');
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'active');
    assert.equal(status.subscriber, SUBSCRIBER);
    assert.equal(status.record, h.record());
  } finally {
    await h.close();
  }
});

test('NOTIFY with a lower CSeq → 500 and nothing queued (RFC 3261 §12.2.2); the same CSeq again is accepted', async () => {
  const h = await startHarness();
  try {
    const { subscribe } = await establish(h);
    assert.equal((await notify(h, subscribe, { cseq: 5 })).message.status, 200);
    await takeMessage(h.queue);
    const { bytes, answer } = await notifyRaw(h, subscribe, { cseq: 3, subscriptionState: 'terminated;reason=noresource' });
    assertCopied(answer, bytes);
    assert.equal(text(answer), expectedAnswer(answer, '500 Out of order CSeq'));
    await assertQueueEmpty(h);
    assert.equal(h.b2b.engine.size, 1, 'the subscription is untouched');
    assert.equal((await notify(h, subscribe, { cseq: 6 })).message.status, 200);
    await takeMessage(h.queue);
  } finally {
    await h.close();
  }
});

test('NOTIFY for another event package → 489 Bad Event with Allow-Events: presence, nothing queued', async () => {
  const h = await startHarness();
  try {
    const { subscribe } = await establish(h);
    const { bytes, answer } = await notifyRaw(h, subscribe, { cseq: 2, event: 'dialog' });
    assertCopied(answer, bytes);
    assert.equal(text(answer), expectedAnswer(answer, '489 Bad Event', ['Allow-Events: presence']));
    await assertQueueEmpty(h);
    // The CSeq of the refused NOTIFY was not taken: the next one with the same number is fine.
    assert.equal((await notify(h, subscribe, { cseq: 2 })).message.status, 200);
    await takeMessage(h.queue);
  } finally {
    await h.close();
  }
});

test('NOTIFY from a second fork (other From-tag) → 481; the first dialog is kept', async () => {
  const h = await startHarness();
  try {
    const { handle, subscribe } = await establish(h);
    const { bytes, answer } = await notifyRaw(h, subscribe, { cseq: 1, serverTag: 'fork2' });
    assertCopied(answer, bytes);
    assert.equal(text(answer), expectedAnswer(answer, '481 Subscription does not exist'));
    await assertQueueEmpty(h);
    assert.equal(stateOf(h, handle), 'active');
    assert.equal((await notify(h, subscribe, { cseq: 2, serverTag: 'srv1' })).message.status, 200);
    await takeMessage(h.queue);
  } finally {
    await h.close();
  }
});

test('NOTIFY matching no subscription → 481, and handleNotify() returns -1 without answering', async () => {
  const h = await startHarness();
  try {
    const bytes = await h.peer.sendNotify({ address: '127.0.0.1', port: h.ourPort }, { toTag: 'nobody', callId: 'unknown@example.com', requestUri: `sip:b2b@127.0.0.1:${h.ourPort}` });
    const answer = await h.peer.expectResponse({ method: 'NOTIFY' });
    assertCopied(answer, bytes);
    assert.equal(answer.message.status, 481);
    const replies: number[] = [];
    const incoming: IncomingRequest = {
      request: parseSipMessage(bytes) as SipRequest,
      source: { transport: 'udp', remoteAddress: '127.0.0.1', remotePort: h.peer.address.port, localAddress: '127.0.0.1', localPort: h.ourPort },
      respond: (response: SipResponse) => replies.push(response.status),
      reply: (status: number) => replies.push(status),
    };
    assert.equal(h.b2b.handleNotify(incoming), -1);
    assert.deepEqual(replies, []);
    // A NOTIFY without a To-tag is not ours either.
    const noTag = createRequest({ method: 'NOTIFY', uri: 'sip:b2b@127.0.0.1', headers: [['To', '<sip:b@x>'], ['From', '<sip:a@y>;tag=1'], ['Call-ID', 'c'], ['CSeq', '1 NOTIFY']] });
    assert.equal(h.b2b.handleNotify({ ...incoming, request: noTag }), -1);
    await assertQueueEmpty(h);
  } finally {
    await h.close();
  }
});

test('terminated;reason=deactivated: status forwarded, dialog dropped, a new SUBSCRIBE (new Call-ID) within 3 s', async () => {
  const h = await startHarness();
  try {
    const { handle, subscribe } = await establish(h);
    h.clock.advance(100_000);
    assert.equal((await notify(h, subscribe, { cseq: 2, subscriptionState: 'terminated;reason=deactivated', body: '' })).message.status, 200);
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'terminated');
    assert.equal(status.reason, 'deactivated');
    assert.equal(stateOf(h, handle), 'waiting');
    const delay = advanceUntilSubscribe(h, 5000, 10);
    assert.ok(delay !== undefined && delay >= 500 && delay <= 1000, `re-SUBSCRIBE after ${delay} ms`);
    const fresh = await expectSubscribe(h.peer);
    assert.notEqual(callIdOf(fresh), callIdOf(subscribe));
    // The old dialog no longer matches.
    assert.equal((await notify(h, subscribe, { cseq: 3 })).message.status, 481);
  } finally {
    await h.close();
  }
});

test('terminated;reason=deactivated right after the SUBSCRIBE: still never faster than one SUBSCRIBE per 2 s', async () => {
  const h = await startHarness();
  try {
    const { subscribe } = await establish(h);
    await notify(h, subscribe, { cseq: 2, subscriptionState: 'terminated;reason=deactivated', body: '' });
    await takeMessage(h.queue);
    const delay = advanceUntilSubscribe(h, 5000, 10);
    assert.ok(delay !== undefined && delay >= 2000 && delay <= 3000, `re-SUBSCRIBE after ${delay} ms`);
  } finally {
    await h.close();
  }
});

test('terminated;reason=rejected → `rejected`, final: no retryAfter, never retried (RFC 6665 §4.1.3)', async () => {
  const h = await startHarness();
  try {
    const { handle, subscribe } = await establish(h);
    await notify(h, subscribe, { cseq: 2, subscriptionState: 'terminated;reason=rejected', body: '' });
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'rejected');
    assert.equal(status.reason, 'rejected');
    assert.equal(status.retryAfter, undefined);
    assert.equal(stateOf(h, handle), 'final');
    h.clock.advance(24 * 3_600_000);
    await expectNothing(h);
    await assertQueueEmpty(h);
  } finally {
    await h.close();
  }
});

test('terminated;reason=probation;retry-after=50 → new SUBSCRIBE after exactly 50 s', async () => {
  const h = await startHarness();
  try {
    const { subscribe } = await establish(h);
    await notify(h, subscribe, { cseq: 2, subscriptionState: 'terminated;reason=probation;retry-after=50', body: '' });
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'terminated');
    assert.equal(status.reason, 'probation');
    assert.equal(status.retryAfter, 50);
    h.clock.advance(49_999);
    assert.equal(h.b2b.engine.stats.subscribesSent, 1);
    h.clock.advance(1);
    assert.equal(h.b2b.engine.stats.subscribesSent, 2);
    await expectSubscribe(h.peer);
  } finally {
    await h.close();
  }
});

test('terminated;reason=noresource (or invariant) is final, whatever its retry-after', async () => {
  for (const reason of ['noresource', 'invariant']) {
    const h = await startHarness();
    try {
      const { handle, subscribe } = await establish(h);
      await notify(h, subscribe, { cseq: 2, subscriptionState: `terminated;reason=${reason};retry-after=10`, body: '' });
      const status = await takeMessage(h.queue);
      assert.equal(status.state, 'terminated');
      assert.equal(status.reason, reason);
      assert.equal(status.retryAfter, undefined);
      assert.equal(stateOf(h, handle), 'final');
      assert.equal(advanceUntilSubscribe(h, 24 * 3_600_000, 60_000), undefined);
      await expectNothing(h);
    } finally {
      await h.close();
    }
  }
});

test('PIDF: basic open is parsed; `<basic>?</basic>` gives error + raw body; an empty body is state only; pending gives pending; a missing Subscription-State is refused (400)', async () => {
  const h = await startHarness();
  try {
    const { subscribe, first } = await establish(h);
    assert.equal(presenceOf(first)?.tuples[0]?.basic, 'open');
    assert.equal(first.contentType, 'application/pidf+xml');
    assert.equal(first.error, undefined);
    assert.ok(first.body !== undefined && Buffer.from(first.body).toString().includes('<basic>open</basic>'));

    const bad = '<?xml version="1.0"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="t"><status><basic>?</basic></status></tuple></presence>';
    assert.equal((await notify(h, subscribe, { cseq: 2, body: bad })).message.status, 200);
    const invalid = await takeMessage(h.queue);
    assert.equal(invalid.state, 'active');
    assert.ok(invalid.error !== undefined, 'error set');
    assert.equal(invalid.error.code, 'PIDF_ERR_INVALID');
    assert.equal(Buffer.from(invalid.body ?? new Uint8Array()).toString(), bad, 'raw body kept');

    assert.equal((await notify(h, subscribe, { cseq: 3, body: '', subscriptionState: 'pending;expires=600' })).message.status, 200);
    const empty = await takeMessage(h.queue);
    assert.equal(empty.state, 'pending');
    assert.equal(presenceOf(empty), undefined);
    assert.equal(empty.body, undefined);
    assert.equal(empty.error, undefined);
    assert.equal(empty.contentType, undefined);

    const withState = buildNotify({
      ...h.peer.notifyOptionsFor(subscribe, 'srv1'),
      viaHost: `127.0.0.1:${h.peer.address.port}`,
      branch: 'z9hG4bK-nostate',
      contact: `<${h.peer.uri('ps')}>`,
      cseq: 4,
      body: '',
    }).toString();
    const noState = withState.replace(/Subscription-State: [^\r]*\r\n/, '');
    assert.notEqual(noState, withState);
    await h.peer.sendRaw(noState, { address: '127.0.0.1', port: h.ourPort });
    const refused = await h.peer.expectResponse({ method: 'NOTIFY' });
    assert.equal(refused.message.status, 400, 'RFC 6665 §4.1.3: a NOTIFY carries Subscription-State');
    assert.equal(refused.message.reason, 'Missing Subscription-State');
    await assertQueueEmpty(h);

    const notPidf = await notify(h, subscribe, { cseq: 5, body: '<x/>', contentType: 'application/xpidf+xml' });
    assert.equal(notPidf.message.status, 200);
    const other = await takeMessage(h.queue);
    assert.equal(other.error?.code, 'PIDF_ERR_CONTENT_TYPE');
    assert.equal(other.contentType, 'application/xpidf+xml');
  } finally {
    await h.close();
  }
});

test('a NOTIFY for a destroyed subscription → 481 Subscription does not exist', async () => {
  const h = await startHarness();
  try {
    const { handle, subscribe } = await establish(h);
    h.b2b.qsa.unsubscribe(handle);
    const unsub = await expectSubscribe(h.peer);
    assert.equal(header(unsub, 'Expires'), '0');
    await h.peer.reply(unsub, 200, { headers: [['Expires', '0']] });
    assert.equal((await notify(h, subscribe, { cseq: 2, subscriptionState: 'terminated;reason=timeout', body: '' })).message.status, 200);
    assert.equal(h.b2b.engine.size, 0);
    const { bytes, answer } = await notifyRaw(h, subscribe, { cseq: 3, subscriptionState: 'terminated', body: '' });
    assertCopied(answer, bytes);
    assert.equal(text(answer), expectedAnswer(answer, '481 Subscription does not exist'));
    await assertQueueEmpty(h);
    assertNoLeaks(h);
  } finally {
    await h.close();
  }
});

test('a retransmitted NOTIFY (same branch) is answered again by the transaction and queued once', async () => {
  const h = await startHarness();
  try {
    const { subscribe } = await establish(h);
    const { bytes, answer } = await notifyRaw(h, subscribe, { cseq: 2, subscriptionState: 'active;expires=500' });
    assert.equal(answer.message.status, 200);
    await h.peer.sendRaw(bytes, { address: '127.0.0.1', port: h.ourPort });
    const again = await h.peer.expectResponse({ method: 'NOTIFY' });
    assert.equal(text(again), text(answer), 'the same 200, octet for octet');
    assert.equal((await takeMessage(h.queue)).expires, 500);
    await assertQueueEmpty(h);
    assert.equal(h.b2b.engine.stats.notifiesAccepted, 2, 'the first NOTIFY and this one, not its copy');
  } finally {
    await h.close();
  }
});
