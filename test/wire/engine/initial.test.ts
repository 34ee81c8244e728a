/**
 * The initial SUBSCRIBE on the wire (docs/ser-presence-b2b.md §2.2, §6 items 2–10), NOTIFY before
 * the 2xx (RFC 6665 §4.1.2.4), the start delay and handle_presence_subscriptions.
 */
import { presenceOf } from '../../../src/presence/index.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScriptedSipPeer } from '../../support/scripted-peer.js';
import {
  SIXTY_FOUR_T1,
  SUBSCRIBER,
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
  text,
  waitForState,
} from './harness.js';

test('initial SUBSCRIBE: exact octets (R-URI = To = record, From = subscriber + tag, Route = presence_route, one Content-Length: 0)', async () => {
  const proxy = await ScriptedSipPeer.start();
  const h = await startHarness({
    additionalPresenceHeaders: 'X-Watcher-Info: b2b\r\nP-Preferred-Identity: <sip:bob@example.com>\r\n',
    presenceRoute: `<sip:127.0.0.1:${proxy.address.port};lr>`,
  });
  try {
    const record = h.record();
    h.subscribe(record);
    const sub = await expectSubscribe(proxy);
    assert.equal(sub.from.port, h.ourPort, 'sent from our listening socket');
    const wire = text(sub);
    const branch = /;branch=(z9hG4bK[0-9a-z]+);rport\r\n/.exec(wire)?.[1];
    assert.ok(branch !== undefined, `Via branch in ${wire}`);
    const tag = fromTagOf(sub);
    assert.match(tag ?? '', /^[0-9a-z]{8,}$/, 'From-tag of at least 32 random bits (RFC 3261 §19.3)');
    const callId = callIdOf(sub);
    assert.match(callId, /^[0-9a-z]{16,}@presence-b2b$/);
    const expected =
      `SUBSCRIBE ${record} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:${h.ourPort};branch=${branch};rport\r\n` +
      `Route: <sip:127.0.0.1:${proxy.address.port};lr>\r\n` +
      `From: <${SUBSCRIBER}>;tag=${tag}\r\n` +
      `To: <${record}>\r\n` +
      `Call-ID: ${callId}\r\n` +
      'CSeq: 1 SUBSCRIBE\r\n' +
      'Max-Forwards: 70\r\n' +
      'Event: presence\r\n' +
      'Accept: application/pidf+xml\r\n' +
      'Expires: 600\r\n' +
      `Contact: <sip:b2b@127.0.0.1:${h.ourPort}>\r\n` +
      'X-Watcher-Info: b2b\r\n' +
      'P-Preferred-Identity: <sip:bob@example.com>\r\n' +
      'User-Agent: presence-b2b-test/1\r\n' +
      'Content-Length: 0\r\n' +
      '\r\n';
    assert.equal(wire, expected);
    assert.equal(stateOf(h, [...h.b2b.qsa.subscriptions()][0]!), 'subscribing');

    // The 2xx (no Record-Route) replaces the preloaded route: the refresh goes
    // straight to the Contact, without Route (docs/ser-presence-b2b.md §2.2, §6 item 6).
    await proxy.reply(sub, 200, { toTag: 'srv1', headers: [['Expires', '600'], ['Contact', `<${h.peer.uri('ps')}>`]] });
    await h.peer.sendNotify({ address: '127.0.0.1', port: h.ourPort }, { ...h.peer.notifyOptionsFor(sub, 'srv1'), cseq: 1 });
    assert.equal((await h.peer.expectResponse({ method: 'NOTIFY' })).message.status, 200);
    await takeMessage(h.queue);
    h.clock.advance(570_000);
    const refresh = await expectSubscribe(h.peer);
    assert.equal(refresh.message.uri, h.peer.uri('ps'));
    assert.equal(header(refresh, 'Route'), undefined, 'presence_route only on the initial SUBSCRIBE');
    assert.equal(header(refresh, 'CSeq'), '2 SUBSCRIBE');
    assert.equal(header(refresh, 'X-Watcher-Info'), 'b2b', 'additional headers on refreshes too');
    await expectNothing(h, proxy);
  } finally {
    await h.close();
    await proxy.close();
  }
});

