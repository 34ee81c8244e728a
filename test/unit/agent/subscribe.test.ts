import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentHarness, bodyText, PIDF_CLOSED, PIDF_OPEN, tagOf } from './agent-harness.js';

test('SUBSCRIBE: 200 with Expires, Contact, To-tag and Record-Route, then a NOTIFY with the PIDF (RFC 6665 §4.2.1)', async () => {
  const { send, subscribe, agent } = agentHarness();
  send('PUBLISH', { headers: [['Event', 'presence'], ['Expires', '600']], body: PIDF_OPEN });
  const { response, notify } = await subscribe({
    callId: 'sub-1@192.0.2.10',
    fromTag: 'watch1',
    headers: [
      ['Record-Route', '<sip:192.0.2.1;lr>'],
      ['Record-Route', '<sip:192.0.2.2;lr>'],
      ['Event', 'presence;id=42'],
      ['Accept', 'application/pidf+xml'],
    ],
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('expires'), '600');
  assert.equal(response.headers.get('contact'), '<sip:alice@127.0.0.1:5060>');
  const toTag = tagOf(response.headers.get('to'));
  assert.ok(toTag);
  assert.deepEqual(response.headers.getAll('record-route'), ['<sip:192.0.2.1;lr>', '<sip:192.0.2.2;lr>']);

  assert.equal(notify.uri, 'sip:watcher@192.0.2.10:5060');
  assert.deepEqual(notify.headers.values('route'), ['<sip:192.0.2.1;lr>', '<sip:192.0.2.2;lr>']);
  assert.equal(tagOf(notify.headers.get('from')), toTag);
  assert.equal(tagOf(notify.headers.get('to')), 'watch1');
  assert.equal(notify.headers.get('call-id'), 'sub-1@192.0.2.10');
  assert.equal(notify.headers.get('cseq'), '1 NOTIFY');
  assert.equal(notify.headers.get('event'), 'presence;id=42');
  assert.equal(notify.headers.get('subscription-state'), 'active;expires=600');
  assert.equal(notify.headers.get('content-type'), 'application/pidf+xml');
  assert.equal(notify.headers.get('contact'), '<sip:alice@127.0.0.1:5060>');
  assert.equal(bodyText(notify), PIDF_OPEN);

  const [watcher] = agent.watchers();
  assert.equal(watcher?.kind, 'sip');
  assert.equal(agent.presentities()[0]!.watchers, 1);
});

test('SUBSCRIBE to a presentity without publication: NOTIFY without body (state only, like Kamailio)', async () => {
  const { subscribe } = agentHarness();
  const { notify } = await subscribe();
  assert.equal(notify.body.length, 0);
  assert.equal(notify.headers.has('content-type'), false);
  assert.equal(notify.headers.get('subscription-state'), 'active;expires=600');
});

test('emptyPresentityBody "closed": a closed document instead', async () => {
  const { subscribe } = agentHarness({ emptyPresentityBody: 'closed' });
  const { notify } = await subscribe();
  assert.match(bodyText(notify), /<basic>closed<\/basic>/);
  assert.equal(notify.headers.get('content-type'), 'application/pidf+xml');
});

test('in-dialog refresh: 200 and a NOTIFY with the next CSeq; Expires is capped at maxSubscribeExpires', async () => {
  const { send, subscribe, answer, notifiesSince, transport } = agentHarness({ maxSubscribeExpires: 1200 });
  const { response, notify } = await subscribe({ callId: 'r1', fromTag: 'w1' });
  await answer(notify);
  const toTag = tagOf(response.headers.get('to'))!;
  const mark = transport.sent.length;
  const refresh = send('SUBSCRIBE', {
    callId: 'r1',
    fromTag: 'w1',
    toTag,
    cseq: 2,
    headers: [['Event', 'presence'], ['Expires', '7200'], ['Contact', '<sip:watcher@192.0.2.11:5062>']],
  });
  assert.equal(refresh.status, 200);
  assert.equal(refresh.headers.get('expires'), '1200');
  assert.equal(tagOf(refresh.headers.get('to')), toTag);
  const [second] = await notifiesSince(mark);
  assert.equal(second!.headers.get('cseq'), '2 NOTIFY');
  assert.equal(second!.headers.get('subscription-state'), 'active;expires=1200');
  // SUBSCRIBE is a target refresh (RFC 6665 §3.1).
  assert.equal(second!.uri, 'sip:watcher@192.0.2.11:5062');
});

test('unsubscribe (Expires: 0): 200 and NOTIFY terminated;reason=timeout with the state; the dialog is gone (481)', async () => {
  const { send, subscribe, answer, notifiesSince, transport, agent } = agentHarness();
  send('PUBLISH', { headers: [['Event', 'presence'], ['Expires', '600']], body: PIDF_OPEN });
  const { response, notify } = await subscribe({ callId: 'u1', fromTag: 'w1' });
  await answer(notify);
  const toTag = tagOf(response.headers.get('to'))!;
  const mark = transport.sent.length;
  const bye = send('SUBSCRIBE', { callId: 'u1', fromTag: 'w1', toTag, cseq: 2, headers: [['Event', 'presence'], ['Expires', '0']] });
  assert.equal(bye.status, 200);
  assert.equal(bye.headers.get('expires'), '0');
  const [last] = await notifiesSince(mark);
  assert.equal(last!.headers.get('subscription-state'), 'terminated;reason=timeout');
  assert.equal(bodyText(last!), PIDF_OPEN);
  assert.deepEqual(agent.watchers(), []);
  const again = send('SUBSCRIBE', { callId: 'u1', fromTag: 'w1', toTag, cseq: 3, headers: [['Event', 'presence'], ['Expires', '600']] });
  assert.equal(again.status, 481);
});

test('a fetch (initial SUBSCRIBE with Expires: 0) gets 200 and one terminated NOTIFY with the state', async () => {
  const { send, notifiesSince, transport, agent } = agentHarness();
  send('PUBLISH', { headers: [['Event', 'presence'], ['Expires', '600']], body: PIDF_OPEN });
  const mark = transport.sent.length;
  const response = send('SUBSCRIBE', { headers: [['Event', 'presence'], ['Contact', '<sip:w@192.0.2.10>'], ['Expires', '0']] });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('expires'), '0');
  const [notify] = await notifiesSince(mark);
  assert.equal(notify!.headers.get('subscription-state'), 'terminated;reason=timeout');
  assert.equal(bodyText(notify!), PIDF_OPEN);
  assert.deepEqual(agent.watchers(), []);
});

