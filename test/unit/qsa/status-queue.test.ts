import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { QsaBroker } from '../../../src/qsa/index.js';
import type { QsaSubscription } from '../../../src/qsa/index.js';
import { QsaError } from '../../../src/qsa/qsa-error.js';
import type { QsaSubscriptionHandle, StatusMessage, SubscriptionState } from '../../../src/qsa/status-message.js';
import type { StatusQueue, StatusQueueStats } from '../../../src/qsa/status-queue.js';
import { ManualClock } from '../../../src/util/clock.js';

/** A broker with one notifier that records the views it is handed, keyed by subscription id. */
function setup(capacity?: number) {
  const clock = new ManualClock();
  const broker = new QsaBroker({ clock });
  const views = new Map<string, QsaSubscription>();
  broker.registerNotifier('presence', {
    subscribe: (sub) => views.set(sub.id, sub),
    unsubscribe: (sub) => views.delete(sub.id),
  });
  const queue = broker.createQueue(capacity === undefined ? {} : { capacity });
  const subscribe = (record: string): QsaSubscriptionHandle =>
    broker.subscribe({ record, subscriber: 'sip:watcher@example.com', queue });
  const send = (handle: QsaSubscriptionHandle, state: SubscriptionState, reason?: string): boolean =>
    broker.notify(views.get(handle.id)!, { state, reason });
  return { clock, broker, queue, subscribe, send };
}

function drain(queue: StatusQueue): StatusMessage[] {
  const out: StatusMessage[] = [];
  for (let m = queue.poll(); m !== undefined; m = queue.poll()) out.push(m);
  return out;
}

function balanced(stats: StatusQueueStats, depth: number): boolean {
  return stats.enqueued === stats.delivered + stats.coalesced + stats.dropped + stats.purged + depth;
}

test('FIFO across subscriptions, with per-queue increasing sequence numbers', () => {
  const { queue, subscribe, send } = setup();
  const a = subscribe('sip:a@example.com');
  const b = subscribe('sip:b@example.com');
  send(a, 'pending');
  send(b, 'active');
  send(a, 'active');
  assert.equal(queue.depth, 3);
  const got = drain(queue);
  assert.deepEqual(
    got.map((m) => [m.record, m.state, m.sequence]),
    [
      ['sip:a@example.com', 'pending', 1],
      ['sip:b@example.com', 'active', 2],
      ['sip:a@example.com', 'active', 3],
    ],
  );
  assert.equal(queue.poll(), undefined);
  assert.deepEqual(queue.stats, { enqueued: 3, delivered: 3, coalesced: 0, dropped: 0, purged: 0 });
});

test('async iteration waits for messages and ends on close(); take() honours an abort signal', async () => {
  const { queue, subscribe, send } = setup();
  const a = subscribe('sip:a@example.com');
  send(a, 'pending');
  const seen: string[] = [];
  const consumer = (async () => {
    for await (const message of queue) seen.push(message.state);
    return 'ended';
  })();
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, ['pending']);
  send(a, 'active');
  send(a, 'terminated');
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, ['pending', 'active', 'terminated']);
  queue.close();
  assert.equal(await consumer, 'ended');
  assert.equal(await queue.take(), undefined);

  const other = setup().queue;
  const controller = new AbortController();
  const pending = other.take(controller.signal);
  controller.abort();
  assert.equal(await pending, undefined);
});

test('close() discards what is queued (counted as dropped), refuses more, and frees the name', () => {
  const { broker, queue, subscribe, send } = setup();
  const a = subscribe('sip:a@example.com');
  send(a, 'pending');
  send(a, 'active');
  queue.close();
  queue.close();
  assert.equal(queue.closed, true);
  assert.equal(queue.depth, 0);
  assert.equal(queue.poll(), undefined);
  assert.equal(send(a, 'terminated'), false);
  assert.deepEqual(queue.stats, { enqueued: 2, delivered: 0, coalesced: 0, dropped: 2, purged: 0 });
  assert.throws(
    () => broker.subscribe({ record: 'r', subscriber: 's', queue }),
    (error: unknown) => error instanceof QsaError && error.code === 'QSA_ERR_QUEUE_CLOSED',
  );
  const named = broker.createQueue({ name: 'ui' });
  assert.equal(broker.getQueue('ui'), named);
  assert.throws(
    () => broker.createQueue({ name: 'ui' }),
    (error: unknown) => error instanceof QsaError && error.code === 'QSA_ERR_DUPLICATE_QUEUE',
  );
  named.close();
  assert.equal(broker.getQueue('ui'), undefined);
  assert.notEqual(broker.createQueue({ name: 'ui' }), named);
  assert.throws(
    () => broker.createQueue({ capacity: 0 }),
    (error: unknown) => error instanceof QsaError && error.code === 'QSA_ERR_INVALID_ARGUMENT',
  );
});

