/**
 * The local agent taking a non-publishing presentity's state from its own
 * user agent (local_agent.user_agents): a fake notifier stands in for the
 * B2BUA at QSA priority 0 and plays the UA's NOTIFYs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QsaNotifier, QsaSubscription, StatusMessage, StatusQueue } from '../../../src/qsa/index.js';
import { flushMicrotasks } from '../../support/fake-transport.js';
import { agentHarness, bodyText, pidf, tagOf } from './agent-harness.js';

function fakeB2bua(h: ReturnType<typeof agentHarness>) {
  const held: QsaSubscription[] = [];
  const notifier: QsaNotifier = {
    subscribe: (sub) => {
      held.push(sub);
    },
    unsubscribe: () => undefined,
  };
  h.broker.registerNotifier('presence', notifier, { name: 'fake-b2bua' });
  return {
    held,
    say(sub: QsaSubscription, basic: 'open' | 'closed', entity: string) {
      const body = new Uint8Array(Buffer.from(pidf(entity, 'ua', basic)));
      h.broker.notify(sub, { state: 'active', contentType: 'application/pidf+xml', body });
    },
  };
}

function drain(queue: StatusQueue): StatusMessage[] {
  const out: StatusMessage[] = [];
  for (let m = queue.poll(); m !== undefined; m = queue.poll()) out.push(m);
  return out;
}

const basicOf = (m: StatusMessage | undefined) => (m?.body === undefined ? '-' : /<basic>(\w+)<\/basic>/.exec(Buffer.from(m.body).toString())?.[1]);

test('an internal watcher: the UA is subscribed to while watched, its state used unless a publication exists, and unsubscribed with the last watcher', async () => {
  const h = agentHarness({ userAgents: { 'sip:alice@example.com': { record: 'sip:alice@192.0.2.50:5060' } } });
  const b2bua = fakeB2bua(h);
  assert.equal(h.agent.userAgentSubscription('sip:alice@example.com'), undefined);

  const queue = h.broker.createQueue();
  const watch = h.broker.subscribe({ record: 'sip:alice@example.com', subscriber: 'sip:bob@example.com', queue });
  assert.equal(watch.notifierName, 'local-presence-agent');
  assert.equal(b2bua.held.length, 1, 'one subscription to the UA, answered by the B2BUA');
  const upstream = b2bua.held[0]!;
  assert.equal(upstream.record, 'sip:alice@192.0.2.50:5060');
  assert.equal(upstream.subscriber, 'sip:alice@example.com', 'the presentity watches its own UA by default');
  assert.equal(h.agent.userAgentSubscription('sip:alice@example.com')?.id, upstream.id);
  assert.deepEqual(drain(queue).map(basicOf), ['-'], 'nothing known yet');

  b2bua.say(upstream, 'open', 'sip:alice@192.0.2.50');
  await flushMicrotasks(10);
  assert.deepEqual(drain(queue).map(basicOf), ['open'], 'the UA’s state, as it sent it');
  assert.equal(h.agent.presenceOf('sip:alice@example.com')?.tuples[0]?.basic, 'open');

  // A publication wins over the UA's state; without it the UA's state is back.
  h.agent.publish('sip:alice@example.com', { basic: 'closed' });
  b2bua.say(upstream, 'open', 'sip:alice@192.0.2.50');
  await flushMicrotasks(10);
  assert.deepEqual(drain(queue).map(basicOf), ['closed', 'closed']);
  h.agent.unpublish('sip:alice@example.com');
  assert.deepEqual(drain(queue).map(basicOf), ['open']);

  // The UA's subscription ending says nothing about alice any more.
  h.broker.notify(upstream, { state: 'terminated', reason: 'timeout' });
  await flushMicrotasks(10);
  assert.deepEqual(drain(queue).map(basicOf), ['-']);

  // A second watcher shares the one subscription; the last one leaving ends it.
  const second = h.broker.subscribe({ record: 'sip:alice@example.com', subscriber: 'sip:carol@example.com', queue });
  assert.equal(b2bua.held.length, 1);
  h.broker.unsubscribe(watch);
  assert.equal(upstream.active, true);
  h.broker.unsubscribe(second);
  assert.equal(upstream.active, false, 'unsubscribed with the last watcher');
  assert.equal(h.agent.userAgentSubscription('sip:alice@example.com'), undefined);
  assert.equal(h.broker.size, 0);
  assert.deepEqual(h.agent.presentities(), []);
  h.agent.stop();
});

test('a SIP watcher of a via-proxy presentity: the subscription to its own URI goes to the B2BUA, never to the agent', async () => {
  const h = agentHarness({ userAgents: { 'sip:carol@example.com': { record: 'sip:carol@example.com', subscriber: 'sip:pa@example.com' } } });
  const b2bua = fakeB2bua(h);
  const { response, notify } = await h.subscribe({ uri: 'sip:carol@example.com' });
  assert.equal(notify.body.length, 0, 'nothing known at first: state only');
  await h.answer(notify);
  assert.equal(b2bua.held.length, 1);
  const upstream = b2bua.held[0]!;
  assert.equal(upstream.record, 'sip:carol@example.com');
  assert.equal(upstream.subscriber, 'sip:pa@example.com');
  assert.equal(h.agent.watchers().filter((w) => w.kind === 'qsa').length, 0, 'the agent does not answer its own subscription');

  const mark = h.transport.sent.length;
  b2bua.say(upstream, 'open', 'sip:carol@example.com');
  const [change] = await h.notifiesSince(mark);
  assert.ok(change);
  assert.match(bodyText(change), /<basic>open<\/basic>/);
  await h.answer(change);

  // The SIP watcher unsubscribes: the subscription to the UA ends.
  const toTag = tagOf(response.headers.get('To'));
  assert.ok(toTag);
  const bye = h.send('SUBSCRIBE', {
    uri: 'sip:carol@example.com',
    toTag,
    callId: response.headers.get('Call-ID'),
    cseq: 2,
    headers: [['Event', 'presence'], ['Contact', '<sip:watcher@192.0.2.10:5060>'], ['Expires', '0']],
  });
  assert.equal(bye.status, 200);
  assert.equal(upstream.active, false);
  assert.equal(h.broker.size, 0);
  h.agent.stop();
});

test('stop() ends the subscriptions to user agents; a source outside the served domains is refused', () => {
  const h = agentHarness({ userAgents: { 'sip:alice@example.com': { record: 'sip:alice@192.0.2.50' } } });
  const b2bua = fakeB2bua(h);
  h.broker.subscribe({ record: 'sip:alice@example.com', subscriber: 'sip:bob@example.com', queue: h.broker.createQueue() });
  assert.equal(b2bua.held[0]?.active, true);
  h.agent.stop();
  assert.equal(b2bua.held[0]?.active, false);
  assert.throws(() => agentHarness({ userAgents: { 'sip:alice@elsewhere.org': { record: 'sip:alice@192.0.2.50' } } }), { code: 'AGENT_ERR_NOT_LOCAL' });
});