test('every change reaches every watcher of the presentity, and only those', async () => {
  const { send, subscribe, answer, notifiesSince, transport } = agentHarness();
  const one = await subscribe({ callId: 'w-a', fromTag: 'a' });
  const two = await subscribe({ callId: 'w-b', fromTag: 'b' });
  const other = await subscribe({ uri: 'sip:bob@example.com', callId: 'w-c', fromTag: 'c' });
  for (const n of [one.notify, two.notify, other.notify]) await answer(n);
  const mark = transport.sent.length;
  send('PUBLISH', { headers: [['Event', 'presence'], ['Expires', '600']], body: PIDF_CLOSED });
  const notifies = await notifiesSince(mark);
  assert.deepEqual(notifies.map((n) => n.headers.get('call-id')).sort(), ['w-a', 'w-b']);
  for (const n of notifies) {
    assert.equal(n.headers.get('cseq'), '2 NOTIFY');
    assert.equal(bodyText(n), PIDF_CLOSED);
  }
});

test('changes while a NOTIFY is unanswered are coalesced into one NOTIFY with the latest state (RFC 6665 §4.2.2)', async () => {
  const { send, subscribe, answer, notifiesSince, transport } = agentHarness();
  const { notify } = await subscribe();
  const mark = transport.sent.length;
  const etag = send('PUBLISH', { headers: [['Event', 'presence'], ['Expires', '600']], body: PIDF_OPEN }).headers.get('sip-etag')!;
  send('PUBLISH', { headers: [['Event', 'presence'], ['Expires', '600'], ['SIP-If-Match', etag]], body: PIDF_CLOSED });
  assert.equal((await notifiesSince(mark)).length, 0);
  await answer(notify);
  const notifies = await notifiesSince(mark);
  assert.equal(notifies.length, 1);
  assert.equal(notifies[0]!.headers.get('cseq'), '2 NOTIFY');
  assert.equal(bodyText(notifies[0]!), PIDF_CLOSED);
});

test('a NOTIFY answered 481 removes the watcher (RFC 6665 §4.2.2)', async () => {
  const { subscribe, answer, agent } = agentHarness();
  const { notify } = await subscribe();
  assert.equal(agent.watchers().length, 1);
  await answer(notify, 481);
  assert.deepEqual(agent.watchers(), []);
  assert.deepEqual(agent.presentities(), []);
});