test('overflow rule 1: a subscription with queued messages has its newest one overwritten in place', () => {
  const { clock, queue, subscribe, send } = setup(3);
  const a = subscribe('sip:a@example.com');
  const b = subscribe('sip:b@example.com');
  send(a, 'pending');
  send(b, 'pending');
  send(a, 'active', 'first');
  clock.advance(1000);
  assert.equal(send(a, 'active', 'second'), true);
  assert.equal(send(a, 'terminated', 'third'), true);
  const got = drain(queue);
  assert.deepEqual(
    got.map((m) => [m.record, m.state, m.reason, m.sequence]),
    [
      ['sip:a@example.com', 'pending', undefined, 1],
      ['sip:b@example.com', 'pending', undefined, 2],
      ['sip:a@example.com', 'terminated', 'third', 3],
    ],
  );
  assert.equal(got[2]!.timestamp, got[0]!.timestamp + 1000);
  assert.equal(a.lastStatus?.reason, 'third');
  assert.deepEqual(queue.stats, { enqueued: 5, delivered: 3, coalesced: 2, dropped: 0, purged: 0 });
});

test('overflow rule 2: a new subscription evicts the oldest message of the most crowded one', () => {
  const { queue, subscribe, send } = setup(4);
  const a = subscribe('a');
  const b = subscribe('b');
  const c = subscribe('c');
  send(a, 'pending');
  send(b, 'pending');
  send(b, 'active');
  send(a, 'active');
  // Full: a and b have 2 each; a reached 2 last, so b (first to reach 2) loses its oldest.
  send(c, 'active');
  assert.deepEqual(
    drain(queue).map((m) => `${m.record}:${m.state}`),
    ['a:pending', 'b:active', 'a:active', 'c:active'],
  );
  assert.equal(queue.stats.coalesced, 1);
  assert.equal(queue.stats.dropped, 0);
});

test('overflow rule 3: when every queued message is a different subscription, the oldest goes (dropped)', () => {
  const { queue, subscribe, send } = setup(2);
  const a = subscribe('a');
  const b = subscribe('b');
  const c = subscribe('c');
  send(a, 'active');
  send(b, 'active');
  send(c, 'active');
  assert.deepEqual(
    drain(queue).map((m) => m.record),
    ['b', 'c'],
  );
  assert.deepEqual(queue.stats, { enqueued: 3, delivered: 2, coalesced: 0, dropped: 1, purged: 0 });
});

test('property: with capacity ≥ subscriptions, the latest state of every subscription is always delivered', () => {
  const states: SubscriptionState[] = ['pending', 'active', 'terminated', 'rejected'];
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 0, max: 6 }),
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('notify' as const), sub: fc.nat(), state: fc.constantFrom(...states) }),
          fc.record({ op: fc.constant('poll' as const) }),
        ),
        { maxLength: 80 },
      ),
      (subCount, extra, ops) => {
        const { queue, subscribe, send } = setup(subCount + extra);
        const handles = Array.from({ length: subCount }, (_, i) => subscribe(`sip:u${i}@example.com`));
        const latestSent = new Map<string, string>();
        const latestSeen = new Map<string, string>();
        let lastSequence = 0;
        const take = (message: StatusMessage): void => {
          assert.ok(message.sequence > lastSequence, 'sequence increases in delivery order');
          lastSequence = message.sequence;
          latestSeen.set(message.subscriptionId, message.state);
        };
        for (const op of ops) {
          if (op.op === 'notify') {
            const handle = handles[op.sub % subCount]!;
            send(handle, op.state);
            latestSent.set(handle.id, op.state);
          } else {
            const message = queue.poll();
            if (message !== undefined) take(message);
          }
          assert.ok(queue.depth <= queue.capacity);
          assert.ok(balanced(queue.stats, queue.depth));
        }
        drain(queue).forEach(take);
        assert.deepEqual(latestSeen, latestSent);
        assert.equal(queue.stats.dropped, 0);
      },
    ),
    { numRuns: 300, seed: 42 },
  );
});