test('initial SUBSCRIBE goes to the record itself when there is no route or proxy', async () => {
  const h = await startHarness();
  try {
    h.subscribe(h.record('carol'));
    const sub = await expectSubscribe(h.peer);
    assert.equal(sub.message.uri, h.record('carol'));
    assert.equal(header(sub, 'To'), `<${h.record('carol')}>`);
    assert.equal(header(sub, 'Route'), undefined);
    assert.equal(header(sub, 'Expires'), '600');
  } finally {
    await h.close();
  }
});

test('a NOTIFY before the 2xx creates the dialog and is delivered; the later 2xx confirms it (RFC 6665 §4.1.2.4)', async () => {
  const h = await startHarness();
  try {
    const handle = h.subscribe();
    const sub = await expectSubscribe(h.peer);
    const rr = `<sip:127.0.0.1:${h.peer.address.port};lr;n=notify>`;
    const ok = await notify(h, sub, { cseq: 1, headers: [['Record-Route', rr]] });
    assert.equal(ok.message.status, 200);
    assert.equal(header(ok, 'To'), `<${SUBSCRIBER}>;tag=${fromTagOf(sub)}`, 'our tag, no new one');
    assert.equal(header(ok, 'Record-Route'), rr, 'a 2xx to a dialog-creating NOTIFY echoes Record-Route (RFC 3261 §12.1.1)');
    const status = await takeMessage(h.queue);
    assert.equal(status.state, 'active');
    assert.equal(presenceOf(status)?.tuples[0]?.basic, 'open');
    assert.equal(stateOf(h, handle), 'subscribing', 'still waiting for the answer to the SUBSCRIBE');
    assert.equal(h.b2b.engine.dialogOf(handle.id)?.remoteTag, 'srv1');

    await h.peer.reply(sub, 200, { toTag: 'srv1', headers: [['Expires', '600'], ['Contact', `<${h.peer.uri('ps2')}>`]] });
    assert.ok(await waitForState(h, handle, 'active'));
    // The NOTIFY already came: no Timer N failure.
    h.clock.advance(SIXTY_FOUR_T1);
    await assertQueueEmpty(h);
    h.clock.advance(570_000 - SIXTY_FOUR_T1);
    const refresh = await expectSubscribe(h.peer);
    assert.equal(refresh.message.uri, h.peer.uri('ps2'), 'target refreshed by the 2xx Contact');
    assert.equal(header(refresh, 'To'), `<${h.record()}>;tag=srv1`);
    assert.equal(header(refresh, 'Route'), rr, 'route set from the NOTIFY Record-Route, in order');
    assert.equal(callIdOf(refresh), callIdOf(sub));
    assert.equal(header(refresh, 'CSeq'), '2 SUBSCRIBE');
  } finally {
    await h.close();
  }
});

test('max_subscribe_delay: the first SUBSCRIBE goes out after a whole number of seconds in 1..N', async () => {
  for (const seed of [1, 7]) {
    const h = await startHarness({ maxSubscribeDelay: 5 }, seed);
    try {
      h.subscribe();
      assert.equal(h.b2b.engine.stats.subscribesSent, 0, 'nothing at once');
      const delay = advanceUntilSubscribe(h, 5000, 1);
      assert.ok(delay !== undefined && delay >= 1000 && delay <= 5000, `delay ${delay} ms in 1..5 s`);
      assert.equal(delay % 1000, 0, 'whole seconds');
      const sub = await expectSubscribe(h.peer);
      assert.equal(header(sub, 'CSeq'), '1 SUBSCRIBE');
    } finally {
      await h.close();
    }
  }
});

test('handle_presence_subscriptions=false: nothing is sent and no dialog is made', async () => {
  const h = await startHarness({ handlePresenceSubscriptions: false });
  try {
    const handle = h.subscribe();
    assert.equal(handle.notifierName, undefined, 'no notifier answers');
    assert.equal(h.b2b.engine.size, 0);
    await expectNothing(h);
    await assertQueueEmpty(h);
    h.b2b.qsa.unsubscribe(handle);
    assertNoLeaks(h);
  } finally {
    await h.close();
  }
});

test('a 2xx with Expires larger than asked: we keep what we asked for', async () => {
  const h = await startHarness();
  try {
    h.subscribe();
    const sub = await expectSubscribe(h.peer);
    await accept(h.peer, sub, { expires: 7200 });
    await notify(h, sub, { cseq: 1 });
    await takeMessage(h.queue);
    assert.equal(advanceUntilSubscribe(h, 600_000, 1000), 570_000, 'refresh at min(600, 7200) − 30 s');
  } finally {
    await h.close();
  }
});