test('the subscription expires on its timer: NOTIFY terminated;reason=timeout', async () => {
  const { subscribe, answer, clock, notifiesSince, transport, agent } = agentHarness();
  const { notify } = await subscribe({ headers: [['Expires', '300']] });
  await answer(notify);
  const mark = transport.sent.length;
  clock.advance(299_999);
  assert.equal(agent.watchers().length, 1);
  clock.advance(1);
  const [last] = await notifiesSince(mark);
  assert.equal(last!.headers.get('subscription-state'), 'terminated;reason=timeout');
  assert.deepEqual(agent.watchers(), []);
  assert.equal(agent.stats.subscriptionsExpired, 1);
});

test('rejections: 403 foreign domain, 489 other event, 423 with Min-Expires, 481 unknown To-tag, 400 without Contact, 406', () => {
  const { send } = agentHarness();
  const base: Array<readonly [string, string]> = [['Contact', '<sip:w@192.0.2.10>'], ['Expires', '600']];
  const foreign = send('SUBSCRIBE', { uri: 'sip:carol@elsewhere.org', headers: [['Event', 'presence'], ...base] });
  assert.equal(foreign.status, 403);
  assert.equal(foreign.reason, 'Forbidden - domain not served');
  const event = send('SUBSCRIBE', { headers: [['Event', 'message-summary'], ...base] });
  assert.equal(event.status, 489);
  assert.equal(event.headers.get('allow-events'), 'presence');
  const brief = send('SUBSCRIBE', { headers: [['Event', 'presence'], ['Contact', '<sip:w@192.0.2.10>'], ['Expires', '10']] });
  assert.equal(brief.status, 423);
  assert.equal(brief.headers.get('min-expires'), '60');
  assert.equal(send('SUBSCRIBE', { toTag: 'nosuch', headers: [['Event', 'presence'], ...base] }).status, 481);
  assert.equal(send('SUBSCRIBE', { headers: [['Event', 'presence'], ['Expires', '600']] }).status, 400);
  assert.equal(send('SUBSCRIBE', { headers: [['Event', 'presence'], ['Accept', 'application/xpidf+xml'], ...base] }).status, 406);
});

test('stop(): watchers get terminated;reason=deactivated, later requests 503', async () => {
  const { subscribe, answer, notifiesSince, transport, agent, send } = agentHarness();
  const { notify } = await subscribe();
  await answer(notify);
  const mark = transport.sent.length;
  agent.stop();
  const [last] = await notifiesSince(mark);
  assert.equal(last!.headers.get('subscription-state'), 'terminated;reason=deactivated');
  assert.equal(send('SUBSCRIBE', { headers: [['Event', 'presence'], ['Contact', '<sip:w@192.0.2.10>']] }).status, 503);
  assert.equal(send('PUBLISH', { headers: [['Event', 'presence']], body: PIDF_OPEN }).status, 503);
});

test('an in-dialog SUBSCRIBE with a lower CSeq gets 500 (RFC 3261 §12.2.2); a wrong From tag gets 481', async () => {
  const { send, subscribe, answer } = agentHarness();
  const { response, notify } = await subscribe({ callId: 'o1', fromTag: 'w1', cseq: 5 });
  await answer(notify);
  const toTag = tagOf(response.headers.get('to'))!;
  const headers: Array<readonly [string, string]> = [['Event', 'presence'], ['Expires', '600']];
  assert.equal(send('SUBSCRIBE', { callId: 'o1', fromTag: 'w1', toTag, cseq: 4, headers }).status, 500);
  assert.equal(send('SUBSCRIBE', { callId: 'o1', fromTag: 'other', toTag, cseq: 6, headers }).status, 481);
});

test('a NOTIFY that cannot be delivered (transport error → local 503) removes the watcher', async () => {
  const { subscribe, transport, agent, send, notifiesSince, answer } = agentHarness();
  const { notify } = await subscribe();
  await answer(notify);
  transport.failSends((m) => m.kind === 'request');
  const mark = transport.sent.length;
  send('PUBLISH', { headers: [['Event', 'presence'], ['Expires', '600']], body: PIDF_OPEN });
  assert.equal((await notifiesSince(mark)).length >= 1, true);
  assert.deepEqual(agent.watchers(), []);
  assert.equal(agent.stats.notifyFailures, 1);
});