test('firstSequence: a re-created queue numbers its messages from there on', () => {
  const clock = new ManualClock();
  const broker = new QsaBroker({ clock });
  const views = new Map<string, QsaSubscription>();
  broker.registerNotifier('presence', { subscribe: (sub) => views.set(sub.id, sub), unsubscribe: () => undefined });
  const queue = broker.createQueue({ name: 'default', firstSequence: 100_001 });
  const handle = broker.subscribe({ record: 'sip:a@x', subscriber: 'sip:b@x', queue });
  broker.notify(views.get(handle.id)!, { state: 'pending' });
  broker.notify(views.get(handle.id)!, { state: 'active' });
  assert.deepEqual(
    drain(queue).map((m) => m.sequence),
    [100_001, 100_002],
  );
  for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
    assert.throws(() => broker.createQueue({ firstSequence: bad }), (e: unknown) => e instanceof QsaError && e.code === 'QSA_ERR_INVALID_ARGUMENT');
  }
});

test('resource list members: `record` and `list` reach the message; overflow coalesces per member, never one member into another', () => {
  const { broker, queue, subscribe } = setup(3);
  const views = new Map<string, QsaSubscription>();
  broker.registerNotifier('presence', { subscribe: (sub) => views.set(sub.id, sub), unsubscribe: () => undefined }, { priority: 1 });
  const list = subscribe('sip:friends@example.com');
  const view = views.get(list.id)!;
  const member = (record: string, state: SubscriptionState) => broker.notify(view, { state, record, list: 'sip:friends@example.com' });
  member('sip:alice@example.com', 'pending');
  member('sip:carol@example.com', 'pending');
  member('sip:alice@example.com', 'active');
  // Full: alice has two messages queued, so her newest is overwritten in place; carol's stays.
  member('sip:alice@example.com', 'terminated');
  const got = drain(queue);
  assert.deepEqual(
    got.map((m) => [m.record, m.list, m.state, m.subscriptionId === list.id]),
    [
      ['sip:alice@example.com', 'sip:friends@example.com', 'pending', true],
      ['sip:carol@example.com', 'sip:friends@example.com', 'pending', true],
      ['sip:alice@example.com', 'sip:friends@example.com', 'terminated', true],
    ],
  );
  assert.equal(list.lastStatus?.record, 'sip:alice@example.com');
  assert.ok(balanced(queue.stats, 0));
  // A list-level message (no record) carries the subscription's record and no list.
  broker.notify(view, { state: 'terminated', reason: 'deactivated' });
  const [own] = drain(queue);
  assert.equal(own?.record, 'sip:friends@example.com');
  assert.equal(own?.list, undefined);
  assert.throws(() => broker.notify(view, { state: 'active', record: '' }), (e: unknown) => e instanceof QsaError && e.code === 'QSA_ERR_INVALID_ARGUMENT');
});

test('unsubscribe purges a list subscription’s member messages too', () => {
  const { broker, queue, subscribe } = setup();
  const views = new Map<string, QsaSubscription>();
  broker.registerNotifier('presence', { subscribe: (sub) => views.set(sub.id, sub), unsubscribe: () => undefined }, { priority: 1 });
  const send = (handle: QsaSubscriptionHandle, state: SubscriptionState) => broker.notify(views.get(handle.id)!, { state });
  const list = subscribe('sip:friends@example.com');
  const other = subscribe('sip:dave@example.com');
  const view = views.get(list.id)!;
  broker.notify(view, { state: 'active', record: 'sip:alice@example.com', list: list.record });
  broker.notify(view, { state: 'active' });
  send(other, 'active');
  broker.notify(view, { state: 'active', record: 'sip:carol@example.com', list: list.record });
  assert.equal(queue.depth, 4);
  broker.unsubscribe(list);
  assert.deepEqual(drain(queue).map((m) => m.record), ['sip:dave@example.com']);
  assert.equal(queue.stats.purged, 3);
  assert.ok(balanced(queue.stats, 0));
});
