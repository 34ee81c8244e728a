import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { test } from 'node:test';
import { statusFromBody } from '../../../src/presence/status-from-body.js';
import type { PresenceDocument } from '../../../src/presence/pidf-types.js';
import {
  QSA_CHANNEL_NOTIFIER_ERROR,
  QSA_CHANNEL_NOTIFY,
  QSA_CHANNEL_SUBSCRIBE,
  QSA_CHANNEL_UNSUBSCRIBE,
} from '../../../src/qsa/qsa-diagnostics.js';
import { QsaBroker, type QsaNotifier, type QsaSubscription } from '../../../src/qsa/index.js';
import { QsaError } from '../../../src/qsa/qsa-error.js';
import { OWN_SLOTS } from '../../../src/qsa/status-queue.js';
import { ManualClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';

/** A notifier that records what it is asked and keeps the views it holds. */
class RecordingNotifier implements QsaNotifier {
  readonly held = new Map<string, QsaSubscription>();
  readonly log: string[] = [];
  constructor(readonly label: string) {}
  subscribe(sub: QsaSubscription): void {
    this.held.set(sub.id, sub);
    this.log.push(`sub ${sub.id} ${sub.record}`);
  }
  unsubscribe(sub: QsaSubscription): void {
    this.held.delete(sub.id);
    this.log.push(`unsub ${sub.id} active=${sub.active}`);
  }
  view(id: string): QsaSubscription {
    const view = this.held.get(id);
    assert.ok(view, `${this.label} does not hold ${id}`);
    return view;
  }
}

function newBroker() {
  const clock = new ManualClock(0, Date.UTC(2026, 10, 27, 4, 0, 0));
  return { clock, broker: new QsaBroker({ clock }) };
}

function code(expected: string) {
  return (error: unknown): boolean => error instanceof QsaError && error.code === expected;
}

test('subscribe → the notifier is handed the subscription; notify → a complete status message', () => {
  const { clock, broker } = newBroker();
  const b2bua = new RecordingNotifier('b2bua');
  broker.registerNotifier('presence', b2bua, { name: 'b2bua' });
  const queue = broker.createQueue();
  const handle = broker.subscribe({
    record: 'sip:alice@example.com',
    subscriber: 'sip:bob@example.com',
    queue,
    data: { row: 7 },
  });
  assert.equal(handle.id, 's1');
  assert.equal(handle.package, 'presence');
  assert.equal(handle.active, true);
  assert.equal(handle.notifierName, 'b2bua');
  assert.equal(handle.lastStatus, undefined);
  assert.equal(handle.createdAt, clock.wallTime());
  assert.deepEqual(b2bua.log, ['sub s1 sip:alice@example.com']);
  const view = b2bua.view('s1');
  assert.deepEqual([view.record, view.subscriber, view.package, view.data], [
    'sip:alice@example.com',
    'sip:bob@example.com',
    'presence',
    { row: 7 },
  ]);
  assert.equal(queue.depth, 0, 'no message until the notifier reports');

  clock.advance(250);
  const body = new TextEncoder().encode(
    '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">' +
      '<tuple id="t"><status><basic>open</basic></status></tuple></presence>',
  );
  const parsed = statusFromBody('application/pidf+xml', body);
  assert.equal(
    broker.notify(view, { state: 'active', expires: 3600, contentType: 'application/pidf+xml', body, ...parsed }),
    true,
  );
  const message = queue.poll();
  assert.ok(message);
  assert.equal(message.subscription, handle);
  assert.equal(message.subscriptionId, 's1');
  assert.equal(message.record, 'sip:alice@example.com');
  assert.equal(message.subscriber, 'sip:bob@example.com');
  assert.equal(message.package, 'presence');
  assert.equal(message.state, 'active');
  assert.equal(message.expires, 3600);
  assert.equal((message.document as PresenceDocument | undefined)?.tuples[0]?.basic, 'open');
  assert.equal(message.error, undefined);
  assert.equal(message.sequence, 1);
  assert.equal(message.timestamp, Date.UTC(2026, 10, 27, 4, 0, 0) + 250);
  assert.equal(handle.lastStatus, message);
  // JSON of a message does not loop through subscription.lastStatus.
  assert.equal(JSON.parse(JSON.stringify(message)).subscription.id, 's1');
});

test('unsubscribe: the notifier is told (view already inactive), queued messages are purged, notify is a no-op', () => {
  const { broker } = newBroker();
  const notifier = new RecordingNotifier('n');
  broker.registerNotifier('presence', notifier);
  const queue = broker.createQueue();
  const a = broker.subscribe({ record: 'sip:a@x', subscriber: 'sip:w@x', queue });
  const b = broker.subscribe({ record: 'sip:b@x', subscriber: 'sip:w@x', queue });
  const viewA = notifier.view(a.id);
  broker.notify(viewA, { state: 'pending' });
  broker.notify(notifier.view(b.id), { state: 'active' });
  broker.notify(viewA, { state: 'active' });
  assert.equal(queue.depth, 3);

  assert.equal(broker.unsubscribe(a), true);
  assert.deepEqual(notifier.log.slice(-1), ['unsub s1 active=false']);
  assert.equal(a.active, false);
  assert.equal(viewA.active, false);
  assert.equal(queue.depth, 1, "a's two queued messages are gone");
  assert.equal(queue.poll()?.subscriptionId, b.id);
  assert.equal(broker.notify(viewA, { state: 'terminated' }), false);
  assert.equal(queue.depth, 0);
  assert.equal(queue.stats.purged, 2);
  assert.equal(broker.unsubscribe(a), false, 'idempotent');
  assert.equal(broker.unsubscribe('no-such-id'), false);
  assert.equal(broker.get(a.id), undefined);
  assert.deepEqual([...broker.subscriptions()], [b]);
  assert.equal(broker.unsubscribe(b.id), true, 'by id');
  assert.equal(broker.size, 0);
});

test('a notifier that reports from inside its unsubscribe callback reaches no queue', () => {
  const { broker } = newBroker();
  const queue = broker.createQueue();
  const results: boolean[] = [];
  broker.registerNotifier('presence', {
    subscribe: (sub) => broker.notify(sub, { state: 'pending' }),
    unsubscribe: (sub) => results.push(broker.notify(sub, { state: 'terminated', reason: 'deactivated' })),
  });
  const handle = broker.subscribe({ record: 'r', subscriber: 's', queue });
  assert.equal(queue.depth, 1);
  broker.unsubscribe(handle);
  assert.deepEqual(results, [false]);
  assert.equal(queue.depth, 0);
});

test('a message already awaited by a consumer is not delivered after unsubscribe returns', async () => {
  const { broker } = newBroker();
  const notifier = new RecordingNotifier('n');
  broker.registerNotifier('presence', notifier);
  const queue = broker.createQueue();
  const handle = broker.subscribe({ record: 'r', subscriber: 's', queue });
  const waiting = queue.take();
  broker.notify(notifier.view(handle.id), { state: 'active' });
  broker.unsubscribe(handle); // before the consumer had a chance to run
  const other = broker.subscribe({ record: 'r2', subscriber: 's', queue });
  broker.notify(notifier.view(other.id), { state: 'pending' });
  assert.equal((await waiting)?.subscriptionId, other.id);
});

test('subscriptions wait without a notifier; a late notifier is handed them all', () => {
  const { broker } = newBroker();
  const queue = broker.createQueue();
  const a = broker.subscribe({ record: 'sip:a@x', subscriber: 'sip:w@x', queue });
  const b = broker.subscribe({ record: 'sip:b@x', subscriber: 'sip:w@x', queue });
  assert.equal(a.notifierName, undefined);
  assert.equal(queue.depth, 0, 'pending subscriptions produce no message');
  const late = new RecordingNotifier('late');
  broker.registerNotifier('presence', late, { name: 'late' });
  assert.deepEqual(late.log, ['sub s1 sip:a@x', 'sub s2 sip:b@x']);
  assert.equal(b.notifierName, 'late');
  // Another package is not its business.
  broker.subscribe({ package: 'dialog', record: 'sip:c@x', subscriber: 'sip:w@x', queue });
  assert.equal(late.log.length, 2);
});

test('exactly one notifier answers: highest priority, then earliest registration, among those that accept', () => {
  const { broker } = newBroker();
  const queue = broker.createQueue();
  const remote = new RecordingNotifier('remote');
  const local = new RecordingNotifier('local');
  const fallback = new RecordingNotifier('fallback');
  const twin = new RecordingNotifier('twin');
  broker.registerNotifier('presence', remote, { name: 'remote' });
  broker.registerNotifier('presence', fallback, { name: 'fallback', priority: -1 });
  // The local presence agent only answers for its own domain, and is preferred there.
  broker.registerNotifier('presence', local, {
    name: 'local',
    priority: 10,
    accepts: (sub) => sub.record.endsWith('@local.example'),
  });
  broker.registerNotifier('presence', twin, { name: 'twin' }); // same priority as remote, later
  const mine = broker.subscribe({ record: 'sip:carol@local.example', subscriber: 'sip:w@x', queue });
  const theirs = broker.subscribe({ record: 'sip:alice@example.com', subscriber: 'sip:w@x', queue });
  assert.equal(mine.notifierName, 'local');
  assert.equal(theirs.notifierName, 'remote');
  assert.deepEqual(local.log, ['sub s1 sip:carol@local.example']);
  assert.deepEqual(remote.log, ['sub s2 sip:alice@example.com']);
  assert.deepEqual(fallback.log, []);
  assert.deepEqual(twin.log, []);
  assert.deepEqual(
    broker.notifiers('presence').map((n) => n.name),
    ['local', 'remote', 'twin', 'fallback'],
  );
  // A late higher-priority notifier does not take subscriptions that are already held.
  const greedy = new RecordingNotifier('greedy');
  broker.registerNotifier('presence', greedy, { priority: 100 });
  assert.deepEqual(greedy.log, []);
});

test('unregistering hands subscriptions over to the next accepting notifier, else they wait', () => {
  const { broker } = newBroker();
  const queue = broker.createQueue();
  const first = new RecordingNotifier('first');
  const second = new RecordingNotifier('second');
  const regFirst = broker.registerNotifier('presence', first, { name: 'first', priority: 5 });
  const regSecond = broker.registerNotifier('presence', second, {
    name: 'second',
    accepts: (sub) => sub.record !== 'sip:only-first@x',
  });
  const a = broker.subscribe({ record: 'sip:a@x', subscriber: 'sip:w@x', queue });
  const lonely = broker.subscribe({ record: 'sip:only-first@x', subscriber: 'sip:w@x', queue });
  const oldView = first.view(a.id);

  assert.equal(broker.unregisterNotifier(regFirst), true);
  assert.equal(regFirst.active, false);
  assert.equal(oldView.active, false, 'the old notifier may no longer report');
  assert.equal(broker.notify(oldView, { state: 'active' }), false);
  assert.deepEqual(first.log, ['sub s1 sip:a@x', 'sub s2 sip:only-first@x'], 'its unsubscribe is not called');
  assert.deepEqual(second.log, ['sub s1 sip:a@x']);
  assert.equal(a.notifierName, 'second');
  assert.equal(lonely.notifierName, undefined, 'nobody else accepts it: it waits');
  assert.equal(broker.notify(second.view(a.id), { state: 'active' }), true);

  assert.equal(broker.unregisterNotifier(regSecond), true);
  assert.equal(broker.unregisterNotifier(regSecond), false);
  assert.equal(a.notifierName, undefined);
  const third = new RecordingNotifier('third');
  broker.registerNotifier('presence', third);
  assert.deepEqual(third.log, ['sub s1 sip:a@x', 'sub s2 sip:only-first@x']);
  assert.throws(() => broker.unregisterNotifier({ package: 'presence', name: 'x', priority: 0, active: true }), code('QSA_ERR_UNKNOWN_NOTIFIER'));
});

test('diagnostics channels: subscribe, notify, unsubscribe, notifier errors', () => {
  const { broker } = newBroker();
  const events: string[] = [];
  const onSubscribe = (m: unknown): void => {
    const e = m as { subscription: { id: string }; notifier: string | undefined };
    events.push(`subscribe ${e.subscription.id} ${e.notifier}`);
  };
  const onNotify = (m: unknown): void => {
    const e = m as { message: { subscriptionId: string; state: string; sequence: number } };
    events.push(`notify ${e.message.subscriptionId} ${e.message.state} #${e.message.sequence}`);
  };
  const onUnsubscribe = (m: unknown): void => {
    const e = m as { subscription: { id: string }; purged: number };
    events.push(`unsubscribe ${e.subscription.id} purged=${e.purged}`);
  };
  const onError = (m: unknown): void => {
    const e = m as { notifier: string; callback: string; subscriptionId: string; error: Error };
    events.push(`error ${e.notifier} ${e.callback} ${e.subscriptionId} ${e.error.message}`);
  };
  diagnosticsChannel.subscribe(QSA_CHANNEL_SUBSCRIBE, onSubscribe);
  diagnosticsChannel.subscribe(QSA_CHANNEL_NOTIFY, onNotify);
  diagnosticsChannel.subscribe(QSA_CHANNEL_UNSUBSCRIBE, onUnsubscribe);
  diagnosticsChannel.subscribe(QSA_CHANNEL_NOTIFIER_ERROR, onError);
  try {
    const notifier = new RecordingNotifier('n');
    broker.registerNotifier('presence', notifier, { name: 'n' });
    broker.registerNotifier(
      'presence',
      {
        subscribe: () => {
          throw new Error('boom');
        },
        unsubscribe: () => {},
      },
      { name: 'broken', priority: 1, accepts: (sub) => sub.record === 'sip:broken@x' },
    );
    const queue = broker.createQueue();
    const handle = broker.subscribe({ record: 'sip:a@x', subscriber: 'sip:w@x', queue });
    broker.notify(notifier.view(handle.id), { state: 'active' });
    broker.unsubscribe(handle);
    broker.subscribe({ record: 'sip:broken@x', subscriber: 'sip:w@x', queue });
  } finally {
    diagnosticsChannel.unsubscribe(QSA_CHANNEL_SUBSCRIBE, onSubscribe);
    diagnosticsChannel.unsubscribe(QSA_CHANNEL_NOTIFY, onNotify);
    diagnosticsChannel.unsubscribe(QSA_CHANNEL_UNSUBSCRIBE, onUnsubscribe);
    diagnosticsChannel.unsubscribe(QSA_CHANNEL_NOTIFIER_ERROR, onError);
  }
  assert.deepEqual(events, [
    'subscribe s1 n',
    'notify s1 active #1',
    'unsubscribe s1 purged=1',
    'error broken subscribe s2 boom',
    'subscribe s2 broken',
  ]);
});

test('invalid arguments and foreign handles are refused with QsaError codes', () => {
  const { broker } = newBroker();
  const queue = broker.createQueue();
  assert.throws(() => broker.subscribe({ record: '', subscriber: 's', queue }), code('QSA_ERR_INVALID_ARGUMENT'));
  assert.throws(() => broker.subscribe({ record: 'r', subscriber: 's', queue, package: '' }), code('QSA_ERR_INVALID_ARGUMENT'));
  assert.throws(
    () => broker.subscribe({ record: 'r', subscriber: 's', queue: {} as never }),
    code('QSA_ERR_INVALID_ARGUMENT'),
  );
  const other = newBroker().broker;
  const foreign = other.subscribe({ record: 'r', subscriber: 's', queue: other.createQueue() });
  assert.throws(() => broker.unsubscribe(foreign), code('QSA_ERR_UNKNOWN_SUBSCRIPTION'));
  const notifier = new RecordingNotifier('n');
  broker.registerNotifier('presence', notifier);
  const handle = broker.subscribe({ record: 'r', subscriber: 's', queue });
  assert.throws(() => broker.notify(handle as unknown as QsaSubscription, { state: 'active' }), code('QSA_ERR_UNKNOWN_SUBSCRIPTION'));
  assert.throws(
    () => broker.notify(notifier.view(handle.id), { state: 'online' as never }),
    code('QSA_ERR_INVALID_ARGUMENT'),
  );
  assert.throws(() => broker.registerNotifier('presence', {} as never), code('QSA_ERR_INVALID_ARGUMENT'));
});

test('random ids with an injected Random; bodies that are views into a packet are copied', () => {
  const clock = new ManualClock();
  const broker = new QsaBroker({ clock, random: new SeededRandom(7) });
  const notifier = new RecordingNotifier('n');
  broker.registerNotifier('presence', notifier);
  const queue = broker.createQueue();
  const a = broker.subscribe({ record: 'r', subscriber: 's', queue });
  const b = broker.subscribe({ record: 'r', subscriber: 's', queue });
  assert.match(a.id, /^[0-9a-z]{16}$/);
  assert.notEqual(a.id, b.id);
  assert.equal(broker.get(a.id), a);

  const packet = Buffer.from('NOTIFY …\r\n\r\n<presence/>');
  const body = packet.subarray(packet.indexOf('<'));
  broker.notify(notifier.view(a.id), { state: 'active', body });
  const stored = queue.poll()?.body;
  assert.ok(stored);
  assert.deepEqual(Buffer.from(stored), Buffer.from('<presence/>'));
  assert.equal(stored.byteLength, stored.buffer.byteLength, 'own storage, not the packet');
  // A datagram's own buffer (its headers besides the body, within MAX_BYTES_KEPT_BESIDE_BODY) is
  // taken as it is: no copy per NOTIFY (issue 11).
  const datagram = new Uint8Array(new ArrayBuffer(900));
  datagram.set(Buffer.from('<presence/>'), 600);
  const inDatagram = datagram.subarray(600, 611);
  broker.notify(notifier.view(a.id), { state: 'active', body: inDatagram });
  assert.equal(queue.poll()?.body, inDatagram);
  // And an unparsable body still yields a message, with the error and the raw body.
  const bad = new TextEncoder().encode('<presence');
  broker.notify(notifier.view(b.id), { state: 'active', body: bad, ...statusFromBody('application/pidf+xml', bad) });
  const message = queue.poll();
  assert.equal(message?.error?.code, 'PIDF_ERR_XML');
  assert.equal(message?.document, undefined);
  assert.deepEqual(message?.body, bad);
});

test('subscribe with a given id and creation time (restoring a stored subscription); generated ids skip it', () => {
  const { broker } = newBroker();
  const notifier = new RecordingNotifier('n');
  broker.registerNotifier('presence', notifier);
  const queue = broker.createQueue();
  const restored = broker.subscribe({ record: 'sip:a@x', subscriber: 'sip:b@x', queue, id: 's2', createdAt: 1_700_000_000_000 });
  assert.equal(restored.id, 's2');
  assert.equal(restored.createdAt, 1_700_000_000_000);
  assert.equal(broker.get('s2'), restored);
  assert.deepEqual(notifier.log, ['sub s2 sip:a@x']);
  // The counter reaches s2, which is taken: it goes on to s3.
  const ids = [broker.subscribe({ record: 'r', subscriber: 's', queue }).id, broker.subscribe({ record: 'r', subscriber: 's', queue }).id];
  assert.deepEqual(ids, ['s1', 's3']);
  assert.throws(
    () => broker.subscribe({ record: 'r', subscriber: 's', queue, id: 's3' }),
    (e: unknown) => e instanceof QsaError && e.code === 'QSA_ERR_DUPLICATE_SUBSCRIPTION',
  );
  assert.throws(() => broker.subscribe({ record: 'r', subscriber: 's', queue, id: '' }), (e: unknown) => e instanceof QsaError && e.code === 'QSA_ERR_INVALID_ARGUMENT');
  assert.throws(
    () => broker.subscribe({ record: 'r', subscriber: 's', queue, createdAt: Number.NaN }),
    (e: unknown) => e instanceof QsaError && e.code === 'QSA_ERR_INVALID_ARGUMENT',
  );
  assert.equal(broker.size, 3);
  // Once unsubscribed, the id may be used again.
  assert.equal(broker.unsubscribe('s2'), true);
  assert.equal(broker.subscribe({ record: 'r', subscriber: 's', queue, id: 's2' }).id, 's2');
});

test('onNotifierError: a throwing notifier is reported with the subscription’s context, and the broker carries on', () => {
  const clock = new ManualClock();
  const reported: Array<Record<string, unknown>> = [];
  const broker = new QsaBroker({
    clock,
    onNotifierError: (event) => {
      reported.push({ ...event, error: (event.error as Error).message });
    },
  });
  broker.registerNotifier(
    'presence',
    {
      subscribe: () => {
        throw new QsaError('QSA_ERR_INVALID_ARGUMENT', 'subscribe failed');
      },
      unsubscribe: () => {
        throw new QsaError('QSA_ERR_INVALID_ARGUMENT', 'unsubscribe failed');
      },
    },
    { name: 'broken', accepts: (sub) => (sub.record === 'sip:odd@x' ? (undefined as unknown as boolean).valueOf() : true) },
  );
  const queue = broker.createQueue();
  const handle = broker.subscribe({ record: 'sip:a@x', subscriber: 'sip:w@x', queue });
  broker.unsubscribe(handle);
  broker.subscribe({ record: 'sip:odd@x', subscriber: 'sip:w@x', queue });
  assert.deepEqual(
    reported.map((r) => [r.notifier, r.callback, r.subscriptionId, r.package, r.record, r.subscriber, r.error]),
    [
      ['broken', 'subscribe', 's1', 'presence', 'sip:a@x', 'sip:w@x', 'subscribe failed'],
      ['broken', 'unsubscribe', 's1', 'presence', 'sip:a@x', 'sip:w@x', 'unsubscribe failed'],
      ['broken', 'accepts', 's2', 'presence', 'sip:odd@x', 'sip:w@x', "Cannot read properties of undefined (reading 'valueOf')"],
    ],
  );
  assert.equal(broker.size, 1, 'the broker carried on');
});

test('messagesQueued counts every status message queued, whichever notifier reported it, and nothing refused', () => {
  const { broker } = newBroker();
  const b2bua = new RecordingNotifier('b2bua');
  const agent = new RecordingNotifier('agent');
  broker.registerNotifier('presence', b2bua, { name: 'b2bua' });
  broker.registerNotifier('presence', agent, { name: 'agent', priority: 10, accepts: (r) => r.record.endsWith('@localhost') });
  const queue = broker.createQueue();
  const remote = broker.subscribe({ record: 'sip:alice@example.com', subscriber: 'sip:bob@example.com', queue });
  const local = broker.subscribe({ record: 'sip:carol@localhost', subscriber: 'sip:bob@example.com', queue });
  assert.equal(broker.messagesQueued, 0);
  assert.equal(broker.notify(b2bua.view(remote.id), { state: 'active' }), true);
  assert.equal(broker.notify(agent.view(local.id), { state: 'active' }), true);
  assert.equal(broker.messagesQueued, 2);
  const view = b2bua.view(remote.id);
  broker.unsubscribe(remote);
  assert.equal(broker.notify(view, { state: 'active' }), false);
  assert.equal(broker.messagesQueued, 2, 'a message of an ended subscription is not queued, nor counted');
});

test('servedPackages(): the packages some registered notifier serves, sorted; unregistering the last one withdraws it', () => {
  const { broker } = newBroker();
  assert.deepEqual(broker.servedPackages(), []);
  const presence = broker.registerNotifier('presence', new RecordingNotifier('p'));
  const reg = broker.registerNotifier('reg', new RecordingNotifier('r'));
  broker.registerNotifier('dialog', new RecordingNotifier('d'));
  // A subscription to a package nobody serves does not make it served.
  broker.subscribe({ package: 'message-summary', record: 'sip:a@x', subscriber: 'sip:w@x', queue: broker.createQueue() });
  assert.deepEqual(broker.servedPackages(), ['dialog', 'presence', 'reg']);
  broker.unregisterNotifier(reg);
  assert.deepEqual(broker.servedPackages(), ['dialog', 'presence']);
  const second = broker.registerNotifier('presence', new RecordingNotifier('p2'));
  broker.unregisterNotifier(presence);
  assert.deepEqual(broker.servedPackages(), ['dialog', 'presence'], 'another notifier still serves presence');
  broker.unregisterNotifier(second);
  assert.deepEqual(broker.servedPackages(), ['dialog']);
});

test('a subscription carries the slots of its queued messages (OWN_SLOTS): coalescing, purge and close behave as with the queue Map, and nothing is left held', () => {
  const { broker } = newBroker();
  const notifier = new RecordingNotifier('n');
  broker.registerNotifier('presence', notifier);
  const queue = broker.createQueue({ capacity: 3 });
  const a = broker.subscribe({ record: 'sip:a@x', subscriber: 'sip:w@x', queue });
  const b = broker.subscribe({ record: 'sip:b@x', subscriber: 'sip:w@x', queue });
  const carried = (handle: object): unknown => (handle as { [OWN_SLOTS]?: unknown })[OWN_SLOTS];
  assert.ok(OWN_SLOTS in a, 'the broker record declares the property');
  assert.equal(carried(a), undefined);
  const viewA = notifier.view(a.id);
  const viewB = notifier.view(b.id);
  broker.notify(viewA, { state: 'pending' });
  assert.notEqual(carried(a), undefined, 'held while a message of a is queued');
  broker.notify(viewB, { state: 'pending' });
  broker.notify(viewA, { state: 'active' });
  // Full: a newer status of a replaces a's newest queued one in place (rule 1).
  broker.notify(viewA, { state: 'active', expires: 60 });
  assert.equal(queue.depth, 3);
  assert.equal(queue.stats.coalesced, 1);
  // Full, b has one queued: it is replaced in place too (rule 1).
  broker.notify(viewB, { state: 'active' });
  // Full, c has none queued: a's oldest goes, as a has two (rule 2).
  const c = broker.subscribe({ record: 'sip:c@x', subscriber: 'sip:w@x', queue });
  broker.notify(notifier.view(c.id), { state: 'active' });
  assert.deepEqual(
    [queue.poll(), queue.poll(), queue.poll()].map((m) => `${m?.subscriptionId} ${m?.state} ${m?.expires}`),
    ['s2 active undefined', 's1 active 60', 's3 active undefined'],
  );
  assert.equal(queue.stats.coalesced, 3);
  assert.equal(carried(c), undefined);
  assert.equal(carried(a), undefined, 'let go once none of its messages is queued');
  assert.equal(carried(b), undefined);
  broker.notify(viewA, { state: 'active' });
  broker.notify(viewA, { state: 'active', expires: 30 });
  assert.equal(broker.unsubscribe(a), true);
  assert.equal(queue.depth, 0);
  assert.equal(queue.stats.purged, 2);
  assert.equal(carried(a), undefined, 'let go on unsubscribe');
  broker.notify(viewB, { state: 'active', expires: 10 });
  assert.notEqual(carried(b), undefined);
  queue.close();
  assert.equal(carried(b), undefined, 'let go when the queue closes');
});
