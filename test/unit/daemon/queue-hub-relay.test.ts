/**
 * The QueueHub in cluster mode (issue 16, §8.3) with an in-memory stand-in
 * for the status relay: statuses taken from a local queue are appended, not
 * pushed; the rings are filled from the relay with its ids; no event ids
 * are reserved in the store; a queue made on another node is served on
 * demand. RelayedQueues turns StatusView into payloads and back, and marks
 * a ring that starts on a queue with history.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RelayedEvent, RelaySink, StatusRelay } from '../../../src/cluster/status-relay.js';
import { QueueHub } from '../../../src/daemon/queue-hub.js';
import { type QueueRelay, RelayedQueues } from '../../../src/daemon/relayed-queues.js';
import type { StatusView } from '../../../src/http/api-types.js';
import { EventRing } from '../../../src/http/event-ring.js';
import { QsaBroker, type QsaNotifier, type QsaSubscription } from '../../../src/qsa/index.js';
import { MemorySubscriptionStore } from '../../../src/store/memory-store.js';
import { ManualClock } from '../../../src/util/clock.js';

class HoldingNotifier implements QsaNotifier {
  readonly held = new Map<string, QsaSubscription>();
  subscribe(sub: QsaSubscription): void {
    this.held.set(sub.id, sub);
  }
  unsubscribe(sub: QsaSubscription): void {
    this.held.delete(sub.id);
  }
}

/** The table of every node, in memory: appends number per queue from 1; rings get what is appended. */
class MemoryRelay implements QueueRelay {
  readonly table = new Map<string, StatusView[]>();
  readonly rings = new Map<string, EventRing<StatusView>>();
  readonly stored = new Set<string>();
  catchUps = 0;
  open(name: string, ring: EventRing<StatusView>): void {
    this.rings.set(name, ring);
    for (const [i, v] of (this.table.get(name) ?? []).entries()) ring.push({ id: i + 1, value: { ...v, sequence: i + 1 } });
  }
  append(name: string, view: StatusView): void {
    const rows = this.table.get(name) ?? [];
    rows.push(view);
    this.table.set(name, rows);
    this.rings.get(name)?.push({ id: rows.length, value: { ...view, sequence: rows.length } });
  }
  async catchUp(): Promise<void> {
    this.catchUps++;
  }
  async isStored(name: string): Promise<boolean> {
    return this.stored.has(name);
  }
  async close(): Promise<void> {}
}

test('relayed QueueHub: statuses go to the relay, rings come from it, no ids reserved; a queue of another node is served on demand', async () => {
  const broker = new QsaBroker({ clock: new ManualClock() });
  const notifier = new HoldingNotifier();
  broker.registerNotifier('presence', notifier, { name: 'test' });
  const store = new MemorySubscriptionStore();
  const relay = new MemoryRelay();
  // Another node appended two statuses to q before this one started.
  relay.table.set('q', [{ sequence: 0, timestamp: '', subscriptionId: 'x', record: 'sip:r@x', subscriber: 'sip:s@x', package: 'presence', state: 'active' }]);
  relay.table.get('q')!.push({ ...relay.table.get('q')![0]!, state: 'terminated' });
  const hub = new QueueHub({ broker, store, ringSize: 10, relay });
  try {
    const served = await hub.ensure('q');
    assert.deepEqual(
      served.ring.since(undefined).map((e) => [e.id, e.value.state]),
      [
        [1, 'active'],
        [2, 'terminated'],
      ],
    );
    const handle = broker.subscribe({ record: 'sip:alice@x', subscriber: 'sip:bob@x', queue: served.queue });
    broker.notify(notifier.held.get(handle.id)!, { state: 'active' });
    await new Promise((r) => setImmediate(r));
    assert.equal(relay.table.get('q')!.length, 3, 'appended');
    assert.deepEqual(
      served.ring.since(2).map((e) => [e.id, e.value.sequence, e.value.subscriptionId]),
      [[3, 3, handle.id]],
    );
    const stored = await store.load();
    assert.deepEqual(stored.queues, [{ name: 'q', eventIdHighWater: 0 }], 'the queue is stored, no id reserved');
    // Asked for by an SSE client: a queue another node made is served; one nobody made is not.
    assert.equal(await hub.resume('nobody'), undefined);
    relay.stored.add('elsewhere');
    const elsewhere = await hub.resume('elsewhere');
    assert.ok(elsewhere !== undefined);
    assert.equal(hub.get('elsewhere'), elsewhere);
    assert.ok(relay.rings.has('elsewhere'));
    assert.ok(relay.catchUps >= 1);
  } finally {
    await hub.close();
    await store.close();
  }
});

test('QueueHub without a relay: resume is get', async () => {
  const broker = new QsaBroker({ clock: new ManualClock() });
  const store = new MemorySubscriptionStore();
  const hub = new QueueHub({ broker, store, ringSize: 10 });
  try {
    const served = await hub.ensure('q');
    assert.equal(await hub.resume('q'), served);
    assert.equal(await hub.resume('other'), undefined);
  } finally {
    await hub.close();
    await store.close();
  }
});

test('RelayedQueues: the view goes out without its local sequence and comes back with the table id; a ring starting on history knows what it missed', () => {
  const appended: Array<[string, string]> = [];
  const sinks = new Map<string, RelaySink>();
  const fake = {
    append: (queue: string, payload: string) => appended.push([queue, payload]),
    follow: (queue: string, sink: RelaySink) => sinks.set(queue, sink),
  } as unknown as StatusRelay;
  const relayed = new RelayedQueues(fake);
  relayed.append('q', { sequence: 42, timestamp: 't', subscriptionId: 's', record: 'sip:r@x', subscriber: 'sip:s@x', package: 'presence', state: 'active' });
  assert.deepEqual(appended, [['q', '{"timestamp":"t","subscriptionId":"s","record":"sip:r@x","subscriber":"sip:s@x","package":"presence","state":"active"}']]);
  const ring = new EventRing<StatusView>(5);
  relayed.open('q', ring);
  const event = (id: number): RelayedEvent => ({ id, value: { subscriptionId: 's', state: 'active' } });
  sinks.get('q')!([event(101), event(102)]);
  sinks.get('q')!([event(102), event(103)]); // a repeat is ignored, never thrown
  assert.deepEqual(
    ring.since(undefined).map((e) => [e.id, e.value.sequence]),
    [
      [101, 101],
      [102, 102],
      [103, 103],
    ],
  );
  assert.equal(ring.missedAfter(100), false, 'a client that saw 100 missed nothing');
  assert.equal(ring.missedAfter(99), true, 'one that saw 99 missed 100: a gap');
});
