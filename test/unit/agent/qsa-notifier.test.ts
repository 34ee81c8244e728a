import { presenceOf } from '../../../src/presence/index.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QsaSubscription } from '../../../src/qsa/index.js';
import { agentHarness, PIDF_OPEN } from './agent-harness.js';

test('an internal subscription to a local record is answered from the agent’s state: active + presence, then every change', () => {
  const { agent, broker } = agentHarness();
  agent.publish('sip:alice@example.com', { basic: 'open', note: 'here' });
  const queue = broker.createQueue();
  const handle = broker.subscribe({ record: 'sip:alice@example.com', subscriber: 'sip:rls@example.com', queue });
  assert.equal(handle.notifierName, 'local-presence-agent');
  const first = queue.poll()!;
  assert.equal(first.state, 'active');
  assert.equal(first.contentType, 'application/pidf+xml');
  assert.equal(presenceOf(first)?.tuples[0]?.basic, 'open');
  assert.equal(presenceOf(first)?.tuples[0]?.notes[0]?.text, 'here');
  assert.ok(first.body !== undefined && first.body.length > 0);

  agent.publish('sip:alice@example.com', { basic: 'closed' });
  const second = queue.poll()!;
  assert.equal(second.state, 'active');
  assert.equal(presenceOf(second)?.tuples[0]?.basic, 'closed');
  assert.deepEqual(
    agent.watchers().map((w) => w.kind),
    ['qsa'],
  );

  broker.unsubscribe(handle);
  agent.publish('sip:alice@example.com', { basic: 'open' });
  assert.equal(queue.poll(), undefined);
  assert.deepEqual(agent.watchers(), []);
});

test('an internal subscription to a record without publication gets active, state only; a SIP PUBLISH then reaches it', () => {
  const { broker, send } = agentHarness();
  const queue = broker.createQueue();
  broker.subscribe({ record: 'sip:alice@example.com', subscriber: 'sip:x@example.com', queue });
  const first = queue.poll()!;
  assert.equal(first.state, 'active');
  assert.equal(first.body, undefined);
  assert.equal(presenceOf(first), undefined);
  send('PUBLISH', { headers: [['Event', 'presence'], ['Expires', '600']], body: PIDF_OPEN });
  const second = queue.poll()!;
  assert.equal(presenceOf(second)?.tuples[0]?.id, 't1');
  assert.equal(Buffer.from(second.body!).toString('utf8'), PIDF_OPEN);
});

test('a record of another domain is not taken: it goes to the lower-priority notifier (the B2BUA), exactly one answers', () => {
  const { broker } = agentHarness();
  const taken: string[] = [];
  broker.registerNotifier(
    'presence',
    {
      subscribe: (sub: QsaSubscription) => {
        taken.push(sub.record);
      },
      unsubscribe: () => {},
    },
    { name: 'b2bua' },
  );
  const queue = broker.createQueue();
  const remote = broker.subscribe({ record: 'sip:carol@elsewhere.org', subscriber: 'sip:x@example.com', queue });
  const local = broker.subscribe({ record: 'sip:alice@EXAMPLE.com', subscriber: 'sip:x@example.com', queue });
  assert.equal(remote.notifierName, 'b2bua');
  assert.equal(local.notifierName, 'local-presence-agent');
  assert.deepEqual(taken, ['sip:carol@elsewhere.org']);
  // Only the local one produced a message (from the agent).
  assert.equal(queue.poll()?.subscriptionId, local.id);
  assert.equal(queue.poll(), undefined);
});

test('after stop() the local subscriptions are handed to the next notifier', () => {
  const { broker, agent } = agentHarness();
  const queue = broker.createQueue();
  const local = broker.subscribe({ record: 'sip:alice@example.com', subscriber: 'sip:x@example.com', queue });
  const taken: string[] = [];
  broker.registerNotifier('presence', { subscribe: (sub) => taken.push(sub.id), unsubscribe: () => {} }, { name: 'b2bua' });
  agent.stop();
  assert.deepEqual(taken, [local.id]);
  assert.deepEqual(agent.watchers(), []);
});
