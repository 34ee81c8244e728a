import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueueHub } from '../../../src/daemon/queue-hub.js';
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

test('QueueHub.totals(): messages a full queue coalesced, for presence_b2b_queue_coalesced_messages_total', async () => {
  const broker = new QsaBroker({ clock: new ManualClock() });
  const notifier = new HoldingNotifier();
  broker.registerNotifier('presence', notifier, { name: 'test' });
  const store = new MemorySubscriptionStore();
  const hub = new QueueHub({ broker, store, ringSize: 10, queueCapacity: 1 });
  try {
    const served = await hub.ensure('q');
    const handle = broker.subscribe({ record: 'sip:alice@x', subscriber: 'sip:bob@x', queue: served.queue });
    const held = notifier.held.get(handle.id)!;
    // Within one turn the consumer cannot take anything: a queue of one merges the burst.
    for (const state of ['pending', 'active', 'active', 'active'] as const) broker.notify(held, { state });
    const coalesced = served.queue.stats.coalesced;
    assert.ok(coalesced >= 2, `coalesced ${coalesced}`);
    assert.deepEqual(hub.totals(), { count: 1, depth: served.queue.depth, dropped: 0, coalesced });
  } finally {
    await hub.close();
    await store.close();
  }
});
